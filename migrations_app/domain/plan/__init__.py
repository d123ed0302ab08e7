"""The plan: every retired-SKU subscription of a customer and how it would move.

Nothing here calls Partner Center; the plan reads synced rows. The plan page shows
it, and Start validates the operator's choices against it.
"""

from migrations_app.domain.plan.build import (
    MIGRATABLE_STATUSES,
    migration_plan,
    migration_plans,
    reusable_purchases,
)
from migrations_app.domain.plan.choices import (
    COMMON_TERMS,
    TERM_WORDS,
    TargetChoice,
    term_text,
)
from migrations_app.domain.plan.items import (
    ALREADY_SUSPENDED,
    Plan,
    PlanItem,
    SkippedSubscription,
    gdap_problem,
    reuse_text,
)

__all__ = [
    "ALREADY_SUSPENDED",
    "COMMON_TERMS",
    "MIGRATABLE_STATUSES",
    "TERM_WORDS",
    "Plan",
    "PlanItem",
    "SkippedSubscription",
    "TargetChoice",
    "gdap_problem",
    "migration_plan",
    "migration_plans",
    "reusable_purchases",
    "reuse_text",
    "term_text",
]
