"""The one audit event each operator action on a migration records."""

from __future__ import annotations

from typing import Any

from migrations_app.models import Migration
from migrations_app.models.audit import audit_record


def migration_audit(
    migration: Migration,
    action: str,
    actor: Any,
    ip: str | None,
    message: str,
    **details: Any,
) -> None:
    """Record one audit event about `migration`, with `details` as its details."""
    audit_record(
        action=action,
        actor=actor,
        ip_address=ip,
        customer_tenant_id=str(migration.customer.tenant_id),
        customer_name=migration.customer.company_name,
        subscription_id=migration.source_subscription_code,
        migration_id=migration.pk,
        message=message,
        details=details,
    )
