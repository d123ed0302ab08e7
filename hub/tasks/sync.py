"""sync tasks."""

from __future__ import annotations

import logging

from celery import Task, shared_task
from django.contrib.auth.models import User

from hub.models import Customer
from hub.services.sync import (
    SYNC_LOCK_SECONDS,
    SYNC_SOFT_TIME_LIMIT,
    SYNC_TIME_LIMIT,
    SyncAlreadyRunning,
    sync_customer_refresh,
    sync_run_exclusive,
)
from partner_center.errors import Throttled

__all__ = ["sync_customer", "sync_partner_center"]

logger = logging.getLogger(__name__)

SYNC_TIME_BUDGET = SYNC_SOFT_TIME_LIMIT - 240

# One customer's refresh: a handful of reads, well inside these limits. Its lock
# outlives the hard limit too. A throttled or busy refresh tries again later with a
# countdown far below the visibility_timeout, a few times, then gives up: the next
# full sync reads the customer anyway.
CUSTOMER_SYNC_SOFT_TIME_LIMIT = 300
CUSTOMER_SYNC_TIME_LIMIT = 360
CUSTOMER_SYNC_LOCK_SECONDS = CUSTOMER_SYNC_TIME_LIMIT + 60
CUSTOMER_SYNC_MAX_RETRIES = 5
CUSTOMER_SYNC_BUSY_RETRY_SECONDS = 20.0
CUSTOMER_SYNC_MAX_COUNTDOWN_SECONDS = 300.0


@shared_task(
    name="hub.tasks.sync_partner_center",
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


@shared_task(
    name="hub.tasks.sync_customer",
    bind=True,
    max_retries=CUSTOMER_SYNC_MAX_RETRIES,
    soft_time_limit=CUSTOMER_SYNC_SOFT_TIME_LIMIT,
    time_limit=CUSTOMER_SYNC_TIME_LIMIT,
    ignore_result=True,
)
def sync_customer(self: Task, customer_id: int, migration_id: int | None = None) -> str:
    """Re-read one customer from Partner Center (its migration just ended).

    Return "synced", "failed" (the customer shows a sync error), "busy" (another
    refresh of it kept running) or "gone" (no such customer any more).
    """
    customer = Customer.objects.filter(pk=customer_id).first()
    if customer is None:
        return "gone"
    final = self.request.retries >= CUSTOMER_SYNC_MAX_RETRIES
    try:
        result = sync_customer_refresh(
            customer=customer,
            migration_id=migration_id,
            final_attempt=final,
            lock_seconds=CUSTOMER_SYNC_LOCK_SECONDS,
        )
    except SyncAlreadyRunning:
        if final:
            logger.info("Sync of customer %s skipped: still busy", customer_id)
            return "busy"
        raise self.retry(countdown=CUSTOMER_SYNC_BUSY_RETRY_SECONDS) from None
    except Throttled as exc:
        countdown = min(max(1.0, exc.retry_after), CUSTOMER_SYNC_MAX_COUNTDOWN_SECONDS)
        raise self.retry(countdown=countdown) from None
    return "synced" if result.ok else "failed"
