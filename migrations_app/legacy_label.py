"""Carry a database made under the app's former label (`hub`) over to `migrations_app`."""

from __future__ import annotations

from django.db.backends.base.base import BaseDatabaseWrapper

OLD_LABEL = "hub"
NEW_LABEL = "migrations_app"


def adopt_legacy_label(connection: BaseDatabaseWrapper) -> int:
    """Rename the former label's tables and history rows; return the tables renamed.

    Do nothing (return 0) on a new database, or one already carried over.
    """
    tables = set(connection.introspection.table_names())
    if "django_migrations" not in tables:
        return 0
    qn = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT app FROM django_migrations WHERE app IN (%s, %s)",
            [OLD_LABEL, NEW_LABEL],
        )
        apps = {row[0] for row in cursor.fetchall()}
        if OLD_LABEL not in apps or NEW_LABEL in apps:
            return 0
        old_tables = sorted(t for t in tables if t.startswith(f"{OLD_LABEL}_"))
        for table in old_tables:
            new = NEW_LABEL + table[len(OLD_LABEL) :]
            cursor.execute(f"ALTER TABLE {qn(table)} RENAME TO {qn(new)}")
        cursor.execute(
            "UPDATE django_migrations SET app = %s WHERE app = %s",
            [NEW_LABEL, OLD_LABEL],
        )
        if "django_content_type" in tables:
            cursor.execute(
                "UPDATE django_content_type SET app_label = %s WHERE app_label = %s",
                [NEW_LABEL, OLD_LABEL],
            )
            # Permissions follow their content type; nothing else names the label.
    return len(old_tables)
