"""`manage.py audit_verify`: walk the audit chain and name the first broken link."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from migrations_app.services.audit import audit_chain_verify


class Command(BaseCommand):
    help = (
        "Recompute every audit event's hash in id order, check each link and the "
        "chain head, record the result, and exit non-zero naming the first broken "
        "event if the log was altered."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--chunk-size",
            type=int,
            default=2000,
            help="Rows fetched per database round trip (default 2000).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        chunk_size = options["chunk_size"]
        if chunk_size < 1:
            raise CommandError("--chunk-size must be at least 1.")
        verification = audit_chain_verify(chunk_size=chunk_size)
        if not verification.ok:
            raise CommandError(verification.message, returncode=1)
        self.stdout.write(self.style.SUCCESS(verification.message))
