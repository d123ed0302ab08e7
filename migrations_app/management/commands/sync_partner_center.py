"""Sync customers, subscriptions, users and licences from Partner Center."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from migrations_app.models import SyncRun
from migrations_app.services.sync import (
    SyncAlreadyRunning,
    sync_enqueue,
    sync_run_exclusive,
)


class Command(BaseCommand):
    help = (
        "Sync every customer from Partner Center now and print the counts, "
        "or with --enqueue hand the sync to a Celery worker."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--enqueue",
            action="store_true",
            help="Queue the sync for a worker instead of running it here.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["enqueue"]:
            sync_enqueue(now=True)
            self.stdout.write("Sync queued; a worker will run it.")
            return
        started = time.monotonic()
        try:
            run = sync_run_exclusive()
        except SyncAlreadyRunning as exc:
            raise CommandError(f"{exc} Nothing was done.") from exc
        seconds = time.monotonic() - started
        self.stdout.write(
            f"Sync {run.pk} {run.get_status_display().lower()} in {seconds:.1f} s: "
            f"{run.customers_seen} customers seen, {run.customers_changed} changed, "
            f"{run.customers_failed} failed, {run.rows_written} rows written, "
            f"{run.calls_made} Partner Center calls."
        )
        if run.error:
            self.stdout.write(run.error)
        if run.status == SyncRun.Status.FAILED:
            raise CommandError("The sync failed.")
