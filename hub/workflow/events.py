"""Audit events the engine writes about a migration."""

from __future__ import annotations

from typing import Any

from hub.models import Migration, Outcome
from hub.models.audit import audit_record


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
        subscription_id=m.source_subscription.subscription_id,
        migration_id=m.pk,
        message=message,
        details=details,
    )
