"""Keep the routine runs of a periodic task out of the INFO log.

Beat sends `requeue_due_migrations` every few seconds. Celery logs each send (beat)
and each receipt and success (worker) at INFO: lines every few seconds while
nothing happens. The task logs a line of its own when it re-queued a migration, so
these say nothing. Errors and warnings about the task always pass.

Importable while logging is configured, before Django's apps are ready: this module
imports nothing from the app.
"""

from __future__ import annotations

import logging

from migrations_app import task_names

# The notification scan runs every ~30 s too; failed sends log their own warning.
QUIET_TASKS = frozenset(
    {
        task_names.REQUEUE_DUE_MIGRATIONS,
        task_names.NOTIFY_MIGRATION_ENDINGS,
        task_names.START_DUE_SCHEDULES,
    }
)


class QuietRoutineTasks(logging.Filter):
    """Drop Celery's INFO lines about sending, receiving or finishing a quiet task."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno > logging.INFO:
            return True
        return _task_name(record) not in QUIET_TASKS


def _task_name(record: logging.LogRecord) -> str:
    """Return the task a Celery log record is about, or "" if it names none."""
    # The worker's "received" and "succeeded" lines carry their context as `data`.
    data = getattr(record, "data", None)
    if isinstance(data, dict):
        return str(data.get("name") or "")
    # Beat's "Sending due task <entry> (<task>)".
    if record.name == "celery.beat" and isinstance(record.args, tuple) and record.args:
        return str(record.args[-1])
    return ""
