"""Read queries for migration pages: row summaries, panels, cards and the list.

The plan itself is domain (`migrations_app.domain.plan`): import it from there.
"""

from migrations_app.selectors.migrations.pages import (
    RESUMABLE_WAIT,
    SHORT_WAIT,
    STATE_TONES,
    CustomerPanel,
    MigrationCard,
    MigrationSummary,
    poll_query,
    state_tone,
)
from migrations_app.selectors.migrations.queries import (
    MigrationChange,
    customer_ids_of_migrations,
    customer_migration_summaries,
    customer_panel,
    migration_card,
    migration_cards,
    migration_changes,
    migration_list,
    migration_state_counts,
    with_user_counts,
)

__all__ = [
    "RESUMABLE_WAIT",
    "SHORT_WAIT",
    "STATE_TONES",
    "CustomerPanel",
    "MigrationCard",
    "MigrationChange",
    "MigrationSummary",
    "customer_ids_of_migrations",
    "customer_migration_summaries",
    "customer_panel",
    "migration_card",
    "migration_cards",
    "migration_changes",
    "migration_list",
    "migration_state_counts",
    "poll_query",
    "state_tone",
    "with_user_counts",
]
