"""`manage.py audit_rekey`: key an audit chain written before PARTNERHUB_AUDIT_KEY."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from migrations_app.services.audit_rekey import RekeyRefused, audit_chain_rekey


class Command(BaseCommand):
    help = (
        "Once, after upgrading a database whose audit chain has unkeyed SHA-256 "
        "links: check every old link up to the head hash the old version printed, "
        "then re-link every event with an HMAC keyed by PARTNERHUB_AUDIT_KEY. "
        "Refuses (exit 1) without --unkeyed-upgrade and --legacy-head, once a keyed "
        "chain was verified here, or if the old chain does not hold."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--unkeyed-upgrade",
            action="store_true",
            help="Confirm this database comes from a version without the audit key.",
        )
        parser.add_argument(
            "--legacy-head",
            default="",
            help=(
                "The old chain's head hash, from outside the database (the old "
                "version's `audit_verify` output or log line)."
            ),
        )
        parser.add_argument(
            "--accept-broken",
            action="store_true",
            help="Re-key even a broken chain; that break can then no longer be found.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            result = audit_chain_rekey(
                unkeyed_upgrade=options["unkeyed_upgrade"],
                legacy_head=options["legacy_head"],
                accept_broken=options["accept_broken"],
            )
        except RekeyRefused as exc:
            raise CommandError(str(exc), returncode=1) from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"Re-keyed {result.events} audit events; head {result.head_hash}. "
                "Run `manage.py audit_verify` to record a checkpoint."
            )
        )
