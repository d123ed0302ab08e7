"""Act on a migration that exists: retry, resume, cancel, refund, re-queue when due."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from migrations_app import task_names
from migrations_app.domain.wording import cancellation_summary
from migrations_app.models import LicenseMove, Migration
from migrations_app.services.migrations.errors import MigrationNotAllowed
from migrations_app.services.migrations.events import migration_audit
from migrations_app.workflow import registry
from migrations_app.workflow.enqueue import (
    enqueue_advance,
    enqueue_customer_sync,
    send_on_commit,
)
from migrations_app.workflow.refund import refundable_targets

# A queued or running row nobody touched for this long lost its message: re-send.
STALE_AFTER = timedelta(seconds=30)


def migration_retry(
    *, migration: Migration, actor: Any, ip_address: str | None = None
) -> Migration:
    """Run a failed migration's failed step again (moves that failed go again too).

    Raise MigrationNotAllowed unless the migration is failed.
    """
    step = registry.retry_step(migration).key
    try:
        return _retry(migration, step, actor, ip_address)
    except IntegrityError as exc:
        raise MigrationNotAllowed(
            "A newer migration of the same subscription took over this one's "
            "purchase: open that one instead. Nothing was changed."
        ) from exc


def _retry(
    migration: Migration, step: str, actor: Any, ip_address: str | None
) -> Migration:
    with transaction.atomic():
        updated = Migration.objects.filter(pk=migration.pk).restart_failed(step)
        if updated != 1:
            raise MigrationNotAllowed("Only a failed migration can be retried.")
        migration.license_moves.filter(status=LicenseMove.Status.FAILED).update(
            status=LicenseMove.Status.PENDING, request_id=None
        )
        # A new read-back pass checks every user again.
        migration.license_moves.update(verified_at=None)
        migration.refresh_from_db()
        migration_audit(
            migration,
            "migration.retried",
            actor,
            ip_address,
            f"Retried from: {registry.step(step).label.lower()}",
            step=step,
        )
        enqueue_advance(migration.pk)
    return migration


def migration_resume(
    *, migration: Migration, actor: Any, ip_address: str | None = None
) -> Migration:
    """Run a waiting migration's next step now instead of at its next attempt time.

    Raise MigrationNotAllowed if it is finished or a worker is on it right now.
    """
    with transaction.atomic():
        updated = Migration.objects.filter(pk=migration.pk).resume_now()
        if updated != 1:
            raise MigrationNotAllowed(
                "This migration is finished, or a step is running right now."
            )
        migration.refresh_from_db()
        migration_audit(
            migration, "migration.resumed", actor, ip_address, "Resumed now"
        )
        enqueue_advance(migration.pk)
    return migration


def migration_cancel(
    *, migration: Migration, actor: Any, ip_address: str | None = None
) -> Migration:
    """Stop a migration for good; nothing is undone, the old subscription untouched.

    If it may have bought something, the customer is re-read from Partner Center
    afterwards. Raise MigrationNotAllowed if it is closed already or a step is
    running now.
    """
    with transaction.atomic():
        updated = Migration.objects.filter(pk=migration.pk).cancel()
        if updated != 1:
            raise MigrationNotAllowed(
                "This migration has finished already, or a step is running right "
                "now: try again in a few seconds."
            )
        migration.refresh_from_db()
        summary = cancellation_summary(migration, list(migration.license_moves.all()))
        migration_audit(
            migration,
            "migration.cancelled",
            actor,
            ip_address,
            f"Cancelled. {summary}",
            order_id=migration.order_id,
            new_subscription_id=migration.new_subscription_id,
        )
        # A purchase request stored but not refused may have been applied.
        if migration.bought or migration.purchase_request_id is not None:
            enqueue_customer_sync(migration)
    return migration


REFUND_TASK = task_names.REFUND_PURCHASE


def migration_refund(
    *, migration: Migration, actor: Any, ip_address: str | None = None
) -> Migration:
    """Have a worker cancel a stopped migration's purchase for a refund.

    Raise MigrationNotAllowed unless the migration was cancelled or failed after
    buying new-commerce subscriptions that are still inside their window.
    """
    targets = refundable_targets(migration)
    if not targets:
        raise MigrationNotAllowed(
            "Nothing this migration bought can be cancelled for a refund now: it "
            "is still running, bought nothing, or the cancellation window has closed."
        )
    with transaction.atomic():
        migration_audit(
            migration,
            "migration.refund_requested",
            actor,
            ip_address,
            "Asked to cancel the purchase for a refund: "
            + ", ".join(f"{t.name} ({t.new_subscription_id})" for t in targets),
        )
        send_on_commit(REFUND_TASK, migration.pk)
    return migration


def migrations_requeue_due(*, limit: int = 500) -> list[int]:
    """Re-send the worker's message for every migration that has work due.

    Due means: not terminal, and either its lease expired (a worker died), its next
    attempt time has passed, or nobody touched it for a while although it has no
    lease (the message was lost, e.g. a Redis restart). Return the ids re-sent.
    """
    now = timezone.now()
    rows = (
        Migration.objects.due(now, STALE_AFTER)
        .order_by("next_attempt_at", "updated_at")
        .values_list("pk", flat=True)[:limit]
    )
    sent: list[int] = []
    for pk in list(rows):
        # Touch the row so the next beat tick does not send it again at once.
        touched = Migration.objects.filter(pk=pk).touch_for_resend()
        if touched:
            enqueue_advance(pk)
            sent.append(pk)
    return sent
