"""One customer re-read on its own when its migration ends, with one audit event."""

from __future__ import annotations

import time
from typing import Any

from migrations_app.models import Customer, Migration, MigrationState, Outcome
from migrations_app.services.audit import audit_record
from migrations_app.services.sync.errors import SyncAlreadyRunning, plain_error
from migrations_app.services.sync.lock import (
    CUSTOMER_SYNC_LOCK_KEY,
    SYNC_MAX_LOCAL_WAIT_SECONDS,
    sync_lock,
)
from migrations_app.services.sync.snapshot import (
    CustomerSyncResult,
    record_customer_error,
    sync_customer,
)
from migrations_app.workflow.pc import CallLog, partner_center_client
from partner_center.errors import Throttled


def sync_customer_refresh(
    *,
    customer: Customer,
    migration_id: int | None = None,
    final_attempt: bool = True,
    lock_seconds: float = 600,
) -> CustomerSyncResult:
    """Re-read one customer from Partner Center and record one audit event for it.

    A finished migration calls this so the customer's pages show the new
    subscription, seat counts and licences before the next full sync. After a
    completed migration the users are not read again: its verify step read back
    every user it moved, and their licences are stored already. Only writes
    are audited one by one; the reads are summed up in the single `sync.completed`
    (or `sync.failed`) event, which names the customer and the migration.

    Raise SyncAlreadyRunning if another refresh of this customer is running (it
    may have read Partner Center before the change; try again later). Raise
    Throttled if Partner Center asks to slow down, unless `final_attempt`: then
    the customer keeps its last good data and gets the throttling as its sync error.
    """
    started = time.monotonic()
    calls = CallLog()
    key = CUSTOMER_SYNC_LOCK_KEY.format(pk=customer.pk)
    with sync_lock(lock_seconds, key=key) as acquired:
        if not acquired:
            raise SyncAlreadyRunning(
                f"{customer.company_name} is being synced already."
            )
        client = partner_center_client(
            customer=customer,
            migration_id=migration_id,
            observer=calls,
            max_local_wait=SYNC_MAX_LOCAL_WAIT_SECONDS,
        )
        with client:
            try:
                result = sync_customer(
                    customer=customer,
                    client=client,
                    users_read_back=_read_back(migration_id),
                )
            except Throttled as exc:
                if not final_attempt:
                    raise
                message = plain_error(exc, f"{customer.company_name}'s data")
                result = CustomerSyncResult(
                    rows_written=record_customer_error(
                        customer=customer, message=message
                    ),
                    error=message,
                )
    details: dict[str, Any] = {
        "scope": "customer",
        "rows_written": result.rows_written,
        "calls_made": calls.calls,
        "users_read": result.users_read,
        "seconds": round(time.monotonic() - started, 1),
    }
    if result.ok:
        action, outcome = "sync.completed", Outcome.SUCCESS
        message = (
            f"Synced {customer.company_name}: {result.rows_written} rows written, "
            f"{calls.calls} Partner Center calls."
        )
    else:
        action, outcome = "sync.failed", Outcome.FAILURE
        message = f"Sync of {customer.company_name} failed: {result.error}"
    audit_record(
        action=action,
        outcome=outcome,
        customer_tenant_id=str(customer.tenant_id),
        customer_name=customer.company_name,
        migration_id=migration_id,
        message=message,
        details=details,
    )
    return result


def _read_back(migration_id: int | None) -> bool:
    """Return whether the migration completed, so verify read its users back."""
    if migration_id is None:
        return False
    return Migration.objects.filter(
        pk=migration_id, state=MigrationState.COMPLETED
    ).exists()
