"""Audit events the engine writes about a migration."""

from __future__ import annotations

from typing import Any

from django.dispatch import Signal

from migrations_app.models import Migration, Outcome, pending_write_settle
from migrations_app.models.audit import audit_record

# Sent inside the transaction that completes a migration, with `migration`: what
# the rest of the app keeps about the customer (its list facts) is received in
# `migrations_app.signals`, so the engine knows nothing of it.
migration_completed = Signal()


def audit_migration(
    m: Migration,
    action: str,
    message: str,
    outcome: str = Outcome.SUCCESS,
    **details: Any,
) -> None:
    """Append one event about migration `m`, attributed to the system."""
    audit_record(
        action=action,
        outcome=outcome,
        customer_tenant_id=str(m.customer.tenant_id),
        customer_name=m.customer.company_name,
        subscription_id=m.source_subscription_code,
        migration_id=m.pk,
        message=message,
        details=details,
    )


def settle_by_readback(request_id: Any, *, applied: bool, what: str) -> bool:
    """Settle a write whose answer was lost, from what a read-back found.

    `what` names the write in plain words ("licence move for a@b.example").
    Return True if an audit event was written (the write was still pending).
    """
    if request_id is None:
        return False
    if applied:
        message = (
            f"{what}: applied. Its answer was never read; a read-back found the change."
        )
    else:
        message = (
            f"{what}: not applied. Its answer was never read and a read-back found no "
            "change; it is sent again."
        )
    return pending_write_settle(
        str(request_id),
        outcome=Outcome.SUCCESS if applied else Outcome.FAILURE,
        message=message,
    )
