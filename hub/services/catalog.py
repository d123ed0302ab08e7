"""The retired SKU → target SKU catalogue: resolve, bind and edit mappings."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.db import transaction

from hub.models import SkuMapping, SkuMappingTarget, normalise_offer_id
from hub.models.audit import audit_record
from hub.workflow.catalogue import CatalogueIndex, catalogue_index


class MappingInvalid(Exception):
    """Raised when an edit would break the catalogue; `errors` says why."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors


def _retired_offer_ids(index: CatalogueIndex, exclude: SkuMapping) -> set[str]:
    ids: set[str] = set()
    for mapping in index.mappings:
        if mapping.pk == exclude.pk:
            continue
        offer = index.offer(mapping.retired_offer_id, mapping.retired_name)
        if mapping.retired_offer_id:
            ids.add(mapping.retired_offer_id)
        if offer is not None:
            ids.add(offer.offer_id)
    return ids


def sku_mapping_validate(
    *,
    mapping: SkuMapping,
    retired_offer_id: str,
    target_offer_ids: Sequence[str],
    index: CatalogueIndex | None = None,
) -> list[str]:
    """Return the reasons (plain words) this edit may not be saved; empty if fine.

    Targets must be synced, purchasable, distinct and not retired; the retired offer
    must not be another mapping's target. Together these rule out cycles.
    """
    index = index or catalogue_index(all_offers=True)
    errors: list[str] = []
    retired_offer_id = normalise_offer_id(retired_offer_id)
    targets = [normalise_offer_id(t) for t in target_offer_ids if t and t.strip()]
    if retired_offer_id and index.offer(retired_offer_id) is None:
        errors.append("The retired offer is not in the synced offer catalogue.")
    if not targets:
        errors.append("Pick at least one target offer.")
    if len(set(targets)) != len(targets):
        errors.append("Each target offer may appear only once.")
    other_retired = _retired_offer_ids(index, exclude=mapping)
    for offer_id in targets:
        offer = index.offer(offer_id)
        if offer is None:
            errors.append(f"Target {offer_id} is not in the synced offer catalogue.")
            continue
        if offer_id == retired_offer_id:
            errors.append(f"{offer.name} cannot be a target of itself.")
        elif offer_id in other_retired:
            errors.append(
                f"{offer.name} is itself a retired SKU and cannot be a target."
            )
        elif not offer.is_available_for_purchase:
            errors.append(f"{offer.name} is not available for purchase.")
    # No cycles and no chains: a retired SKU may not be anyone's target either.
    if retired_offer_id:
        for other in index.mappings:
            if other.pk == mapping.pk:
                continue
            for target in other.targets.all():
                offer = index.offer(target.target_offer_id, target.target_name)
                if offer is not None and offer.offer_id == retired_offer_id:
                    errors.append(
                        f"{offer.name} is a target of {other.retired_name}; a retired "
                        "SKU cannot also be a target."
                    )
    return errors


def sku_mapping_update(
    *,
    mapping: SkuMapping,
    retired_offer_id: str,
    target_offer_ids: Iterable[str],
    actor: Any,
    ip_address: str | None = None,
) -> SkuMapping:
    """Save a mapping's retired offer and ordered targets; audit the change.

    Raise MappingInvalid if a target is unknown, retired, not purchasable,
    repeated, or would close a cycle.
    """
    targets = [normalise_offer_id(t) for t in target_offer_ids if t and t.strip()]
    index = catalogue_index(all_offers=True)
    errors = sku_mapping_validate(
        mapping=mapping,
        retired_offer_id=retired_offer_id,
        target_offer_ids=targets,
        index=index,
    )
    if errors:
        raise MappingInvalid(errors)
    before = {
        "retired_offer_id": mapping.retired_offer_id,
        "targets": [
            {"name": t.target_name, "offer_id": t.target_offer_id}
            for t in mapping.targets.all()
        ],
    }
    with transaction.atomic():
        mapping = SkuMapping.objects.select_for_update().get(pk=mapping.pk)
        mapping.retired_offer_id = normalise_offer_id(retired_offer_id)
        mapping.save(update_fields=["retired_offer_id", "updated_at"])
        SkuMappingTarget.objects.filter(mapping=mapping).delete()
        rows = []
        for position, offer_id in enumerate(targets):
            offer = index.offer(offer_id)
            assert offer is not None  # validated above
            rows.append(
                SkuMappingTarget(
                    mapping=mapping,
                    position=position,
                    target_name=offer.name,
                    target_offer_id=offer.offer_id,
                )
            )
        SkuMappingTarget.objects.bulk_create(rows)
        after = {
            "retired_offer_id": mapping.retired_offer_id,
            "targets": [
                {"name": r.target_name, "offer_id": r.target_offer_id} for r in rows
            ],
        }
        audit_record(
            action="sku_mapping.updated",
            actor=actor,
            ip_address=ip_address,
            message=f"Changed the SKU mapping of {mapping.retired_name}: "
            + ", ".join(r.target_name for r in rows),
            details={"mapping_id": mapping.pk, "before": before, "after": after},
        )
    return mapping
