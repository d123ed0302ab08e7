"""The browser tests' background worker: a thread that plays the Celery worker.

Each round it runs its jobs in order, as workers fed by beat would: by default
`advance_due_migrations`; a test module adds its own (expanding waiting bulk runs,
the re-sync a completed migration sends) through the `worker_jobs` fixture of
`tests/e2e/conftest.py`. A job returns whether it found work; when none did, the
thread waits a tenth of a second before the next round. An error in a job stops
the thread and is raised at the test's teardown.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

from django.db import connection
from django.db.models import Q
from django.utils import timezone

from migrations_app.models import (
    TERMINAL_STATES,
    BulkCustomerOutcome,
    BulkRunCustomer,
    Migration,
)
from migrations_app.services.bulk import bulk_run_expand
from migrations_app.tasks.migration import migration_advance

# One round of a job; True if it found work.
Job = Callable[[], bool]


def advance_due_migrations() -> bool:
    """Run the `migration_advance` task function for every migration with work due.

    Return True if any had.
    """
    due = list(
        Migration.objects.exclude(state__in=TERMINAL_STATES)
        .filter(
            Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=timezone.now())
        )
        .values_list("pk", flat=True)
    )
    for pk in due:
        migration_advance(pk)
    return bool(due)


def expand_waiting_bulk_runs() -> bool:
    """Expand every bulk run with customers still waiting; return True if any had."""
    runs = set(
        BulkRunCustomer.objects.filter(outcome=BulkCustomerOutcome.PENDING).values_list(
            "bulk_run_id", flat=True
        )
    )
    for pk in runs:
        bulk_run_expand(bulk_run_id=pk)
    return bool(runs)


class Worker:
    """The background worker's controls; `failures` holds what stopped it."""

    def __init__(self, jobs: Sequence[Job]) -> None:
        self.jobs = list(jobs)
        self.paused = threading.Event()
        self.failures: list[BaseException] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="worker", daemon=True)

    def pause(self) -> None:
        self.paused.set()

    def resume(self) -> None:
        self.paused.clear()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread after its current round and wait for it (30 s at most)."""
        self._stop.set()
        self._thread.join(timeout=30)

    def _loop(self) -> None:
        try:
            while not self._stop.is_set():
                if self.paused.is_set():
                    self._stop.wait(0.1)
                    continue
                found = False
                for job in self.jobs:
                    found = job() or found
                if not found:
                    self._stop.wait(0.1)
        except BaseException as exc:  # reported at teardown
            self.failures.append(exc)
        finally:
            connection.close()
