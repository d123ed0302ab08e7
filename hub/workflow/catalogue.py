"""The SKU catalogue as the engine reads it, and the one definition of "retired".

A subscription is on a retired SKU when a SKU mapping names its offer: by the
offer id the mapping is bound to, or, while a mapping has no offer bound, by the
offer's name. Every page and step asks `CatalogueIndex` (or its `retired_q`), so
the customer list's filter, tag and counts agree with the plan and the summaries.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Q

from hub.models import Offer, SkuMapping, Subscription, normalise_offer_id


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
            return self.offers_by_id.get(normalise_offer_id(offer_id))
        if name:
            return self.offers_by_name.get(name)
        return None

    def mapping_for(self, offer_id: str, offer_name: str) -> SkuMapping | None:
        """Return the mapping whose retired SKU this offer is, or None."""
        found = self.by_offer_id.get(normalise_offer_id(offer_id))
        if found is not None:
            return found
        mapping = self.by_name.get(offer_name or "")
        # A name match only counts while the mapping has no offer bound.
        if mapping is not None and not mapping.retired_offer_id:
            return mapping
        return None

    def is_retired(self, subscription: Subscription) -> bool:
        return (
            self.mapping_for(subscription.offer_id, subscription.offer_name) is not None
        )

    @property
    def has_retired(self) -> bool:
        """Return True if any subscription could be on a retired SKU."""
        return bool(self.by_offer_id or self.unbound_names)

    @property
    def unbound_names(self) -> list[str]:
        """Return the retired names of mappings with no offer bound."""
        return sorted(m.retired_name for m in self.mappings if not m.retired_offer_id)

    def retired_offer_ids(self) -> list[str]:
        """Return the ids of every retired offer (bound ones, and found by name)."""
        return sorted(self.by_offer_id)

    def retired_q(self, prefix: str = "") -> Q:
        """Return the filter on subscriptions (under `prefix`) on a retired SKU."""
        ids = self.retired_offer_ids()
        names = self.unbound_names
        condition = Q(pk__in=[])
        if ids:
            condition |= Q(**{f"{prefix}offer_id__in": ids})
        if names:
            condition |= Q(**{f"{prefix}offer_name__in": names})
        return condition

    def retired_sku_ids(self) -> frozenset[str]:
        """Return the Entra skuIds that licences of retired offers carry."""
        skus = set()
        for offer_id in self.by_offer_id:
            offer = self.offers_by_id.get(offer_id)
            if offer is not None and offer.product_id:
                skus.add(offer.product_id)
        for name in self.unbound_names:
            offer = self.offers_by_name.get(name)
            if offer is not None and offer.product_id:
                skus.add(offer.product_id)
        return frozenset(skus)


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
        index.offers_by_id[offer.offer_id] = offer
        index.offers_by_name[offer.name] = offer
    for mapping in mappings:
        if mapping.retired_offer_id:
            index.by_offer_id[mapping.retired_offer_id] = mapping
        else:
            named = index.offers_by_name.get(mapping.retired_name)
            if named is not None:
                index.by_offer_id.setdefault(named.offer_id, mapping)
        index.by_name[mapping.retired_name] = mapping
    return index
