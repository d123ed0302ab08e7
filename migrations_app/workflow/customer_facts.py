"""Keep the customer list's facts true with the catalogue's definition of retired.

The sync calls `customer_facts_update` after writing a customer's rows, the
engine when a migration ends; the sync calls `customer_facts_catalogue_changed`
after writing the catalogue in bulk. Rows saved or deleted one at a time (the
mapping forms, the admin, a step's own write) do the same through the signals
below.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models.signals import post_delete, post_save

from migrations_app.models import (
    CustomerUser,
    Offer,
    SkuMapping,
    SkuMappingTarget,
    Subscription,
)
from migrations_app.models.catalog import ProductSku
from migrations_app.models.customer_facts import (
    customer_facts_refresh,
    customer_retired_counts_refresh,
)
from migrations_app.workflow.catalogue import (
    catalogue_changed,
    catalogue_index,
    catalogue_index_shared,
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


def _customer_rows_saved(instance: Subscription | CustomerUser, **kwargs: Any) -> None:
    customer_facts_update(customer_ids=[instance.customer_id])


def _mapping_changed(**kwargs: Any) -> None:
    customer_facts_catalogue_changed()


def _catalogue_row_changed(**kwargs: Any) -> None:
    catalogue_changed()


# Saves only: a deletion comes from the sync (which refreshes after it) or a
# customer's own deletion, and a delete receiver would make every bulk delete of
# subscriptions load its rows.
for _rows in (Subscription, CustomerUser):
    post_save.connect(
        _customer_rows_saved,
        sender=_rows,
        dispatch_uid=f"customer-facts-{_rows.__name__}",
    )
# A mapping decides what is retired; the catalogue's rows and the targets only
# change what the shared index holds. The sync writes offers and SKUs in bulk and
# announces that itself, so their deletions get no receiver here: one would make
# every bulk delete of stale offers load them and signal once per row.
post_save.connect(
    _mapping_changed, sender=SkuMapping, dispatch_uid="facts-mapping-saved"
)
post_delete.connect(
    _mapping_changed, sender=SkuMapping, dispatch_uid="facts-mapping-deleted"
)
post_delete.connect(
    _catalogue_row_changed,
    sender=SkuMappingTarget,
    dispatch_uid="catalogue-target-deleted",
)
for _model in (SkuMappingTarget, Offer, ProductSku):
    post_save.connect(
        _catalogue_row_changed,
        sender=_model,
        dispatch_uid=f"catalogue-saved-{_model.__name__}",
    )
