"""Build the Partner Center client from settings and audit every write it makes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from migrations_app.models import Outcome, pending_write_open, pending_write_settle
from migrations_app.models.audit import audit_record
from migrations_app.models.connection import (
    connection_note_call,
    connection_note_failure,
)
from migrations_app.models.secrets import REFRESH_TOKEN_STORE
from partner_center.auth import TokenProvider
from partner_center.client import CallRecord, PartnerCenterClient
from partner_center.config import PartnerCenterConfig, shared_client
from partner_center.errors import AuthError
from partner_center.records import WriteIntent

RATE_LIMIT_KEY = "partnerhub:partner-center:bucket"


@dataclass
class CallLog:
    """Count the calls one unit of work made (sync runs report it)."""

    calls: int = 0

    def __call__(self, record: CallRecord) -> None:
        self.calls += 1


class _NotingTokens:
    """A token provider that notes sign-in failures for the settings page."""

    def __init__(self, provider: TokenProvider) -> None:
        self.provider = provider

    def get_token(self) -> str:
        """Return the provider's token; note an AuthError before raising it."""
        try:
            return self.provider.get_token()
        except AuthError as exc:
            connection_note_failure(exc)
            raise

    def invalidate(self) -> None:
        """Forget the provider's cached token."""
        self.provider.invalidate()

    def __repr__(self) -> str:
        return f"<noting {self.provider!r}>"


def partner_center_config() -> PartnerCenterConfig:
    """Return the client configuration from Django settings.

    App+user refresh tokens live encrypted in the database (seeded once from
    `PARTNER_CENTER_REFRESH_TOKEN`), so every worker redeems the newest one. In
    sandbox mode without a configured token, the sandbox's app token serves
    app+user calls as before. The store is one object per process, so equal
    settings give an equal config and so one shared client.
    """
    timeout = settings.PARTNER_CENTER_TIMEOUT_SECONDS
    use_store = bool(
        settings.PARTNER_CENTER_REFRESH_TOKEN or settings.PARTNER_CENTER_MODE == "live"
    )
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
        refresh_token_store=REFRESH_TOKEN_STORE if use_store else None,
        read_only=settings.PARTNER_CENTER_READ_ONLY,
    )


def _refusal_auditor(
    actor: Any, customer: Any, migration_id: int | None
) -> Callable[[WriteIntent], None]:
    """Return the hook that audits a write read-only mode refused (never sent)."""

    def on_refused(intent: WriteIntent) -> None:
        audit_record(
            action="partner_center.write_refused",
            actor=actor,
            outcome=Outcome.DENIED,
            customer_tenant_id=str(customer.tenant_id) if customer else "",
            customer_name=customer.company_name if customer else "",
            migration_id=migration_id,
            message=f"{intent.method} {intent.path} not sent: read-only mode "
            "(PARTNER_CENTER_READ_ONLY=1)",
            details={"operation": intent.operation or "", "sent": False},
        )

    return on_refused


def partner_center_client(
    *,
    actor: Any = None,
    customer: Any = None,
    migration_id: int | None = None,
    observer: Callable[[CallRecord], None] | None = None,
    max_local_wait: float = 5.0,
) -> PartnerCenterClient:
    """Return this job's view of the worker's shared Partner Center client.

    One client per process and configuration: its session, token providers (so
    access tokens, cached until they expire) and rate limiter serve every job;
    each job gets its own hooks. Closing the view leaves the shared client open.

    Every write it sends is recorded before it goes out and leaves exactly one
    audit event (method, path, status, MS-RequestId, MS-CorrelationId, duration,
    error code), attributed to `actor` (or the system) and to `customer` /
    `migration_id`. A write whose answer never arrived stays pending until a
    read-back settles it (see `migrations_app.models.writes`). `observer` sees every call,
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

    config = partner_center_config()
    shared = shared_client(config, redis_url=settings.REDIS_URL)

    def on_call(record: CallRecord) -> None:
        if observer is not None:
            observer(record)
        connection_note_call(
            record,
            has_mfa_claim=getattr(shared.user_tokens, "has_mfa_claim", None),
        )
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

    client = shared.with_hooks(on_call=on_call, on_write=on_write)
    client.on_refused = _refusal_auditor(actor, customer, migration_id)
    client.max_local_wait = max_local_wait
    client.app_tokens = _NotingTokens(shared.app_tokens)
    if shared.user_tokens is not None:
        client.user_tokens = _NotingTokens(shared.user_tokens)
    return client
