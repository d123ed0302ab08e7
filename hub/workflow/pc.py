"""Build the Partner Center client from settings and audit every write it makes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from django.conf import settings

from hub.models import Outcome, pending_write_open, pending_write_settle
from partner_center.client import CallRecord, PartnerCenterClient
from partner_center.config import PartnerCenterConfig, build_client
from partner_center.records import WriteIntent

RATE_LIMIT_KEY = "partnerhub:partner-center:bucket"


@dataclass
class CallLog:
    """Count the calls one unit of work made (sync runs report it)."""

    calls: int = 0

    def __call__(self, record: CallRecord) -> None:
        self.calls += 1


def partner_center_config() -> PartnerCenterConfig:
    """Return the client configuration from Django settings."""
    timeout = settings.PARTNER_CENTER_TIMEOUT_SECONDS
    return PartnerCenterConfig(
        mode=settings.PARTNER_CENTER_MODE,
        api_base_url=settings.PARTNER_CENTER_API_URL,
        tenant_id=settings.PARTNER_CENTER_TENANT_ID,
        client_id=settings.PARTNER_CENTER_CLIENT_ID,
        client_secret=settings.PARTNER_CENTER_CLIENT_SECRET,
        user_refresh_token=settings.PARTNER_CENTER_REFRESH_TOKEN or None,
        token_url=(
            settings.PARTNER_CENTER_TOKEN_URL
            if settings.PARTNER_CENTER_MODE == "sandbox"
            else None
        ),
        authority_host=settings.PARTNER_CENTER_AUTHORITY_HOST,
        app_scope=settings.PARTNER_CENTER_APP_SCOPE,
        rate_limit_per_minute=settings.PARTNER_CENTER_RATE_LIMIT_PER_MINUTE,
        rate_limit_key=RATE_LIMIT_KEY,
        connect_timeout=min(5.0, timeout),
        read_timeout=timeout,
        locale=settings.PARTNER_CENTER_LOCALE,
        country=settings.PARTNER_CENTER_COUNTRY,
    )


def partner_center_client(
    *,
    actor: Any = None,
    customer: Any = None,
    migration_id: int | None = None,
    observer: Callable[[CallRecord], None] | None = None,
    max_local_wait: float = 5.0,
) -> PartnerCenterClient:
    """Return a client for the configured Partner Center.

    Every write it sends is recorded before it goes out and leaves exactly one
    audit event (method, path, status, MS-RequestId, MS-CorrelationId, duration,
    error code), attributed to `actor` (or the system) and to `customer` /
    `migration_id`. A write whose answer never arrived stays pending until a
    read-back settles it (see `hub.models.writes`). `observer` sees every call,
    reads included.
    """

    def on_write(intent: WriteIntent) -> None:
        pending_write_open(
            request_id=intent.request_id,
            correlation_id=intent.correlation_id,
            method=intent.method,
            path=intent.path,
            operation=intent.operation or "",
            actor=actor,
            customer=customer,
            migration_id=migration_id,
        )

    def on_call(record: CallRecord) -> None:
        if observer is not None:
            observer(record)
        if not record.is_write or record.status is None:
            # No answer was read: whoever learns the outcome settles the write.
            return
        ok = record.status < 400
        pending_write_settle(
            record.request_id,
            outcome=Outcome.SUCCESS if ok else Outcome.FAILURE,
            message=f"{record.method} {record.path} → {record.status}",
            call=record,
            fallback={
                "actor": actor,
                "customer_tenant_id": str(customer.tenant_id) if customer else "",
                "customer_name": customer.company_name if customer else "",
                "migration_id": migration_id,
            },
        )

    config = partner_center_config()
    if max_local_wait != config.max_local_wait:
        config = replace(config, max_local_wait=max_local_wait)
    return build_client(
        config, on_call=on_call, redis_url=settings.REDIS_URL, on_write=on_write
    )
