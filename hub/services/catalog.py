"""The retired SKU → target SKU catalogue: resolve, bind and edit mappings."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q

from hub.models import Offer, SkuMapping, SkuMappingTarget
from hub.services.audit import audit_record


class MappingInvalid(Exception):
    """Raised when an edit would break the catalogue; `errors` says why."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors


@dataclass
class CatalogueIndex:
    """Mappings with their offers, looked up by retired offer id or name."""

    mappings: list[SkuMapping]
    offers_by_id: dict[str, Offer] = field(default_factory=dict)
    offers_by_name: dict[str, Offer] = field(default_factory=dict)
    by_offer_id: dict[str, SkuMapping] = field(default_factory=dict)
    by_name: dict[str, SkuMapping] = field(default_factory=dict)

    def offer(self, offer_id: str, name: str = "") -> Offer | None:
        """Return the synced offer bound by id, else the one named `name`."""
        if offer_id:
            return self.offers_by_id.get(offer_id.lower())
        if name:
            return self.offers_by_name.get(name)
        return None

    def mapping_for(self, offer_id: str, offer_name: str) -> SkuMapping | None:
        """Return the mapping whose retired SKU this subscription is on, or None."""
        found = self.by_offer_id.get((offer_id or "").lower())
        if found is not None:
            return found
        mapping = self.by_name.get(offer_name or "")
        # A name match only counts while the mapping has no offer bound.
        if mapping is not None and not mapping.retired_offer_id:
            return mapping
        return None

    def retired_offer_ids(self) -> list[str]:
        """Return the ids of every retired offer (bound ones, and found by name)."""
        ids: list[str] = []
        for mapping in self.mappings:
            offer = self.offer(mapping.retired_offer_id, mapping.retired_name)
            if mapping.retired_offer_id:
                ids.append(mapping.retired_offer_id)
            elif offer is not None:
                ids.append(offer.offer_id)
        return ids


def catalogue_index(*, all_offers: bool = False) -> CatalogueIndex:
    """Return every mapping (targets prefetched) with the synced offers indexed.

    Only the offers the mappings name are loaded, unless `all_offers` (the edit
    page picks from the whole catalogue). When an offer was synced for several
    markets, the configured country's copy wins.
    """
    mappings = list(SkuMapping.objects.prefetch_related("targets"))
    country = settings.PARTNER_CENTER_COUNTRY
    rows = Offer.objects.all()
    if not all_offers:
        ids: set[str] = set()
        names: set[str] = set()
        for mapping in mappings:
            ids.add(mapping.retired_offer_id)
            names.add(mapping.retired_name)
            for target in mapping.targets.all():
                ids.add(target.target_offer_id)
                names.add(target.target_name)
        ids.discard("")
        rows = rows.filter(Q(offer_id__in=ids) | Q(name__in=names))
    offers = sorted(rows, key=lambda o: (o.country == country, o.pk))
    index = CatalogueIndex(mappings=mappings)
    for offer in offers:
        index.offers_by_id[offer.offer_id.lower()] = offer
        index.offers_by_name[offer.name] = offer
    for mapping in mappings:
        if mapping.retired_offer_id:
            index.by_offer_id[mapping.retired_offer_id.lower()] = mapping
        else:
            named = index.offers_by_name.get(mapping.retired_name)
            if named is not None:
                index.by_offer_id.setdefault(named.offer_id.lower(), mapping)
        index.by_name[mapping.retired_name] = mapping
    return index


def _retired_offer_ids(index: CatalogueIndex, exclude: SkuMapping) -> set[str]:
    ids: set[str] = set()
    for mapping in index.mappings:
        if mapping.pk == exclude.pk:
            continue
        offer = index.offer(mapping.retired_offer_id, mapping.retired_name)
        if mapping.retired_offer_id:
            ids.add(mapping.retired_offer_id.lower())
        if offer is not None:
            ids.add(offer.offer_id.lower())
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
    retired_offer_id = retired_offer_id.strip()
    targets = [t.strip() for t in target_offer_ids if t and t.strip()]
    if retired_offer_id and index.offer(retired_offer_id) is None:
        errors.append("The retired offer is not in the synced offer catalogue.")
    if not targets:
        errors.append("Pick at least one target offer.")
    lowered = [t.lower() for t in targets]
    if len(set(lowered)) != len(lowered):
        errors.append("Each target offer may appear only once.")
    other_retired = _retired_offer_ids(index, exclude=mapping)
    for offer_id in targets:
        offer = index.offer(offer_id)
        if offer is None:
            errors.append(f"Target {offer_id} is not in the synced offer catalogue.")
            continue
        if offer_id.lower() == retired_offer_id.lower():
            errors.append(f"{offer.name} cannot be a target of itself.")
        elif offer_id.lower() in other_retired:
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
                if (
                    offer is not None
                    and offer.offer_id.lower() == retired_offer_id.lower()
                ):
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
    targets = [t.strip() for t in target_offer_ids if t and t.strip()]
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
        mapping.retired_offer_id = retired_offer_id.strip()
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
