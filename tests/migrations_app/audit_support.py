"""Helpers for audit tests: tamper with the table the way an intruder with SQL would."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import DatabaseError, connection, transaction

from migrations_app.models import AuditEvent


def table() -> str:
    return connection.ops.quote_name(AuditEvent._meta.db_table)


def on_postgresql() -> bool:
    return connection.vendor == "postgresql"


def tamper(sql: str, params: list[Any] | None = None) -> None:
    """Run raw SQL against the audit table, past the PostgreSQL trigger if present.

    On PostgreSQL the statement is first shown to fail (the trigger exists and
    refuses it), then run again with the table's user triggers disabled, as a
    superuser who bypasses the application could.
    """
    with connection.cursor() as cursor:
        if on_postgresql():
            with (
                pytest.raises(DatabaseError, match="append-only"),
                transaction.atomic(),
            ):
                cursor.execute(sql, params)
            cursor.execute(f"ALTER TABLE {table()} DISABLE TRIGGER USER")
            try:
                cursor.execute(sql, params)
            finally:
                cursor.execute(f"ALTER TABLE {table()} ENABLE TRIGGER USER")
        else:
            cursor.execute(sql, params)


# A changed value for every field an event's MAC covers, as raw SQL writes it.
FORGED_VALUES: dict[str, Any] = {
    "created_at": "2020-01-02 03:04:05",
    "actor_id": 999,
    "actor": "someone-else",
    "action": "migration.cancelled",
    "outcome": "denied",
    "customer_tenant_id": "0b9e2d6c-1111-4c4c-8888-aaaaaaaaaaaa",
    "customer_name": "Another Customer",
    "subscription_id": "forged-subscription",
    "migration_id": 424242,
    "target_user_id": "forged-user",
    "message": "Nothing to see here.",
    "ip_address": "192.0.2.99",
    "pc_method": "DELETE",
    "pc_path": "/customers/x/subscriptions/y",
    "pc_status": 204,
    "pc_request_id": "forged-request",
    "pc_correlation_id": "forged-correlation",
    "pc_duration_ms": 1,
    "pc_error_code": "0",
    "details": '{"n": 99}',
}
_CASTS = {"details": "jsonb", "ip_address": "inet", "created_at": "timestamptz"}


def forge_field(event_id: int, field: str) -> None:
    """Overwrite one hashed field of one event with SQL, as an intruder would."""
    placeholder = "%s"
    if on_postgresql() and field in _CASTS:
        placeholder = f"%s::{_CASTS[field]}"
    column = connection.ops.quote_name(field)
    tamper(
        f"UPDATE {table()} SET {column} = {placeholder} WHERE id = %s",
        [FORGED_VALUES[field], event_id],
    )


def relink_without_key(from_id: int) -> None:
    """Re-link the chain from `from_id` on, and the head, with plain SHA-256:
    the only link an intruder without the audit key can compute."""
    from migrations_app.models import AuditChainHead
    from migrations_app.models.audit import legacy_chain_hash

    events = list(AuditEvent.objects.filter(pk__gte=from_id).order_by("pk"))
    prev = events[0].prev_hash
    for event in events:
        link = legacy_chain_hash(prev, event.canonical())
        tamper(
            f"UPDATE {table()} SET prev_hash = %s, hash = %s WHERE id = %s",
            [prev, link, event.pk],
        )
        prev = link
    AuditChainHead.objects.filter(pk=1).update(last_hash=prev)
