"""Read queries for bulk runs: the preview, a run's live page, the schedules.

None of them grows its query count with the customers: totals are computed in
SQL over the whole selection, and only one page of customers gets its plan.
"""

from migrations_app.selectors.bulk.preview import (
    PREVIEW_PAGE_SIZE,
    BulkPreview,
    BulkTotals,
    bulk_preview,
    bulk_preview_totals,
)
from migrations_app.selectors.bulk.runs import (
    RUN_PAGE_SIZE,
    STATUS_TONES,
    STATUS_WORDS,
    BulkRow,
    BulkRunPage,
    bulk_run_page,
    bulk_run_stamp,
    bulk_runs_recent,
)
from migrations_app.selectors.bulk.schedules import (
    CustomerScheduling,
    ScheduledSummary,
    customer_scheduling,
    schedule_list,
    schedule_summary,
)

__all__ = [
    "PREVIEW_PAGE_SIZE",
    "RUN_PAGE_SIZE",
    "STATUS_TONES",
    "STATUS_WORDS",
    "BulkPreview",
    "BulkRow",
    "BulkRunPage",
    "BulkTotals",
    "CustomerScheduling",
    "ScheduledSummary",
    "bulk_preview",
    "bulk_preview_totals",
    "bulk_run_page",
    "bulk_run_stamp",
    "bulk_runs_recent",
    "customer_scheduling",
    "schedule_list",
    "schedule_summary",
]
