"""`migrate`, first carrying a database made under the app's former label over.

The app was labelled `hub` for a while. A database created then records its
migrations, content types and tables under that label; this command renames them to
`migrations_app` once, in one transaction, before Django reads the migration history, so an
existing database keeps every row and is not migrated twice.

Afterwards it verifies the audit chain once (`PARTNERHUB_AUDIT_VERIFY_ON_MIGRATE`),
so every deployment writes its first checkpoint and sealed result before web,
worker and beat start (they wait for `migrate` in docker-compose.yml), not one
beat interval later; a broken chain is reported but does not stop the deployment.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.commands.migrate import Command as DjangoMigrate
from django.db import DEFAULT_DB_ALIAS, connections, transaction

from migrations_app.legacy_label import adopt_legacy_label
from migrations_app.services.audit import audit_chain_verify


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
        if self._verifies_audit_chain(connection.alias, options):
            verification = audit_chain_verify()
            if not verification.ok:
                self.stderr.write(f"Audit chain: {verification.message}")
            elif options.get("verbosity", 1) >= 1:
                self.stdout.write(f"Audit chain: {verification.message}")

    @staticmethod
    def _verifies_audit_chain(alias: str, options: dict[str, Any]) -> bool:
        """Return True if this run changes the default database for real."""
        return (
            bool(getattr(settings, "PARTNERHUB_AUDIT_VERIFY_ON_MIGRATE", False))
            and alias == DEFAULT_DB_ALIAS
            and not options.get("plan")
            and not options.get("check_unapplied")
            and not options.get("prune")
            and not options.get("app_label")
        )
