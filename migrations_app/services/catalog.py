"""The retired SKU → target SKU catalogue: create, edit and delete mappings.

A mapping's retired SKU and its targets are catalogue ids: legacy offer ids or
modern `productId:skuId`. Targets come in alternatives: every user gets every
target of the alternative the plan picks (one-to-many, e.g. the Teams
unbundling), and the plan picks one alternative per subscription.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from migrations_app.domain.catalogue import CatalogueIndex, catalogue_index
from migrations_app.models import SkuMapping, SkuMappingTarget
from migrations_app.models.audit import audit_record
from migrations_app.models.catalog import catalogue_key

__all__ = [
    "MappingInvalid",
    "TargetSlot",
    "catalogue_index",
    "sku_mapping_create",
    "sku_mapping_delete",
    "sku_mapping_update",
    "sku_mapping_validate",
]


class MappingInvalid(Exception):
    """Raised when an edit would break the catalogue; `errors` says why."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors


@dataclass(frozen=True)
class TargetSlot:
    """One target as posted: its catalogue id and alternative (0-based, ordered)."""

    catalogue_id: str
    alternative: int


def target_slots(
    target_ids: Sequence[str], alternatives: Sequence[int | None] | None = None
) -> list[TargetSlot]:
    """Return the posted targets as ordered slots, blank ones dropped.

    `alternatives` gives each target's alternative number (any order; None or
    missing: an alternative of its own). Alternatives are renumbered from 0 in
    the order of their numbers, targets without a number after the numbered ones,
    in the order posted.
    """
    numbers = list(alternatives or [])
    posted: list[tuple[str, int | None]] = []
    for n, raw in enumerate(target_ids):
        key = catalogue_key(raw)
        if key:
            posted.append((key, numbers[n] if n < len(numbers) else None))
    explicit = sorted({a for _, a in posted if a is not None})
    rank = {number: i for i, number in enumerate(explicit)}
    slots: list[tuple[int, int, str]] = []
    fresh = len(explicit)
    for order, (key, number) in enumerate(posted):
        if number is None:
            slots.append((fresh, order, key))
            fresh += 1
        else:
            slots.append((rank[number], order, key))
    return [TargetSlot(key, alt) for alt, _, key in sorted(slots)]


def sku_mapping_validate(
    *,
    mapping: SkuMapping | None,
    retired_offer_id: str,
    target_offer_ids: Sequence[str] | Sequence[TargetSlot],
    index: CatalogueIndex | None = None,
    retired_name: str = "",
) -> list[str]:
    """Return the reasons (plain words) this mapping may not be saved; empty if fine.

    Targets must be synced, purchasable, not end of sale, not retired and not
    repeated within an alternative; the retired SKU must not be mapped twice nor
    be another mapping's target. Together these rule out chains and cycles.
    `mapping` is None for a new one.
    """
    index = index or catalogue_index(all_offers=True)
    errors: list[str] = []
    retired_key = catalogue_key(retired_offer_id)
    slots = _as_slots(target_offer_ids)
    this = mapping.pk if mapping is not None else None
    retired = index.item(retired_key) if retired_key else None
    if retired_key and retired is None:
        errors.append("The retired offer is not in the synced offer catalogue.")
    if mapping is None and not retired_key:
        errors.append("Pick the retired SKU.")
    if retired_key:
        other = index.by_offer_id.get(retired_key)
        if other is not None and other.pk != this:
            errors.append(
                f"{retired.name if retired else retired_key} already has a mapping: "
                f"{other.retired_name}."
            )
    name = retired_name.strip()
    if name and any(
        m.retired_name.lower() == name.lower() and m.pk != this for m in index.mappings
    ):
        errors.append(f"Another mapping is already named {name}.")
    if not slots:
        errors.append("Pick at least one target offer.")
    seen = {(s.alternative, s.catalogue_id) for s in slots}
    groups: dict[int, set[str]] = {}
    for s in slots:
        groups.setdefault(s.alternative, set()).add(s.catalogue_id)
    distinct = {frozenset(g) for g in groups.values()}
    if len(seen) != len(slots) or len(distinct) != len(groups):
        errors.append(
            "Each target offer may appear only once in an alternative, and no two "
            "alternatives may be the same."
        )
    errors += _target_errors(slots, retired_key, index, this)
    if retired_key:
        errors += _chain_errors(retired_key, index, this)
    return errors


def _target_errors(
    slots: Sequence[TargetSlot],
    retired_key: str,
    index: CatalogueIndex,
    this: int | None,
) -> list[str]:
    """Return why any of `slots` may not be a target (unknown, retired, not sold)."""
    errors: list[str] = []
    other_retired = {k for k, m in index.by_offer_id.items() if m.pk != this}
    for slot in dict.fromkeys(s.catalogue_id for s in slots):
        item = index.item(slot)
        if item is None:
            errors.append(f"Target {slot} is not in the synced offer catalogue.")
            continue
        if slot == retired_key:
            errors.append(f"{item.name} cannot be a target of itself.")
        elif slot in other_retired:
            errors.append(
                f"{item.name} is itself a retired SKU and cannot be a target."
            )
        elif item.is_modern and item.is_end_of_sale:
            errors.append(
                f"{item.name} is itself retired (end of sale in the catalogue) and "
                "cannot be a target."
            )
        elif not item.is_available_for_purchase:
            errors.append(f"{item.name} is not available for purchase.")
    return errors


def _chain_errors(
    retired_key: str, index: CatalogueIndex, this: int | None
) -> list[str]:
    """Return the other mappings that name the retired SKU as a target.

    No cycles and no chains: a retired SKU may not be anyone's target either.
    """
    errors: list[str] = []
    for other in index.mappings:
        if other.pk == this:
            continue
        for target in other.targets.all():
            item = index.target_item(target)
            key = (
                item.key if item is not None else catalogue_key(target.target_offer_id)
            )
            if key == retired_key:
                errors.append(
                    f"{target.target_name} is a target of {other.retired_name}; "
                    "a retired SKU cannot also be a target."
                )
    return errors


def _as_slots(targets: Sequence[str] | Sequence[TargetSlot]) -> list[TargetSlot]:
    if all(isinstance(t, TargetSlot) for t in targets):
        return [t for t in targets if isinstance(t, TargetSlot)]
    return target_slots([str(t) for t in targets])


def _snapshot(mapping: SkuMapping) -> dict[str, Any]:
    return {
        "product_line": mapping.product_line,
        "retired_name": mapping.retired_name,
        "retired_offer_id": mapping.retired_offer_id,
        "targets": [
            {
                "name": t.target_name,
                "offer_id": t.target_offer_id,
                "alternative": t.alternative,
            }
            for t in mapping.targets.all()
        ],
    }


def _describe(rows: Iterable[SkuMappingTarget]) -> str:
    groups: dict[int, list[str]] = {}
    for row in rows:
        groups.setdefault(row.alternative, []).append(row.target_name)
    return " or ".join(" + ".join(names) for _, names in sorted(groups.items()))


def _write_targets(
    mapping: SkuMapping, slots: list[TargetSlot], index: CatalogueIndex
) -> list[SkuMappingTarget]:
    SkuMappingTarget.objects.filter(mapping=mapping).delete()
    rows = []
    for position, slot in enumerate(slots):
        item = index.item(slot.catalogue_id)
        assert item is not None  # validated before
        rows.append(
            SkuMappingTarget(
                mapping=mapping,
                position=position,
                alternative=slot.alternative,
                target_name=item.name,
                target_offer_id=item.key,
            )
        )
    return SkuMappingTarget.objects.bulk_create(rows)


def sku_mapping_create(
    *,
    product_line: str,
    retired_offer_id: str,
    target_offer_ids: Sequence[str],
    alternatives: Sequence[int | None] | None = None,
    retired_name: str = "",
    actor: Any,
    ip_address: str | None = None,
) -> SkuMapping:
    """Create a mapping of a retired SKU to its targets; audit it.

    `retired_name` defaults to the catalogue's name of the retired SKU. Raise
    MappingInvalid for the reasons `sku_mapping_validate` gives.
    """
    index = catalogue_index(all_offers=True)
    slots = target_slots(target_offer_ids, alternatives)
    errors = sku_mapping_validate(
        mapping=None,
        retired_offer_id=retired_offer_id,
        target_offer_ids=slots,
        index=index,
        retired_name=retired_name,
    )
    retired = index.item(retired_offer_id)
    name = retired_name.strip() or (retired.name if retired else "")
    if not errors and any(
        m.retired_name.lower() == name.lower() for m in index.mappings
    ):
        errors.append(f"Another mapping is already named {name}.")
    if errors:
        raise MappingInvalid(errors)
    assert retired is not None
    with transaction.atomic():
        last = max((m.position for m in index.mappings), default=-1)
        mapping = SkuMapping.objects.create(
            product_line=product_line.strip() or retired.commerce.capitalize(),
            retired_name=name,
            retired_offer_id=retired.key,
            position=last + 1,
        )
        rows = _write_targets(mapping, slots, index)
        audit_record(
            action="sku_mapping.created",
            actor=actor,
            ip_address=ip_address,
            message=f"Created the SKU mapping of {mapping.retired_name}: "
            + _describe(rows),
            details={"mapping_id": mapping.pk, "after": _snapshot(mapping)},
        )
    return mapping


def sku_mapping_update(
    *,
    mapping: SkuMapping,
    retired_offer_id: str,
    target_offer_ids: Iterable[str],
    alternatives: Sequence[int | None] | None = None,
    product_line: str | None = None,
    actor: Any,
    ip_address: str | None = None,
) -> SkuMapping:
    """Save a mapping's retired SKU and targets in their alternatives; audit it.

    Without `alternatives`, each target is an alternative of its own, in order.
    Raise MappingInvalid if a target is unknown, retired, not purchasable,
    repeated, or would close a cycle.
    """
    slots = target_slots(list(target_offer_ids), alternatives)
    index = catalogue_index(all_offers=True)
    errors = sku_mapping_validate(
        mapping=mapping,
        retired_offer_id=retired_offer_id,
        target_offer_ids=slots,
        index=index,
    )
    if errors:
        raise MappingInvalid(errors)
    before = _snapshot(mapping)
    with transaction.atomic():
        mapping = SkuMapping.objects.select_for_update().get(pk=mapping.pk)
        retired = index.item(retired_offer_id)
        mapping.retired_offer_id = retired.key if retired is not None else ""
        if product_line is not None and product_line.strip():
            mapping.product_line = product_line.strip()[:64]
        mapping.save(update_fields=["retired_offer_id", "product_line", "updated_at"])
        rows = _write_targets(mapping, slots, index)
        after = _snapshot(mapping)
        audit_record(
            action="sku_mapping.updated",
            actor=actor,
            ip_address=ip_address,
            message=f"Changed the SKU mapping of {mapping.retired_name}: "
            + _describe(rows),
            details={"mapping_id": mapping.pk, "before": before, "after": after},
        )
    return mapping


def sku_mapping_delete(
    *, mapping: SkuMapping, actor: Any, ip_address: str | None = None
) -> None:
    """Delete a mapping and its targets; audit it.

    Its subscriptions stop counting as retired. Migrations already started keep
    the targets they were started with.
    """
    with transaction.atomic():
        mapping = SkuMapping.objects.select_for_update().get(pk=mapping.pk)
        before = _snapshot(mapping)
        pk, name = mapping.pk, mapping.retired_name
        mapping.delete()
        audit_record(
            action="sku_mapping.deleted",
            actor=actor,
            ip_address=ip_address,
            message=f"Deleted the SKU mapping of {name}.",
            details={"mapping_id": pk, "before": before},
        )
