"""Every Celery task's name, defined once.

The `@shared_task(name=...)` declarations in `migrations_app.tasks`, every sender
(`*_TASK` constants in services, views and the engine) and the beat schedule in
`partnerhub.settings` use these constants, so a sender cannot name a task that
does not exist. A leaf: it imports nothing, so settings may import it before
Django's apps are ready, and every layer may import it (import-linter keeps it
below `models`).
"""

from __future__ import annotations

_PREFIX = "migrations_app.tasks."

MIGRATION_ADVANCE = _PREFIX + "migration_advance"
REQUEUE_DUE_MIGRATIONS = _PREFIX + "requeue_due_migrations"
REFUND_PURCHASE = _PREFIX + "refund_purchase"
SYNC_PARTNER_CENTER = _PREFIX + "sync_partner_center"
SYNC_CUSTOMER = _PREFIX + "sync_customer"
BULK_RUN_EXPAND = _PREFIX + "bulk_run_expand"
START_DUE_SCHEDULES = _PREFIX + "start_due_schedules"
FETCH_INVITATION_LINK = _PREFIX + "fetch_invitation_link"
VERIFY_AUDIT_CHAIN = _PREFIX + "verify_audit_chain"
CLOSE_STALE_PENDING_WRITES = _PREFIX + "close_stale_pending_writes"
NOTIFY_MIGRATION_ENDINGS = _PREFIX + "notify_migration_endings"
DELIVER_NOTIFICATION = _PREFIX + "deliver_notification"
SEND_WEEKLY_DIGEST = _PREFIX + "send_weekly_digest"

ALL: frozenset[str] = frozenset(
    {
        MIGRATION_ADVANCE,
        REQUEUE_DUE_MIGRATIONS,
        REFUND_PURCHASE,
        SYNC_PARTNER_CENTER,
        SYNC_CUSTOMER,
        BULK_RUN_EXPAND,
        START_DUE_SCHEDULES,
        FETCH_INVITATION_LINK,
        VERIFY_AUDIT_CHAIN,
        CLOSE_STALE_PENDING_WRITES,
        NOTIFY_MIGRATION_ENDINGS,
        DELIVER_NOTIFICATION,
        SEND_WEEKLY_DIGEST,
    }
)
