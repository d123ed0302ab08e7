"""Migration tasks: thin interfaces over the workflow runner and `services.migrations`."""

from __future__ import annotations

import logging

from celery import shared_task

from hub.services.migrations import migrations_requeue_due
from hub.workflow.enqueue import enqueue_advance
from hub.workflow.runner import migration_run_step

__all__ = ["migration_advance", "requeue_due_migrations"]

logger = logging.getLogger(__name__)


@shared_task(
    name="hub.tasks.migration_advance",
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
)
def migration_advance(migration_id: int) -> str:
    """Run one step of a migration, then send the message for the next one.

    A message for a migration that is finished, leased by another worker or not
    yet due does nothing: the row decides, not the message.
    """
    report = migration_run_step(migration_id=migration_id)
    if report.enqueue_after is not None:
        enqueue_advance(migration_id, countdown=report.enqueue_after or None)
    return report.state or "not claimed"


@shared_task(name="hub.tasks.requeue_due_migrations", ignore_result=True)
def requeue_due_migrations() -> int:
    """Re-send the message of every migration whose work is due or stalled.

    Return how many. Beat runs this every few seconds: a single query when
    nothing is due, and a log line only when something was re-queued (Celery's own
    lines about this task are filtered out, see `hub.quiet_logs`).
    """
    sent = migrations_requeue_due()
    if sent:
        logger.info(
            "Re-queued %d migration(s) whose work was due or stalled: %s",
            len(sent),
            ", ".join(str(pk) for pk in sent),
        )
    return len(sent)
