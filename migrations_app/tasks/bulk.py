"""Bulk run and schedule tasks: thin interfaces over `services.bulk`."""

from __future__ import annotations

import logging

from celery import shared_task

from migrations_app import task_names
from migrations_app.services import bulk

__all__ = ["bulk_run_expand", "start_due_schedules"]

logger = logging.getLogger(__name__)


# Building plans and creating rows only (no Partner Center call): 10,000
# customers take minutes, so the limits are generous but far below the broker's
# visibility timeout. A run cut short is sent again by beat and goes on where
# it stopped: each customer is claimed once.
@shared_task(
    name=task_names.BULK_RUN_EXPAND,
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
    soft_time_limit=1800,
    time_limit=1900,
)
def bulk_run_expand(bulk_run_id: int) -> int:
    """Start or schedule every waiting customer of a bulk run; return how many."""
    return bulk.bulk_run_expand(bulk_run_id=bulk_run_id)


@shared_task(name=task_names.START_DUE_SCHEDULES, ignore_result=True)
def start_due_schedules() -> int:
    """Start the scheduled migrations whose time has come (beat, every minute),
    and send again any bulk run whose message was lost; return how many started."""
    started = bulk.schedules_start_due()
    if started:
        logger.info(
            "Started %d scheduled migration(s): %s",
            len(started),
            ", ".join(str(pk) for pk in started),
        )
    resent = bulk.bulk_runs_resend_waiting()
    if resent:
        logger.info("Sent bulk run(s) again: %s", ", ".join(map(str, resent)))
    return len(started)
