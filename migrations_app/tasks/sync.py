"""sync tasks."""

from __future__ import annotations

import logging

from celery import Task, shared_task
from django.contrib.auth.models import User

from migrations_app import task_names
from migrations_app.models import Customer
from migrations_app.services.sync import (
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
# countdown far below the visibility_timeout until it gets through: the pages must
# not keep showing the customer as it was before its migration.
CUSTOMER_SYNC_SOFT_TIME_LIMIT = 300
CUSTOMER_SYNC_TIME_LIMIT = 360
CUSTOMER_SYNC_LOCK_SECONDS = CUSTOMER_SYNC_TIME_LIMIT + 60
CUSTOMER_SYNC_MAX_RETRIES = 12
CUSTOMER_SYNC_BACKOFF_SECONDS = 2.0
CUSTOMER_SYNC_BUSY_RETRY_SECONDS = 20.0
CUSTOMER_SYNC_MAX_COUNTDOWN_SECONDS = 300.0


@shared_task(
    name=task_names.SYNC_PARTNER_CENTER,
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
    name=task_names.SYNC_CUSTOMER,
    bind=True,
    max_retries=None,
    soft_time_limit=CUSTOMER_SYNC_SOFT_TIME_LIMIT,
    time_limit=CUSTOMER_SYNC_TIME_LIMIT,
    ignore_result=True,
)
def sync_customer(self: Task, customer_id: int, migration_id: int | None = None) -> str:
    """Re-read one customer from Partner Center (its migration just ended).

    Throttling and a refresh already running are waited out, however long they
    last (with backoff, each wait far below the broker's visibility timeout); a
    refresh that failed is tried again up to CUSTOMER_SYNC_MAX_RETRIES times.
    Return "synced", "failed" (the customer shows a sync error) or "gone" (no
    such customer any more).
    """
    customer = Customer.objects.filter(pk=customer_id).first()
    if customer is None:
        return "gone"
    retries = self.request.retries or 0
    try:
        result = sync_customer_refresh(
            customer=customer,
            migration_id=migration_id,
            final_attempt=False,
            lock_seconds=CUSTOMER_SYNC_LOCK_SECONDS,
        )
    except SyncAlreadyRunning:
        raise self.retry(countdown=CUSTOMER_SYNC_BUSY_RETRY_SECONDS) from None
    except Throttled as exc:
        raise self.retry(countdown=_backoff(retries, exc.retry_after)) from None
    if not result.ok and retries < CUSTOMER_SYNC_MAX_RETRIES:
        raise self.retry(countdown=_backoff(retries, 0.0))
    return "synced" if result.ok else "failed"


def _backoff(retries: int, retry_after: float) -> float:
    """Return the wait before refresh attempt `retries + 1`: grows, honours Retry-After."""
    grown = CUSTOMER_SYNC_BACKOFF_SECONDS * 2 ** min(retries, 10)
    return min(max(1.0, retry_after, grown), CUSTOMER_SYNC_MAX_COUNTDOWN_SECONDS)
