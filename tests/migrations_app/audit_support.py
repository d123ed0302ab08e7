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
