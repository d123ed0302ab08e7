"""Notification tasks: find migration endings, send one notification, the digest."""

from __future__ import annotations

from celery import shared_task

from migrations_app import task_names
from migrations_app.selectors.desk import desk_digest_rows
from migrations_app.services.notifications import (
    DigestLine,
    notification_deliver,
    notification_queue_digest,
    notifications_queue_migration_endings,
    notifications_requeue_due,
)

__all__ = ["deliver_notification", "notify_migration_endings", "send_weekly_digest"]

DIGEST_DAYS = 30


@shared_task(name=task_names.NOTIFY_MIGRATION_ENDINGS, ignore_result=True)
def notify_migration_endings() -> int:
    """Record a notification for each migration that ended since the last look,
    and send again those whose retry is due (beat, every ~30 s); return how many
    were recorded."""
    created = notifications_queue_migration_endings()
    notifications_requeue_due()
    return len(created)


# One email and one webhook post, each with its own timeout (EMAIL_TIMEOUT,
# PARTNERHUB_NOTIFY_WEBHOOK_TIMEOUT_SECONDS): well inside these limits.
@shared_task(
    name=task_names.DELIVER_NOTIFICATION,
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
    soft_time_limit=60,
    time_limit=90,
)
def deliver_notification(notification_id: int) -> str:
    """Send one notification on the channels that have not taken it yet."""
    return notification_deliver(notification_id=notification_id)


@shared_task(name=task_names.SEND_WEEKLY_DIGEST, ignore_result=True)
def send_weekly_digest() -> int | None:
    """Record this week's digest of what renews or expires in the next 30 days
    (beat, Mondays); return its id, or None if this week's was recorded already."""
    lines = [
        DigestLine(
            customer=row.customer.company_name,
            subscription=row.subscription.display_name,
            renews=row.subscription.auto_renew_enabled,
            on=row.when,
            quantity=row.subscription.quantity,
            unused=row.unused,
        )
        for row in desk_digest_rows(days=DIGEST_DAYS)
        if row.when is not None
    ]
    notification = notification_queue_digest(lines=lines, days=DIGEST_DAYS)
    return notification.pk if notification is not None else None
