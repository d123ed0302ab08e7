"""Reads for the SKU mapping pages: each mapping with its flags, and suggestions."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Count

from migrations_app.domain.catalogue import CatalogueIndex, CatalogueItem
from migrations_app.models import SkuMapping, SkuMappingTarget, Subscription
from migrations_app.models.catalog import catalogue_key, is_modern_key

# Statuses whose subscriptions still hold licences worth moving.
HELD_STATUSES = ("active", "suspended")


@dataclass
class TargetRow:
    target: SkuMappingTarget
    item: CatalogueItem | None
    problem: str


@dataclass
class MappingRow:
    """A mapping as the list shows it: alternatives of targets, each flagged."""

    mapping: SkuMapping
    retired: CatalogueItem | None
    alternatives: list[list[TargetRow]]

    @property
    def matched_by_name(self) -> bool:
        return self.retired is not None and not self.mapping.retired_offer_id


@dataclass
class Suggestion:
    """A SKU the catalogue says is retired, no mapping covers, and its successors."""

    retired: CatalogueItem
    successors: list[CatalogueItem] = field(default_factory=list)
    held: int = 0


def sku_mapping_rows(*, index: CatalogueIndex) -> list[MappingRow]:
    """Return every mapping with its retired SKU and flagged targets, in order."""
    rows = []
    for mapping in index.mappings:
        retired = index.item(mapping.retired_offer_id, mapping.retired_name)
        alternatives = [
            [TargetRow(t, index.target_item(t), index.target_problem(t)) for t in group]
            for group in mapping.alternatives()
        ]
        rows.append(MappingRow(mapping, retired, alternatives))
    return rows


def sku_mapping_suggestions(*, index: CatalogueIndex) -> list[Suggestion]:
    """Return mappings the synced catalogue suggests, most subscriptions first.

    A modern SKU flagged end of sale, or a legacy offer no longer sold that names
    upgrade or conversion targets, is suggested when no mapping covers it and it
    is no mapping's target; its purchasable successors become the suggested
    targets (each its own alternative). Two queries.
    """
    targets = {
        catalogue_key(t.target_offer_id)
        for m in index.mappings
        for t in m.targets.all()
    }
    candidates = [
        item
        for item in index.items()
        if item.key not in index.by_offer_id
        and item.key not in targets
        and (item.is_end_of_sale if item.is_modern else bool(item.successor_ids))
        and not item.is_available_for_purchase
    ]
    if not candidates:
        return []
    modern = [c.key for c in candidates if is_modern_key(c.key)]
    legacy = [c.key for c in candidates if not is_modern_key(c.key)]
    held: dict[str, int] = {}
    live = Subscription.objects.filter(status__in=HELD_STATUSES)
    if modern:
        products = {k.split(":")[0] for k in modern}
        for product, sku, count in (
            live.filter(product_id__in=products)
            .values_list("product_id", "sku_id")
            .annotate(n=Count("id"))
        ):
            held[f"{product}:{sku}"] = count
    if legacy:
        for offer_id, count in (
            live.filter(offer_id__in=legacy)
            .values_list("offer_id")
            .annotate(n=Count("id"))
        ):
            held[offer_id] = count
    found = []
    for item in candidates:
        successors = []
        for key in item.successor_ids:
            successor = index.item(key)
            if successor is not None and successor.is_available_for_purchase:
                successors.append(successor)
        found.append(Suggestion(item, successors, held.get(item.key, 0)))
    return sorted(found, key=lambda s: (-s.held, s.retired.name.lower()))
