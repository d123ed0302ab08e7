"""A typed client for the subset of the Partner Center REST API the product uses.

One ``requests.Session`` per client; a timeout on every call; the shared rate limiter
consulted before every HTTP attempt; answers parsed into ``partner_center.models``
and failures raised as ``partner_center.errors``.

Retries inside the client are deliberately narrow:

- reads (GET) are retried at most ``read_retries`` times after a 5xx, a timeout or a
  broken connection, and once after a 401 with a fresh token;
- writes are never retried: the caller owns retries and resends its stored
  MS-RequestId, after reading the state back if the outcome was ambiguous;
- a 429 is never retried: it is raised as ``Throttled`` with its Retry-After.

``on_call`` receives a ``CallRecord`` for every HTTP attempt (no headers, no tokens).
"""

from __future__ import annotations

import email.utils
import json
import logging
import re
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, TypeVar
from urllib.parse import parse_qsl, quote, urlsplit

import requests
from pydantic import BaseModel, ValidationError
from pydantic.alias_generators import to_camel
from urllib3.exceptions import ConnectTimeoutError, MaxRetryError

from partner_center.auth import TokenProvider
from partner_center.errors import (
    AuthError,
    Conflict,
    Forbidden,
    MalformedResponse,
    NotFound,
    PartnerCenterError,
    PermanentError,
    Throttled,
    TransientError,
)
from partner_center.models import (
    ApiFault,
    Customer,
    CustomerUser,
    License,
    LicenseUpdate,
    Offer,
    Order,
    OrderLineItem,
    RelationshipRequest,
    ResourceCollection,
    SubscribedSku,
    Subscription,
    SubscriptionProvisioningStatus,
)
from partner_center.ratelimit import NullRateLimiter, RateLimiter

__all__ = ["CallRecord", "PartnerCenterClient"]

logger = logging.getLogger(__name__)

M = TypeVar("M", bound=BaseModel)
Params = list[tuple[str, str]]

DEFAULT_RETRY_AFTER_SECONDS = 60.0
# BAM treats "400, code 2000" on a next-page request as "all records fetched".
_END_OF_PAGES_CODE = 2000
_CONTINUATION_HEADER = "MS-ContinuationToken"
_EXCERPT_CHARS = 200
# Headers a link may not override.
_RESERVED_HEADERS = frozenset({"authorization", "ms-requestid", "ms-correlationid"})
# A bad URL or header is a configuration error, not a transient failure.
_CONFIGURATION_ERRORS = (
    requests.exceptions.InvalidURL,
    requests.exceptions.MissingSchema,
    requests.exceptions.InvalidSchema,
    requests.exceptions.InvalidHeader,
)


@dataclass(frozen=True)
class CallRecord:
    """One HTTP attempt, for the audit log. Never holds headers or tokens.

    ``path`` is relative to the API root, without the query string. ``status`` is
    None when no answer was read. ``error_code`` is the Partner Center error code,
    or ``"timeout"`` / ``"connection_error"`` when no answer was read.
    """

    method: str
    path: str
    status: int | None
    request_id: str
    correlation_id: str
    duration_ms: int
    error_code: str | None
    is_write: bool


@dataclass(frozen=True)
class _Answer:
    response: requests.Response
    request_id: str
    correlation_id: str


def _new_id() -> str:
    return str(uuid.uuid4())


def _seg(value: str) -> str:
    return quote(str(value), safe="")


def _excerpt(response: requests.Response) -> str:
    try:
        text = response.text
    except Exception:  # undecodable body
        return ""
    return text[:_EXCERPT_CHARS]


def _may_have_been_sent(exc: requests.RequestException) -> bool:
    """Return False only when the request certainly never left this process."""
    if isinstance(exc, requests.ConnectTimeout):
        return False
    if isinstance(exc, requests.ConnectionError):
        reason: Any = exc.args[0] if exc.args else None
        if isinstance(reason, MaxRetryError):
            reason = reason.reason
        # NewConnectionError and NameResolutionError are ConnectTimeoutErrors too.
        if isinstance(reason, ConnectTimeoutError):
            return False
    return True


def _parse_fault(response: requests.Response) -> ApiFault | None:
    try:
        data = response.json()
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    try:
        return ApiFault.model_validate(data)
    except ValidationError:
        return None


def _retry_after(response: requests.Response, fault: ApiFault | None) -> float:
    raw = response.headers.get("Retry-After", "").strip()
    if raw:
        try:
            return max(0.0, float(raw))
        except ValueError:
            pass
        try:
            when = email.utils.parsedate_to_datetime(raw)
        except (TypeError, ValueError):
            when = None
        if when is not None:
            if when.tzinfo is None:
                when = when.replace(tzinfo=UTC)
            return max(0.0, (when - datetime.now(UTC)).total_seconds())
    # "Rate limit is exceeded. Try again in 57 seconds."
    text = (fault.message or fault.description or "") if fault else ""
    match = re.search(r"(\d+(?:\.\d+)?)\s*second", text)
    if match:
        return float(match.group(1))
    return DEFAULT_RETRY_AFTER_SECONDS


def _camel_keys(changes: Mapping[str, Any]) -> dict[str, Any]:
    return {(to_camel(k) if "_" in k else k): v for k, v in changes.items()}


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", by_alias=True, exclude_none=True)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _quote_etag(etag: str) -> str:
    etag = etag.strip()
    if etag.startswith('"') or etag.startswith("W/"):
        return etag
    return f'"{etag}"'


class PartnerCenterClient:
    """A client for one Partner Center (or sandbox) API root, e.g. ``.../v1``.

    ``app_tokens`` serves every call that supports app-only auth; ``user_tokens``
    (app+user) serves the calls documented as App+User only: users, licences,
    subscribed SKUs and relationship requests.
    """

    def __init__(
        self,
        api_base_url: str,
        app_tokens: TokenProvider,
        user_tokens: TokenProvider | None = None,
        rate_limiter: RateLimiter | None = None,
        timeout: tuple[float, float] = (5, 30),
        locale: str = "en-US",
        country: str = "US",
        application_name: str = "PartnerHub",
        on_call: Callable[[CallRecord], None] | None = None,
        max_local_wait: float = 5.0,
        *,
        read_retries: int = 2,
        retry_backoff: float = 0.5,
        poll_interval: float = 1.0,
        poll_timeout: float = 30.0,
        session: requests.Session | None = None,
    ) -> None:
        self.api_base_url = api_base_url.rstrip("/")
        self._base_path = urlsplit(self.api_base_url).path.rstrip("/")
        self.app_tokens = app_tokens
        self.user_tokens = user_tokens
        self.rate_limiter: RateLimiter = rate_limiter or NullRateLimiter()
        self.timeout = timeout
        self.locale = locale
        self.country = country
        self.application_name = application_name
        self.on_call = on_call
        self.max_local_wait = max_local_wait
        self.read_retries = read_retries
        self.retry_backoff = retry_backoff
        self.poll_interval = poll_interval
        self.poll_timeout = poll_timeout
        self.session = session or requests.Session()

    def close(self) -> None:
        """Close the HTTP session."""
        self.session.close()

    def __enter__(self) -> PartnerCenterClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<PartnerCenterClient {self.api_base_url}>"

    # ------------------------------------------------------------------ customers

    # Reference: https://learn.microsoft.com/en-us/partner-center/developer/get-a-list-of-customers
    def iter_customers(
        self, size: int = 500, *, correlation_id: str | None = None
    ) -> Iterator[Customer]:
        """Return an iterator over every customer, following seek pages.

        Raise Throttled, TransientError, AuthError, PermanentError or
        MalformedResponse if a page cannot be read.
        """
        return self._iter_pages(
            "/customers",
            [("size", str(size))],
            Customer,
            correlation_id=correlation_id,
        )

    # Reference: https://learn.microsoft.com/en-us/partner-center/developer/get-a-customer-by-id
    def get_customer(
        self, tenant_id: str, *, correlation_id: str | None = None
    ) -> Customer:
        """Return the customer with this tenant ID.

        Raise NotFound if the tenant is not (yet) a customer of this partner.
        """
        return self._get(
            f"/customers/{_seg(tenant_id)}", Customer, correlation_id=correlation_id
        )

    # Reference: https://learn.microsoft.com/en-us/partner-center/developer/request-reseller-relationship
    def get_relationship_request(
        self, *, correlation_id: str | None = None
    ) -> RelationshipRequest:
        """Return the reseller invitation (``url``) to send to a new customer.

        Raise AuthError if no app+user token provider is configured.
        """
        return self._get(
            "/customers/relationshiprequests",
            RelationshipRequest,
            correlation_id=correlation_id,
            user=True,
        )

    # -------------------------------------------------------------- subscriptions

    # Reference: https://learn.microsoft.com/en-us/partner-center/developer/get-all-of-a-customer-s-subscriptions
    def list_subscriptions(
        self,
        customer_id: str,
        order_id: str | None = None,
        *,
        correlation_id: str | None = None,
    ) -> list[Subscription]:
        """Return the customer's subscriptions, or those created by ``order_id``.

        ``links.next`` is followed if Partner Center ever pages this list.
        """
        params: Params = [("order_id", order_id)] if order_id else []
        return list(
            self._iter_pages(
                f"/customers/{_seg(customer_id)}/subscriptions",
                params,
                Subscription,
                correlation_id=correlation_id,
            )
        )

    # Reference: https://learn.microsoft.com/en-us/partner-center/developer/get-a-subscription-by-id
    def get_subscription(
        self,
        customer_id: str,
        subscription_id: str,
        *,
        correlation_id: str | None = None,
    ) -> Subscription:
        """Return one subscription.

        Raise NotFound (code 20003) if it does not exist for this customer.
        """
        return self._get(
            self._subscription_path(customer_id, subscription_id),
            Subscription,
            correlation_id=correlation_id,
        )

    # Reference: https://learn.microsoft.com/en-us/partner-center/developer/get-subscription-provisioning-status
    def get_subscription_provisioning_status(
        self,
        customer_id: str,
        subscription_id: str,
        *,
        correlation_id: str | None = None,
    ) -> SubscriptionProvisioningStatus:
        """Return the provisioning status, which carries the Entra ``sku_id``."""
        path = self._subscription_path(customer_id, subscription_id)
        return self._get(
            f"{path}/provisioningstatus",
            SubscriptionProvisioningStatus,
            correlation_id=correlation_id,
        )

    # Reference: https://learn.microsoft.com/en-us/partner-center/developer/suspend-a-subscription
    def update_subscription(
        self,
        customer_id: str,
        subscription_id: str,
        changes: Mapping[str, Any],
        request_id: str | uuid.UUID,
        etag: str | None = None,
        *,
        correlation_id: str | None = None,
    ) -> Subscription:
        """Return the subscription after applying ``changes`` with one PATCH.

        Reads the full subscription, merges ``changes`` (camelCase or snake_case
        top-level keys) into it and PATCHes the whole object, with ``If-Match`` set
        to ``etag`` or else the ETag just read. A 202 is followed by polling its
        Location (bounded by ``poll_timeout``). If the subscription already has
        every change, it is returned without sending a PATCH.

        Raise TransientError(ambiguous=True) if the PATCH may have been applied
        without confirmation, PermanentError (e.g. Forbidden 20002 for another
        partner's subscription, 2055 for a stale ETag) if it was refused.
        """
        request_id = self._require_request_id(request_id)
        correlation_id = correlation_id or _new_id()
        path = self._subscription_path(customer_id, subscription_id)
        answer = self._call("GET", path, correlation_id=correlation_id)
        current = self._json(answer)
        if not isinstance(current, dict):
            raise self._malformed(answer, "expected a JSON object")
        self._validate(Subscription, current, answer)
        wanted = _camel_keys(changes)
        if all(k in current and current[k] == v for k, v in wanted.items()):
            return self._validate(Subscription, current, answer)
        body = {**current, **wanted}
        attributes = current.get("attributes")
        known_etag = etag or (
            attributes.get("etag") if isinstance(attributes, dict) else None
        )
        headers = {"If-Match": _quote_etag(str(known_etag))} if known_etag else {}
        answer = self._call(
            "PATCH",
            path,
            body=body,
            extra_headers=headers,
            request_id=request_id,
            correlation_id=correlation_id,
        )
        return self._finish_write(answer, Subscription, path)

    # Reference: https://learn.microsoft.com/en-us/partner-center/developer/suspend-a-subscription
    def suspend_subscription(
        self,
        customer_id: str,
        subscription_id: str,
        request_id: str | uuid.UUID,
        etag: str | None = None,
        *,
        correlation_id: str | None = None,
    ) -> Subscription:
        """Return the subscription after setting its status to ``suspended``."""
        return self.update_subscription(
            customer_id,
            subscription_id,
            {"status": "suspended"},
            request_id,
            etag,
            correlation_id=correlation_id,
        )

    # Reference: https://learn.microsoft.com/en-us/partner-center/developer/update-autorenew-for-an-azure-marketplace-subscription
    def set_auto_renew(
        self,
        customer_id: str,
        subscription_id: str,
        enabled: bool,
        request_id: str | uuid.UUID,
        etag: str | None = None,
        *,
        correlation_id: str | None = None,
    ) -> Subscription:
        """Return the subscription after setting ``autoRenewEnabled``."""
        return self.update_subscription(
            customer_id,
            subscription_id,
            {"autoRenewEnabled": enabled},
            request_id,
            etag,
            correlation_id=correlation_id,
        )

    # --------------------------------------------------------------------- orders

    # Reference: https://learn.microsoft.com/en-us/partner-center/developer/create-an-order
    def create_order(
        self,
        customer_id: str,
        line_items: Sequence[OrderLineItem | Mapping[str, Any]],
        request_id: str | uuid.UUID,
        billing_cycle: str = "monthly",
        *,
        correlation_id: str | None = None,
    ) -> Order:
        """Return the order created (201) for ``line_items``.

        Line items without ``lineItemNumber`` are numbered 0..n-1. Send the same
        ``request_id`` only when retrying this very order.

        Raise TransientError(ambiguous=True) if the order may have been placed
        without confirmation; read the customer's orders or subscriptions before
        buying again.
        """
        request_id = self._require_request_id(request_id)
        items: list[dict[str, Any]] = []
        for number, item in enumerate(line_items):
            if isinstance(item, OrderLineItem):
                data = item.model_dump(
                    by_alias=True, exclude_none=True, exclude={"links"}
                )
            else:
                data = _camel_keys(item)
            data.setdefault("lineItemNumber", number)
            items.append(data)
        path = f"/customers/{_seg(customer_id)}/orders"
        answer = self._call(
            "POST",
            path,
            body={"billingCycle": billing_cycle, "lineItems": items},
            request_id=request_id,
            correlation_id=correlation_id,
        )
        return self._finish_write(answer, Order, None)

    # Reference: https://learn.microsoft.com/en-us/partner-center/developer/get-an-order-by-id
    def get_order(
        self, customer_id: str, order_id: str, *, correlation_id: str | None = None
    ) -> Order:
        """Return one order; line items carry ``subscription_id`` once provisioned."""
        return self._get(
            f"/customers/{_seg(customer_id)}/orders/{_seg(order_id)}",
            Order,
            correlation_id=correlation_id,
        )

    # Reference: https://learn.microsoft.com/en-us/partner-center/developer/get-all-of-a-customer-s-orders
    def list_orders(
        self, customer_id: str, *, correlation_id: str | None = None
    ) -> list[Order]:
        """Return the customer's orders (new orders may take minutes to appear)."""
        return list(
            self._iter_pages(
                f"/customers/{_seg(customer_id)}/orders",
                [],
                Order,
                correlation_id=correlation_id,
            )
        )

    # --------------------------------------------------------------------- offers

    # Reference: https://learn.microsoft.com/en-us/partner-center/developer/get-a-list-of-offers-for-a-market
    def iter_offers(
        self,
        country: str | None = None,
        size: int = 100,
        *,
        correlation_id: str | None = None,
    ) -> Iterator[Offer]:
        """Return an iterator over the offers of a market, following offset pages."""
        country = country or self.country
        offset = 0
        first_ids: set[str] = set()
        while True:
            answer = self._call(
                "GET",
                "/offers",
                params=[
                    ("country", country),
                    ("offset", str(offset)),
                    ("size", str(size)),
                ],
                correlation_id=correlation_id,
            )
            page = self._parse(ResourceCollection[Offer], answer)
            if not page.items or page.items[0].id in first_ids:
                return
            first_ids.add(page.items[0].id)
            yield from page.items
            offset += len(page.items)
            has_next = page.links is not None and page.links.next is not None
            # A short page ends the list unless totalCount says there is more.
            if (
                len(page.items) < size
                and not has_next
                and (page.total_count is None or offset >= page.total_count)
            ):
                return

    # Reference: https://learn.microsoft.com/en-us/partner-center/developer/get-an-offer-by-id
    def get_offer(
        self,
        offer_id: str,
        country: str | None = None,
        *,
        correlation_id: str | None = None,
    ) -> Offer:
        """Return one offer; ``product.id`` is the Entra skuId of legacy offers."""
        return self._get(
            f"/offers/{_seg(offer_id)}",
            Offer,
            params=[("country", country or self.country)],
            correlation_id=correlation_id,
        )

    # ---------------------------------------------------------- users and licences

    # Reference: https://learn.microsoft.com/en-us/partner-center/developer/get-a-list-of-all-user-accounts-for-a-customer
    def iter_users(
        self,
        customer_id: str,
        size: int = 100,
        *,
        correlation_id: str | None = None,
    ) -> Iterator[CustomerUser]:
        """Return an iterator over the customer's users, following seek pages.

        App+user only; raise AuthError if no app+user token provider is configured.
        """
        return self._iter_pages(
            f"/customers/{_seg(customer_id)}/users",
            [("size", str(size))],
            CustomerUser,
            correlation_id=correlation_id,
            user=True,
        )

    # Reference: https://learn.microsoft.com/en-us/partner-center/developer/get-a-user-account-by-id
    def get_user(
        self, customer_id: str, user_id: str, *, correlation_id: str | None = None
    ) -> CustomerUser:
        """Return one user of the customer (app+user only)."""
        return self._get(
            f"/customers/{_seg(customer_id)}/users/{_seg(user_id)}",
            CustomerUser,
            correlation_id=correlation_id,
            user=True,
        )

    # Reference: https://learn.microsoft.com/en-us/partner-center/developer/check-which-licenses-are-assigned-to-a-user
    def get_user_licenses(
        self, customer_id: str, user_id: str, *, correlation_id: str | None = None
    ) -> list[License]:
        """Return the licences the user holds (app+user only)."""
        path = f"/customers/{_seg(customer_id)}/users/{_seg(user_id)}/licenses"
        return list(
            self._iter_pages(
                path, [], License, correlation_id=correlation_id, user=True
            )
        )

    # Reference: https://learn.microsoft.com/en-us/partner-center/developer/assign-licenses-to-a-user
    def update_user_licenses(
        self,
        customer_id: str,
        user_id: str,
        assign: Sequence[str],
        remove: Sequence[str],
        request_id: str | uuid.UUID,
        *,
        correlation_id: str | None = None,
    ) -> LicenseUpdate:
        """Return the result of assigning and removing skuIds in one call (201).

        Raise PermanentError with code 60012 if the new SKU has no free seats.
        """
        request_id = self._require_request_id(request_id)
        path = f"/customers/{_seg(customer_id)}/users/{_seg(user_id)}/licenseupdates"
        body = {
            "licensesToAssign": [{"skuId": sku} for sku in assign],
            "licensesToRemove": list(remove),
            "attributes": {"objectType": "LicenseUpdate"},
        }
        answer = self._call(
            "POST",
            path,
            body=body,
            request_id=request_id,
            correlation_id=correlation_id,
            user=True,
        )
        return self._finish_write(answer, LicenseUpdate, None)

    # Reference: https://learn.microsoft.com/en-us/partner-center/developer/get-a-list-of-available-licenses
    def list_subscribed_skus(
        self, customer_id: str, *, correlation_id: str | None = None
    ) -> list[SubscribedSku]:
        """Return seat counts per skuId for the customer (app+user only)."""
        return list(
            self._iter_pages(
                f"/customers/{_seg(customer_id)}/subscribedskus",
                [],
                SubscribedSku,
                correlation_id=correlation_id,
                user=True,
            )
        )

    # ------------------------------------------------------------------- plumbing

    def _subscription_path(self, customer_id: str, subscription_id: str) -> str:
        return f"/customers/{_seg(customer_id)}/subscriptions/{_seg(subscription_id)}"

    def _require_request_id(self, request_id: str | uuid.UUID) -> str:
        value = str(request_id or "").strip()
        if not value:
            raise ValueError("a write needs the caller's stored MS-RequestId")
        return value

    def _get(
        self,
        path: str,
        model: type[M],
        *,
        params: Params | None = None,
        correlation_id: str | None = None,
        user: bool = False,
    ) -> M:
        answer = self._call(
            "GET", path, params=params, correlation_id=correlation_id, user=user
        )
        return self._parse(model, answer)

    def _iter_pages(
        self,
        path: str,
        params: Params,
        model: type[M],
        *,
        correlation_id: str | None = None,
        user: bool = False,
    ) -> Iterator[M]:
        """Yield items across pages until no next page, a repeated token or 2000.

        The next page is ``links.next`` (its URI and headers) when present, else
        the top-level ``continuationToken`` sent back as ``seekOperation=Next``
        with the MS-ContinuationToken header.
        """
        collection = ResourceCollection[model]  # type: ignore[valid-type]
        next_path, next_params = path, params
        headers: dict[str, str] = {}
        seen: set[str] = set()
        first = True
        while True:
            try:
                answer = self._call(
                    "GET",
                    next_path,
                    params=next_params,
                    extra_headers=headers,
                    correlation_id=correlation_id,
                    user=user,
                )
            except PermanentError as exc:
                if not first and exc.status == 400 and exc.code == _END_OF_PAGES_CODE:
                    return
                raise
            first = False
            page = self._parse(collection, answer)
            yield from page.items
            token = page.continuation_token or None
            link = page.links.next if page.links else None
            if link is not None:
                next_path, next_params = self._link_target(link.uri)
                headers = {
                    h.key: h.value
                    for h in link.headers
                    if h.value and h.key.lower() not in _RESERVED_HEADERS
                }
                link_token = next(
                    (
                        v
                        for k, v in headers.items()
                        if k.lower() == "ms-continuationtoken"
                    ),
                    None,
                )
                if link_token is None and token:
                    headers[_CONTINUATION_HEADER] = token
                marker = link_token or token or f"{link.uri}|{sorted(headers.items())}"
            elif token:
                next_path = path
                next_params = [*params, ("seekOperation", "Next")]
                headers = {_CONTINUATION_HEADER: token}
                marker = token
            else:
                return
            if marker in seen:
                logger.warning("Stopped paging %s: next-page token repeated", path)
                return
            seen.add(marker)

    def _link_target(self, uri: str) -> tuple[str, Params]:
        """Return the API-relative path and query of a link URI.

        Links may be relative to the version root (``/customers?...``), carry the
        version (``/v1/customers?...``) or be absolute; the request always goes to
        this client's own host.
        """
        parts = urlsplit(uri)
        path = parts.path or "/"
        base = self._base_path
        if base and (path == base or path.startswith(base + "/")):
            path = path[len(base) :]
        if not path.startswith("/"):
            path = "/" + path
        return path, parse_qsl(parts.query, keep_blank_values=True)

    def _finish_write(
        self, answer: _Answer, model: type[M], reread_path: str | None
    ) -> M:
        """Return the written resource, polling a 202's Location if needed."""
        response = answer.response
        if response.status_code == 202 and (
            response.headers.get("Location") or reread_path
        ):
            return self._poll_accepted(answer, model, reread_path)
        if response.status_code == 204 and reread_path:
            try:
                return self._get(
                    reread_path, model, correlation_id=answer.correlation_id
                )
            except PartnerCenterError as exc:
                raise TransientError(
                    f"Write to {reread_path} answered 204 but the result could not "
                    f"be read: {exc.message}",
                    ambiguous=True,
                    status=204,
                    request_id=answer.request_id,
                    correlation_id=answer.correlation_id,
                ) from exc
        return self._parse(model, answer)

    def _poll_accepted(
        self, answer: _Answer, model: type[M], reread_path: str | None
    ) -> M:
        location = answer.response.headers.get("Location")
        if location:
            path, params = self._link_target(location)
        else:
            assert reread_path is not None
            path, params = reread_path, []
        deadline = time.monotonic() + self.poll_timeout
        response = answer.response
        while True:
            delay = self.poll_interval
            raw = response.headers.get("Retry-After")
            if raw:
                delay = min(_retry_after(response, None), self.poll_timeout)
            if time.monotonic() + delay > deadline:
                raise TransientError(
                    f"Write to {path} accepted (202) but not finished within "
                    f"{self.poll_timeout:.0f} s",
                    ambiguous=True,
                    status=202,
                    request_id=answer.request_id,
                    correlation_id=answer.correlation_id,
                )
            time.sleep(delay)
            try:
                polled = self._call(
                    "GET", path, params=params, correlation_id=answer.correlation_id
                )
            except PartnerCenterError as exc:
                # The write was accepted; only its outcome is unknown.
                raise TransientError(
                    f"Write to {path} accepted (202) but its result could not be "
                    f"read: {exc.message}",
                    ambiguous=True,
                    status=202,
                    request_id=answer.request_id,
                    correlation_id=answer.correlation_id,
                ) from exc
            response = polled.response
            if response.status_code != 202:
                return self._parse(model, polled)

    def _wait_for_rate_slot(self, request_id: str, correlation_id: str) -> None:
        deadline = time.monotonic() + self.max_local_wait
        while True:
            wait = self.rate_limiter.try_acquire()
            if wait <= 0:
                return
            if time.monotonic() + wait > deadline:
                raise Throttled(
                    retry_after=wait,
                    local=True,
                    request_id=request_id,
                    correlation_id=correlation_id,
                )
            time.sleep(wait)

    def _token(self, user: bool) -> TokenProvider:
        if not user:
            return self.app_tokens
        if self.user_tokens is None:
            raise AuthError(
                "This operation needs app+user credentials, and none are configured"
            )
        return self.user_tokens

    def _call(
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        body: Any = None,
        extra_headers: Mapping[str, str] | None = None,
        request_id: str | None = None,
        correlation_id: str | None = None,
        user: bool = False,
    ) -> _Answer:
        """Return the first non-error answer to one logical call.

        Raise the matching PartnerCenterError otherwise (see the module docstring
        for what is retried).
        """
        is_write = method.upper() not in ("GET", "HEAD")
        if is_write and not request_id:
            raise ValueError("a write needs the caller's stored MS-RequestId")
        request_id = request_id or _new_id()
        correlation_id = correlation_id or _new_id()
        provider = self._token(user)
        url = f"{self.api_base_url}{path}"
        payload = None if body is None else json.dumps(body, default=_json_default)
        transient_attempts = 0
        auth_retried = False
        while True:
            self._wait_for_rate_slot(request_id, correlation_id)
            headers = {
                "Authorization": f"Bearer {provider.get_token()}",
                "Accept": "application/json",
                "MS-RequestId": request_id,
                "MS-CorrelationId": correlation_id,
                "MS-Contract-Version": "v1",
                "X-Locale": self.locale,
                "MS-PartnerCenter-Application": self.application_name,
                "MS-PartnerCenter-Client": self.application_name,
            }
            if payload is not None:
                headers["Content-Type"] = "application/json"
            if extra_headers:
                headers.update(extra_headers)
            for name, value in headers.items():
                if not value.isascii():
                    # http.client would fail with a bare UnicodeEncodeError.
                    raise ValueError(f"The {name} header holds non-ASCII characters")
            started = time.monotonic()
            try:
                response = self.session.request(
                    method,
                    url,
                    params=params or None,
                    data=payload,
                    headers=headers,
                    timeout=self.timeout,
                    allow_redirects=False,
                )
            except _CONFIGURATION_ERRORS:
                raise
            except requests.RequestException as exc:
                timed_out = isinstance(exc, requests.Timeout)
                self._record(
                    method,
                    path,
                    None,
                    request_id,
                    correlation_id,
                    started,
                    "timeout" if timed_out else "connection_error",
                    is_write,
                )
                if not is_write and transient_attempts < self.read_retries:
                    transient_attempts += 1
                    time.sleep(self.retry_backoff * transient_attempts)
                    continue
                what = "timed out" if timed_out else "lost its connection"
                raise TransientError(
                    f"{method} {path} {what} ({type(exc).__name__})",
                    ambiguous=is_write and _may_have_been_sent(exc),
                    request_id=request_id,
                    correlation_id=correlation_id,
                ) from exc
            status = response.status_code
            fault = _parse_fault(response) if status >= 400 else None
            code = None if fault is None or fault.code is None else str(fault.code)
            self._record(
                method,
                path,
                status,
                request_id,
                correlation_id,
                started,
                code,
                is_write,
            )
            if status < 400:
                return _Answer(response, request_id, correlation_id)
            if status == 401:
                # Drop the token either way, so the caller's retry gets a fresh one.
                provider.invalidate()
                if not is_write and not auth_retried:
                    auth_retried = True
                    continue
                raise AuthError(
                    f"Partner Center rejected the token for {method} {path} "
                    f"(HTTP 401{', code ' + code if code else ''})",
                    request_id=request_id,
                    correlation_id=correlation_id,
                )
            if status == 429:
                raise Throttled(
                    retry_after=_retry_after(response, fault),
                    local=False,
                    request_id=request_id,
                    correlation_id=correlation_id,
                )
            if status >= 500 or status == 408:
                if not is_write and transient_attempts < self.read_retries:
                    transient_attempts += 1
                    time.sleep(self.retry_backoff * transient_attempts)
                    continue
                raise TransientError(
                    f"{method} {path} failed with HTTP {status}"
                    + (f", code {code}" if code else ""),
                    ambiguous=is_write,
                    status=status,
                    request_id=request_id,
                    correlation_id=correlation_id,
                    code=code,
                    description=getattr(fault, "description", None) or "",
                )
            raise self._permanent(response, fault, request_id, correlation_id)

    def _permanent(
        self,
        response: requests.Response,
        fault: ApiFault | None,
        request_id: str,
        correlation_id: str,
    ) -> PermanentError:
        status = response.status_code
        description = (
            ((fault.description or fault.message) if fault else None)
            or _excerpt(response).strip()
            or response.reason
            or "no description"
        )
        cls: type[PermanentError] = {
            403: Forbidden,
            404: NotFound,
            409: Conflict,
        }.get(status, PermanentError)
        return cls(
            status,
            fault.code if fault else None,
            description,
            fault.data if fault else None,
            request_id=request_id,
            correlation_id=correlation_id,
        )

    def _record(
        self,
        method: str,
        path: str,
        status: int | None,
        request_id: str,
        correlation_id: str,
        started: float,
        error_code: str | None,
        is_write: bool,
    ) -> None:
        record = CallRecord(
            method=method.upper(),
            path=path,
            status=status,
            request_id=request_id,
            correlation_id=correlation_id,
            duration_ms=int((time.monotonic() - started) * 1000),
            error_code=error_code,
            is_write=is_write,
        )
        logger.debug(
            "%s %s -> %s (%d ms, request %s)",
            record.method,
            record.path,
            record.status,
            record.duration_ms,
            record.request_id,
        )
        if self.on_call is None:
            return
        try:
            self.on_call(record)
        except Exception:
            # A failing recorder must not turn an applied write into an error.
            logger.exception("on_call failed for %s %s", record.method, record.path)

    def _json(self, answer: _Answer) -> Any:
        try:
            return answer.response.json()
        except ValueError:
            raise self._malformed(answer, "body is not JSON") from None

    def _malformed(self, answer: _Answer, message: str) -> MalformedResponse:
        return MalformedResponse(
            message,
            status=answer.response.status_code,
            excerpt=_excerpt(answer.response),
            request_id=answer.request_id,
            correlation_id=answer.correlation_id,
        )

    def _validate(self, model: type[M], data: Any, answer: _Answer) -> M:
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            errors = exc.errors()
            where = ".".join(str(p) for p in errors[0]["loc"]) if errors else ""
            what = errors[0]["msg"] if errors else "invalid"
            raise self._malformed(
                answer, f"unexpected {model.__name__} shape at {where or '?'}: {what}"
            ) from None

    def _parse(self, model: type[M], answer: _Answer) -> M:
        return self._validate(model, self._json(answer), answer)
