"""Beat's migration re-queue runs every few seconds; it is logged only when it acts."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import pytest
from celery import beat
from celery.app import trace
from celery.worker import strategy
from django.utils import timezone

from migrations_app.models import Migration
from migrations_app.tasks.migration import requeue_due_migrations
from tests.migrations_app.migration_support import CONTOSO, start

REQUEUE = "migrations_app.tasks.requeue_due_migrations"
ADVANCE = "migrations_app.tasks.migration_advance"


def _celery_logs_a_run_of(task: str) -> None:
    """Log what Celery logs when beat sends a task and a worker runs it."""
    context = {"id": "c0ffee", "name": task, "args": "()", "kwargs": "{}", "eta": None}
    beat.logger.info("Scheduler: Sending due task %s (%s)", "an-entry", task)
    strategy.logger.info(trace.LOG_RECEIVED, context, extra={"data": context})
    trace.info(trace.LOG_SUCCESS, {**context, "return_value": "0", "runtime": 0.01})


def test_celerys_lines_about_each_requeue_stay_out_of_the_info_log(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.INFO):
        _celery_logs_a_run_of(REQUEUE)
        _celery_logs_a_run_of(ADVANCE)
        failure = {
            "id": "bad",
            "name": REQUEUE,
            "description": "raised unexpected",
            "exc": "OperationalError",
        }
        trace.logger.error(trace.LOG_FAILURE, failure, extra={"data": failure})

    lines = [r.getMessage() for r in caplog.records]
    assert lines == [
        f"Scheduler: Sending due task an-entry ({ADVANCE})",
        f"Task {ADVANCE}[c0ffee] received",
        f"Task {ADVANCE}[c0ffee] succeeded in 0.01s: 0",
        f"Task {REQUEUE}[bad] raised unexpected: OperationalError",
    ]


def test_a_requeue_logs_one_line_when_it_resent_a_migration_and_none_when_idle(
    synced: Any,
    sandbox: Any,
    operator: Any,
    caplog: pytest.LogCaptureFixture,
    django_capture_on_commit_callbacks: Any,
) -> None:
    [migration] = start(CONTOSO, operator)
    Migration.objects.filter(pk=migration.pk).update(
        updated_at=timezone.now() - timedelta(minutes=5),
        enqueued_at=timezone.now() - timedelta(minutes=5),
    )

    with caplog.at_level(logging.INFO), django_capture_on_commit_callbacks():
        assert requeue_due_migrations() == 1
        assert requeue_due_migrations() == 0

    lines = [r.getMessage() for r in caplog.records]
    assert lines == [
        f"Re-queued 1 migration(s) whose work was due or stalled: {migration.pk}"
    ]
