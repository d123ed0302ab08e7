"""`migrate`, first carrying a database made under the app's former label over.

The app was labelled `hub` for a while. A database created then records its
migrations, content types and tables under that label; this command renames them to
`migrations_app` once, in one transaction, before Django reads the migration history, so an
existing database keeps every row and is not migrated twice.
"""

from __future__ import annotations

from typing import Any

from django.core.management.commands.migrate import Command as DjangoMigrate
from django.db import DEFAULT_DB_ALIAS, connections, transaction

from migrations_app.legacy_label import adopt_legacy_label


class Command(DjangoMigrate):
    def handle(self, *args: Any, **options: Any) -> None:
        connection = connections[options.get("database") or DEFAULT_DB_ALIAS]
        with transaction.atomic(using=connection.alias):
            renamed = adopt_legacy_label(connection)
        if renamed and options.get("verbosity", 1) >= 1:
            self.stdout.write(
                f"Carried {renamed} tables over from the app's former label."
            )
        super().handle(*args, **options)
