"""Keep the customer list's facts true with the catalogue's definition of retired.

The sync calls `customer_facts_update` after writing a customer's rows, the
engine when a migration ends; the sync calls `customer_facts_catalogue_changed`
after writing the catalogue in bulk. Rows saved or deleted one at a time (the
mapping forms, the admin, a step's own write) and migrations the engine
completes do the same through the receivers below, connected in
`migrations_app.signals`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from migrations_app.domain.catalogue import (
    catalogue_changed,
    catalogue_index,
    catalogue_index_shared,
)
from migrations_app.models import (
    CustomerUser,
    Migration,
    Subscription,
)
from migrations_app.models.customer_facts import (
    customer_facts_refresh,
    customer_retired_counts_refresh,
)


def customer_facts_update(*, customer_ids: Iterable[int] | None = None) -> int:
    """Recompute the facts of these customers (every one if None); return rows."""
    return customer_facts_refresh(
        retired=catalogue_index_shared().retired_q(), customer_ids=customer_ids
    )


def customer_facts_catalogue_changed() -> int:
    """Announce a catalogue or mapping change and recount every customer's
    retired subscriptions; return how many customers' counts changed."""
    catalogue_changed()
    return customer_retired_counts_refresh(retired=catalogue_index().retired_q())


def customer_rows_saved(instance: Subscription | CustomerUser, **kwargs: Any) -> None:
    """Receive a subscription or user saved on its own: recompute its customer."""
    customer_facts_update(customer_ids=[instance.customer_id])


def migration_completed(migration: Migration, **kwargs: Any) -> None:
    """Receive the engine's completed migration: recompute its customer."""
    customer_facts_update(customer_ids=[migration.customer_id])


def mapping_changed(**kwargs: Any) -> None:
    """Receive a mapping saved or deleted: what is retired may have changed."""
    customer_facts_catalogue_changed()


def catalogue_row_changed(**kwargs: Any) -> None:
    """Receive a catalogue row or target saved: the shared index is stale."""
    catalogue_changed()


# The migration whose application asks for the facts of the customers already
# stored (a database from before 0018 had none).
FACTS_FILL_MIGRATION = ("migrations_app", "0021_customer_facts_fill")


def facts_fill_after_migrate(plan: Any = None, **kwargs: Any) -> int:
    """Receive `post_migrate`: fill every customer's facts if 0021 was just applied.

    Done here, after the whole plan ran, rather than inside 0021: the app's own
    definition of "retired" expects today's schema, and a migration must not
    import app code that changes after it. Return how many customers it touched.
    """
    applied = {
        (migration.app_label, migration.name)
        for migration, backwards in plan or []
        if not backwards
    }
    if FACTS_FILL_MIGRATION not in applied:
        return 0
    return customer_facts_update()
