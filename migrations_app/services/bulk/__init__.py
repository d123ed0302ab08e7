"""Bulk runs and scheduled starts: create them, expand them, start what is due.

Nothing here calls Partner Center. Creating a bulk run writes its rows and sends
one message; the worker then starts (or schedules) each customer with the same
`migration_start` as the plan page, one customer per transaction, so a customer
that cannot start never stops the others. Beat starts due schedules every minute,
claiming each with a conditional UPDATE inside the transaction that starts it.
"""

from migrations_app.services.bulk.options import (
    MAX_DAYS_BEFORE,
    BulkNotAllowed,
    BulkOptions,
)
from migrations_app.services.bulk.runs import (
    EXPAND_CHUNK,
    EXPAND_LEASE,
    EXPAND_PATIENCE,
    EXPAND_TASK,
    bulk_run_create,
    bulk_run_expand,
    bulk_runs_resend_waiting,
)
from migrations_app.services.bulk.schedules import (
    DUE_LIMIT,
    schedule_cancel,
    schedule_reschedule,
    schedules_start_due,
)

__all__ = [
    "DUE_LIMIT",
    "EXPAND_CHUNK",
    "EXPAND_LEASE",
    "EXPAND_PATIENCE",
    "EXPAND_TASK",
    "MAX_DAYS_BEFORE",
    "BulkNotAllowed",
    "BulkOptions",
    "bulk_run_create",
    "bulk_run_expand",
    "bulk_runs_resend_waiting",
    "schedule_cancel",
    "schedule_reschedule",
    "schedules_start_due",
]
