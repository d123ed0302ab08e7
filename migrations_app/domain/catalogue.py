"""The SKU catalogue as the engine reads it, and the one definition of "retired".

A subscription is on a retired SKU when a SKU mapping names what it is: by the
catalogue id the mapping is bound to (a legacy offer id, or a modern
`productId:skuId` that a new-commerce subscription's `product:sku:availability`
offer id starts with), or, while a mapping has no id bound, by the offer's name.
Every page and step asks `CatalogueIndex` (or its `retired_q`), so the customer
list's filter, tag and counts agree with the plan and the summaries.
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass, field

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Q, QuerySet

from migrations_app.models import Offer, SkuMapping, SkuMappingTarget, Subscription
from migrations_app.models.catalog import ProductSku, catalogue_key, is_modern_key


@dataclass(frozen=True)
class CatalogueItem:
    """One legacy offer or modern SKU, as the mappings and the plan need it.

    `key` is its catalogue id; `entra_sku_id` the licence its users hold ("" when
    the catalogue does not say).
    """

    key: str
    name: str
    entra_sku_id: str
    is_modern: bool
    is_available_for_purchase: bool
    is_end_of_sale: bool
    is_add_on: bool
    minimum_quantity: int
    maximum_quantity: int
    successor_ids: tuple[str, ...] = ()
    catalog_item_id: str = ""
    terms: tuple[tuple[str, str], ...] = ()

    @classmethod
    def of_offer(cls, offer: Offer) -> CatalogueItem:
        return cls(
            key=offer.offer_id,
            name=offer.name,
            entra_sku_id=offer.product_id,
            is_modern=False,
            is_available_for_purchase=offer.is_available_for_purchase,
            # The legacy catalogue says only whether an offer can be bought now.
            is_end_of_sale=False,
            is_add_on=offer.is_add_on,
            minimum_quantity=offer.minimum_quantity,
            maximum_quantity=offer.maximum_quantity,
            successor_ids=tuple(str(s) for s in offer.successor_ids or ()),
        )

    @classmethod
    def of_sku(cls, sku: ProductSku) -> CatalogueItem:
        return cls(
            key=sku.key,
            name=sku.title,
            entra_sku_id=sku.entra_sku_id,
            is_modern=True,
            is_available_for_purchase=sku.is_purchasable and not sku.is_end_of_sale,
            is_end_of_sale=sku.is_end_of_sale,
            is_add_on=sku.is_add_on,
            minimum_quantity=sku.minimum_quantity,
            maximum_quantity=sku.maximum_quantity,
            successor_ids=tuple(str(s) for s in sku.successor_ids or ()),
            catalog_item_id=sku.catalog_item_id,
            terms=tuple((str(t[0]), str(t[1])) for t in sku.terms or () if len(t) == 2),
        )

    @property
    def offer_id(self) -> str:
        """Return the catalogue id (the name the mapping forms use)."""
        return self.key

    @property
    def commerce(self) -> str:
        return "new commerce" if self.is_modern else "legacy"


@dataclass
class CatalogueIndex:
    """Mappings with their catalogue rows, looked up by catalogue id or name."""

    mappings: list[SkuMapping]
    offers_by_id: dict[str, Offer] = field(default_factory=dict)
    offers_by_name: dict[str, Offer] = field(default_factory=dict)
    skus_by_key: dict[str, ProductSku] = field(default_factory=dict)
    skus_by_name: dict[str, ProductSku] = field(default_factory=dict)
    by_offer_id: dict[str, SkuMapping] = field(default_factory=dict)
    by_name: dict[str, SkuMapping] = field(default_factory=dict)
    # The modern SKUs are read on first use: the list's filter and counts need
    # only the mappings' ids, and keep their query count.
    sku_rows: QuerySet[ProductSku] | None = None
    country: str = ""

    def _load_skus(self) -> None:
        if self.sku_rows is None:
            return
        rows, self.sku_rows = self.sku_rows, None
        for sku in sorted(rows, key=lambda s: (s.country == self.country, s.pk)):
            self.skus_by_key[sku.key] = sku
            self.skus_by_name[sku.title] = sku

    def offer(self, offer_id: str, name: str = "") -> Offer | None:
        """Return the synced legacy offer bound by id, else the one named `name`."""
        if offer_id:
            return self.offers_by_id.get(catalogue_key(offer_id))
        if name:
            return self.offers_by_name.get(name)
        return None

    def item(self, catalogue_id: str, name: str = "") -> CatalogueItem | None:
        """Return the legacy offer or modern SKU bound by id, else named `name`.

        A new-commerce `product:sku:availability` id finds its SKU.
        """
        self._load_skus()
        key = catalogue_key(catalogue_id)
        if key:
            if is_modern_key(key):
                sku = self.skus_by_key.get(key)
                return CatalogueItem.of_sku(sku) if sku is not None else None
            offer = self.offers_by_id.get(key)
            return CatalogueItem.of_offer(offer) if offer is not None else None
        if name:
            offer = self.offers_by_name.get(name)
            if offer is not None:
                return CatalogueItem.of_offer(offer)
            sku = self.skus_by_name.get(name)
            if sku is not None:
                return CatalogueItem.of_sku(sku)
        return None

    def items(self) -> list[CatalogueItem]:
        """Return every loaded legacy offer and modern SKU, by name."""
        self._load_skus()
        found = [CatalogueItem.of_offer(o) for o in self.offers_by_id.values()]
        found += [CatalogueItem.of_sku(s) for s in self.skus_by_key.values()]
        return sorted(found, key=lambda i: (i.name.lower(), i.key))

    def mapping_for(self, offer_id: str, offer_name: str) -> SkuMapping | None:
        """Return the mapping whose retired SKU this offer is, or None.

        `offer_id` may be a legacy offer id or a new-commerce
        `product:sku:availability`; either finds a mapping bound to it.
        """
        found = self.by_offer_id.get(catalogue_key(offer_id))
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
        """Return the catalogue ids of every retired SKU (bound, and found by name)."""
        return sorted(self.by_offer_id)

    def retired_q(self, prefix: str = "") -> Q:
        """Return the filter on subscriptions (under `prefix`) on a retired SKU."""
        ids = self.retired_offer_ids()
        legacy = [i for i in ids if not is_modern_key(i)]
        names = self.unbound_names
        condition = Q(pk__in=[])
        if legacy:
            condition |= Q(**{f"{prefix}offer_id__in": legacy})
        for key in ids:
            if is_modern_key(key):
                product, sku = key.split(":", 1)
                condition |= Q(
                    **{f"{prefix}product_id": product, f"{prefix}sku_id": sku}
                )
        if names:
            condition |= Q(**{f"{prefix}offer_name__in": names})
        return condition

    def retired_sku_ids(self) -> frozenset[str]:
        """Return the Entra skuIds that licences of retired SKUs carry."""
        skus = set()
        for key in self.by_offer_id:
            item = self.item(key)
            if item is not None and item.entra_sku_id:
                skus.add(item.entra_sku_id)
        for name in self.unbound_names:
            offer = self.offers_by_name.get(name)
            if offer is not None and offer.product_id:
                skus.add(offer.product_id)
        return frozenset(skus)

    def target_item(self, target: SkuMappingTarget) -> CatalogueItem | None:
        """Return the catalogue row a mapping target is bound to (or named)."""
        return self.item(target.target_offer_id, target.target_name)

    def target_problem(self, target: SkuMappingTarget) -> str:
        """Return why a target cannot be bought as it stands, in plain words, or "".

        A target that is itself retired (end of sale in the catalogue, or the
        retired SKU of another mapping) is flagged, so its mapping can be changed
        before customers are moved to a SKU that has to be moved again.
        """
        item = self.target_item(target)
        if item is None:
            return "not in the synced catalogue"
        other = self.by_offer_id.get(item.key)
        if other is not None:
            return f"itself retired (see {other.retired_name})"
        if item.is_end_of_sale:
            return "itself retired: end of sale in the catalogue"
        if not item.is_available_for_purchase:
            return "not available for purchase"
        return ""


def catalogue_index(*, all_offers: bool = False) -> CatalogueIndex:
    """Return every mapping (targets prefetched) with the synced catalogue indexed.

    Only the offers and SKUs the mappings name are loaded, unless `all_offers`
    (the edit page picks from the whole catalogue). When a row was synced for
    several markets, the configured country's copy wins.
    """
    mappings = list(SkuMapping.objects.prefetch_related("targets"))
    country = settings.PARTNER_CENTER_COUNTRY
    rows = Offer.objects.all()
    sku_rows = ProductSku.objects.all()
    if not all_offers:
        ids: set[str] = set()
        names: set[str] = set()
        for mapping in mappings:
            ids.add(catalogue_key(mapping.retired_offer_id))
            names.add(mapping.retired_name)
            for target in mapping.targets.all():
                ids.add(catalogue_key(target.target_offer_id))
                names.add(target.target_name)
        ids.discard("")
        rows = rows.filter(Q(offer_id__in=ids) | Q(name__in=names))
        sku_rows = sku_rows.filter(
            Q(key__in=[i for i in ids if is_modern_key(i)]) | Q(title__in=names)
        )
    offers = sorted(rows, key=lambda o: (o.country == country, o.pk))
    index = CatalogueIndex(mappings=mappings, sku_rows=sku_rows, country=country)
    for offer in offers:
        index.offers_by_id[offer.offer_id] = offer
        index.offers_by_name[offer.name] = offer
    for mapping in mappings:
        if mapping.retired_offer_id:
            index.by_offer_id[catalogue_key(mapping.retired_offer_id)] = mapping
        else:
            named = index.offers_by_name.get(mapping.retired_name)
            if named is not None:
                index.by_offer_id.setdefault(named.offer_id, mapping)
        index.by_name[mapping.retired_name] = mapping
    return index


# ---------------------------------------------------------------- one copy per process

# A stamp in the shared cache that changes whenever the catalogue or its mappings
# do; each process keeps the index it built under the stamp it read.
CATALOGUE_VERSION_KEY = "catalogue:version"
# However the stamp fares (a write that forgot to announce itself), a process
# reads the catalogue again at least this often.
CATALOGUE_MAX_AGE_SECONDS = 60.0

_shared_lock = threading.Lock()
_shared: tuple[str, float, CatalogueIndex] | None = None


def catalogue_changed() -> None:
    """Announce that the catalogue or its mappings changed, to every process.

    At once (this process and this transaction see it) and again on commit, so a
    process that read the old rows in between does not keep them.
    """

    def bump() -> None:
        cache.set(CATALOGUE_VERSION_KEY, uuid.uuid4().hex, None)

    bump()
    transaction.on_commit(bump)


def _catalogue_version() -> str:
    version = cache.get(CATALOGUE_VERSION_KEY)
    if version is None:
        # Lost (a Redis restart) or never set: start a new one.
        cache.add(CATALOGUE_VERSION_KEY, uuid.uuid4().hex, None)
        version = cache.get(CATALOGUE_VERSION_KEY)
    return str(version or "")


def catalogue_index_shared() -> CatalogueIndex:
    """Return the catalogue index this process keeps while the catalogue is unchanged.

    For reads only (the pages and their polls): the index and its mappings are
    shared between requests and must not be changed. One cache read when the
    catalogue has not changed; the queries of `catalogue_index()` when it has.
    """
    global _shared
    version = _catalogue_version()
    now = time.monotonic()
    held = _shared
    if (
        held is not None
        and version
        and held[0] == version
        and now - held[1] < CATALOGUE_MAX_AGE_SECONDS
    ):
        return held[2]
    index = catalogue_index()
    index._load_skus()
    with _shared_lock:
        _shared = (version, now, index)
    return index
