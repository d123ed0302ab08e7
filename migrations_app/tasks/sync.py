"""sync tasks."""

from __future__ import annotations

import logging

from celery import shared_task
from django.contrib.auth.models import User

from migrations_app.services.sync import SyncAlreadyRunning, sync_run_exclusive

__all__ = ["sync_partner_center"]

logger = logging.getLogger(__name__)

# The run stops taking new customers this long before Celery's soft limit, so a
# throttled or very large sync ends cleanly and the next run carries on. Both
# limits stay well below the broker's visibility_timeout (one hour), so a long
# run is never delivered twice.
SYNC_SOFT_TIME_LIMIT = 1800
SYNC_TIME_LIMIT = 1900
SYNC_TIME_BUDGET = SYNC_SOFT_TIME_LIMIT - 240
# The lock outlives the hard limit, so a killed run's lock frees itself.
SYNC_LOCK_SECONDS = SYNC_TIME_LIMIT + 60


@shared_task(
    name="migrations_app.tasks.sync_partner_center",
    soft_time_limit=SYNC_SOFT_TIME_LIMIT,
    time_limit=SYNC_TIME_LIMIT,
)
def sync_partner_center(requested_by_id: int | None = None) -> int | None:
    """Sync every customer from Partner Center; return the SyncRun id.

    Return None without doing anything when another sync is already running.
    """
    requested_by = (
        User.objects.filter(pk=requested_by_id).first() if requested_by_id else None
    )
    try:
        run = sync_run_exclusive(
            requested_by=requested_by,
            time_budget=SYNC_TIME_BUDGET,
            lock_seconds=SYNC_LOCK_SECONDS,
        )
    except SyncAlreadyRunning:
        logger.info("Sync skipped: another sync is already running")
        return None
    return run.pk
