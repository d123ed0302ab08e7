"""What every endpoint group shares on top of the transport: paging and writes."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterator
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlsplit

from pydantic import BaseModel, ValidationError

from partner_center.errors import (
    MalformedResponse,
    PartnerCenterError,
    PermanentError,
    TransientError,
)
from partner_center.models import ResourceCollection
from partner_center.transport import Answer, Params, Transport
from partner_center.wire import excerpt, retry_after

__all__ = ["Endpoints"]

logger = logging.getLogger("partner_center.client")

M = TypeVar("M", bound=BaseModel)

# BAM treats "400, code 2000" on a next-page request as "all records fetched".
_END_OF_PAGES_CODE = 2000
_CONTINUATION_HEADER = "MS-ContinuationToken"
# Headers a link may not override.
_RESERVED_HEADERS = frozenset({"authorization", "ms-requestid", "ms-correlationid"})


class Endpoints(Transport):
    """The base of every endpoint group: paging, 202 polling, request ids."""

    def _get(
        self,
        path: str,
        model: type[M],
        *,
        params: Params | None = None,
        correlation_id: str | None = None,
        user: bool = False,
        operation: str | None = None,
        roles: tuple[str, ...] = (),
    ) -> M:
        answer = self._call(
            "GET",
            path,
            params=params,
            correlation_id=correlation_id,
            user=user,
            operation=operation,
            roles=roles,
        )
        return self._parse(model, answer)

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

    def _json(self, answer: Answer) -> Any:
        try:
            return answer.response.json()
        except ValueError:
            raise self._malformed(answer, "body is not JSON") from None

    def _malformed(self, answer: Answer, message: str) -> MalformedResponse:
        return MalformedResponse(
            message,
            status=answer.response.status_code,
            excerpt=excerpt(answer.response),
            request_id=answer.request_id,
            correlation_id=answer.correlation_id,
        )

    def _validate(self, model: type[M], data: Any, answer: Answer) -> M:
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            errors = exc.errors()
            where = ".".join(str(p) for p in errors[0]["loc"]) if errors else ""
            what = errors[0]["msg"] if errors else "invalid"
            raise self._malformed(
                answer, f"unexpected {model.__name__} shape at {where or '?'}: {what}"
            ) from None

    def _parse(self, model: type[M], answer: Answer) -> M:
        return self._validate(model, self._json(answer), answer)

    def _require_request_id(self, request_id: str | uuid.UUID) -> str:
        value = str(request_id or "").strip()
        if not value:
            raise ValueError("a write needs the caller's stored MS-RequestId")
        return value

    def _iter_pages(
        self,
        path: str,
        params: Params,
        model: type[M],
        *,
        correlation_id: str | None = None,
        user: bool = False,
        operation: str | None = None,
        roles: tuple[str, ...] = (),
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
                    operation=operation,
                    roles=roles,
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

    def _finish_write(
        self,
        answer: Answer,
        model: type[M],
        reread_path: str | None,
        operation: str | None = None,
    ) -> M:
        """Return the written resource, polling a 202's Location if needed."""
        response = answer.response
        if response.status_code == 202 and (
            response.headers.get("Location") or reread_path
        ):
            return self._poll_accepted(answer, model, reread_path, operation)
        # 204, or a 2xx with no body: the write happened; read its result.
        if (response.status_code == 204 or not response.content) and reread_path:
            try:
                return self._get(
                    reread_path,
                    model,
                    correlation_id=answer.correlation_id,
                    operation=operation,
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
        self,
        answer: Answer,
        model: type[M],
        reread_path: str | None,
        operation: str | None,
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
            if response.headers.get("Retry-After"):
                delay = min(retry_after(response, None), self.poll_timeout)
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
                    "GET",
                    path,
                    params=params,
                    correlation_id=answer.correlation_id,
                    operation=operation,
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
