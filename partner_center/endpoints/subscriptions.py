"""Subscriptions: read, provisioning status, and changes by full-object PATCH."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from typing import Any

from partner_center.endpoints.base import Endpoints
from partner_center.models import (
    ScheduledNextTermInstructions,
    Subscription,
    SubscriptionProvisioningStatus,
)
from partner_center.records import Operation
from partner_center.transport import Params
from partner_center.wire import as_body, camel_keys, new_id, quote_etag, seg

__all__ = ["SubscriptionEndpoints"]


class SubscriptionEndpoints(Endpoints):
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
                f"/customers/{seg(customer_id)}/subscriptions",
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
        return self._patch_subscription(
            customer_id,
            subscription_id,
            changes,
            request_id,
            etag,
            correlation_id=correlation_id,
            operation=Operation.SUBSCRIPTION_PATCH,
        )

    # Reference: https://learn.microsoft.com/en-us/partner-center/developer/suspend-a-subscription
    def suspend_subscription(
        self,
        customer_id: str,
        subscription_id: str,
        request_id: str | uuid.UUID,
        etag: str | None = None,
        *,
        correlation_id: str | None = None,
        allow_nce: bool = False,
    ) -> Subscription:
        """Return the subscription after setting its status to ``suspended``.

        Legacy subscriptions only: a suspended new-commerce subscription keeps
        billing to its term end while its users lose the service, so suspending
        one is refused with ValueError before anything is sent, unless
        ``allow_nce``. End an NCE subscription with ``cancel_subscription``
        (inside its window) or ``set_auto_renew(False)``.
        """

        def refuse_nce(current: Subscription) -> None:
            if current.is_nce and not allow_nce:
                raise ValueError(
                    f"Subscription {current.id} is new commerce: suspending it keeps "
                    "billing to its term end. Cancel it inside its cancellation "
                    "window or turn auto-renew off instead."
                )

        return self._patch_subscription(
            customer_id,
            subscription_id,
            {"status": "suspended"},
            request_id,
            etag,
            correlation_id=correlation_id,
            operation=Operation.SUBSCRIPTION_SUSPEND,
            check=refuse_nce,
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
        return self._patch_subscription(
            customer_id,
            subscription_id,
            {"autoRenewEnabled": enabled},
            request_id,
            etag,
            correlation_id=correlation_id,
            operation=(
                Operation.SUBSCRIPTION_AUTO_RENEW_ON
                if enabled
                else Operation.SUBSCRIPTION_AUTO_RENEW_OFF
            ),
        )

    # Reference: https://learn.microsoft.com/en-us/partner-center/developer/cancel-an-azure-marketplace-subscription
    def cancel_subscription(
        self,
        customer_id: str,
        subscription_id: str,
        request_id: str | uuid.UUID,
        etag: str | None = None,
        *,
        correlation_id: str | None = None,
    ) -> Subscription:
        """Return the NCE subscription after cancelling it (``status: deleted``).

        Partner Center allows it only inside the cancellation window (168 hours
        after purchase or renewal, ``cancellation_allowed_until_date``), with a
        prorated refund; after that it refuses with a PermanentError whose code
        is UNCONFIRMED. Outside the window turn auto-renew off instead.
        """
        return self._patch_subscription(
            customer_id,
            subscription_id,
            {"status": "deleted"},
            request_id,
            etag,
            correlation_id=correlation_id,
            operation=Operation.SUBSCRIPTION_CANCEL,
        )

    # Reference: https://learn.microsoft.com/en-us/partner-center/developer/create-scheduled-changes
    def schedule_next_term(
        self,
        customer_id: str,
        subscription_id: str,
        instructions: ScheduledNextTermInstructions | Mapping[str, Any],
        request_id: str | uuid.UUID,
        etag: str | None = None,
        *,
        correlation_id: str | None = None,
    ) -> Subscription:
        """Return the NCE subscription with a change scheduled for its renewal.

        ``instructions`` names the product, SKU, availability, term, billing
        cycle and quantity the subscription renews into. Scheduling needs
        auto-renew on, so the same PATCH sets ``autoRenewEnabled: true``. Any
        later mid-term change deletes the schedule: read it back before relying
        on it.
        """
        return self._patch_subscription(
            customer_id,
            subscription_id,
            {
                "autoRenewEnabled": True,
                "scheduledNextTermInstructions": as_body(instructions, exclude=set()),
            },
            request_id,
            etag,
            correlation_id=correlation_id,
            operation=Operation.SCHEDULED_CHANGE,
        )

    def _subscription_path(self, customer_id: str, subscription_id: str) -> str:
        return f"/customers/{seg(customer_id)}/subscriptions/{seg(subscription_id)}"

    def _patch_subscription(
        self,
        customer_id: str,
        subscription_id: str,
        changes: Mapping[str, Any],
        request_id: str | uuid.UUID,
        etag: str | None,
        *,
        correlation_id: str | None,
        operation: str,
        check: Callable[[Subscription], None] | None = None,
    ) -> Subscription:
        request_id = self._require_request_id(request_id)
        correlation_id = correlation_id or new_id()
        path = self._subscription_path(customer_id, subscription_id)
        answer = self._call(
            "GET", path, correlation_id=correlation_id, operation=operation
        )
        current = self._json(answer)
        if not isinstance(current, dict):
            raise self._malformed(answer, "expected a JSON object")
        read = self._validate(Subscription, current, answer)
        wanted = camel_keys(changes)
        if all(k in current and current[k] == v for k, v in wanted.items()):
            return read
        if check is not None:
            check(read)
        body = {**current, **wanted}
        attributes = current.get("attributes")
        known_etag = etag or (
            attributes.get("etag") if isinstance(attributes, dict) else None
        )
        headers = {"If-Match": quote_etag(str(known_etag))} if known_etag else {}
        answer = self._call(
            "PATCH",
            path,
            body=body,
            extra_headers=headers,
            request_id=request_id,
            correlation_id=correlation_id,
            operation=operation,
        )
        return self._finish_write(answer, Subscription, path, operation)
