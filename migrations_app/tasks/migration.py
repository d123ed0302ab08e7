"""Migration tasks: thin interfaces over the workflow runner and `services.migrations`."""

from __future__ import annotations

import logging

from celery import Task, shared_task

from migrations_app import task_names
from migrations_app.services.migrations import migrations_requeue_due
from migrations_app.workflow.enqueue import enqueue_advance
from migrations_app.workflow.refund import purchase_refund
from migrations_app.workflow.runner import migration_run_step
from partner_center.errors import Throttled, TransientError

__all__ = ["migration_advance", "refund_purchase", "requeue_due_migrations"]

logger = logging.getLogger(__name__)


@shared_task(
    name=task_names.MIGRATION_ADVANCE,
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


@shared_task(name=task_names.REQUEUE_DUE_MIGRATIONS, ignore_result=True)
def requeue_due_migrations() -> int:
    """Re-send the message of every migration whose work is due or stalled.

    Return how many. Beat runs this every few seconds: a single query when
    nothing is due, and a log line only when something was re-queued (Celery's own
    lines about this task are filtered out, see `migrations_app.quiet_logs`).
    """
    sent = migrations_requeue_due()
    if sent:
        logger.info(
            "Re-queued %d migration(s) whose work was due or stalled: %s",
            len(sent),
            ", ".join(str(pk) for pk in sent),
        )
    return len(sent)


@shared_task(
    name=task_names.REFUND_PURCHASE,
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=10,
    ignore_result=True,
)
def refund_purchase(self: Task, migration_id: int) -> int:
    """Cancel a stopped migration's purchase for a refund; return how many cancelled.

    A call that may work next time is retried with backoff; each cancel is sent
    with the request id stored on its target, so a retry never sends two.
    """
    try:
        return purchase_refund(migration_id=migration_id)
    except (Throttled, TransientError) as exc:
        wait = getattr(exc, "retry_after", 0.0) or 5.0 * 2 ** (
            self.request.retries or 0
        )
        raise self.retry(countdown=min(300.0, max(1.0, wait))) from None
