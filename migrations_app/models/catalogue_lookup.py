"""Which licence a catalogue item grants, read from the synced catalogue rows."""

from __future__ import annotations

from django.db import models

from migrations_app.models.catalog import (
    ProductSku,
    SkuMapping,
    catalogue_key,
    is_modern_key,
)
from migrations_app.models.partner import Offer


def entra_sku_id_of(catalogue_id: str, name: str = "", *, country: str) -> str:
    """Return the licence (Entra skuId) the synced catalogue says an item grants.

    The item is a legacy offer or a modern SKU bound by catalogue id, else named
    `name`, and only one a SKU mapping names (its retired SKU or a target), as the
    catalogue index loads them: for anything else, what Partner Center says the
    subscription grants is the only word. Where the item was synced for several
    markets, `country`'s copy wins. Return "" when the catalogue does not say.
    """
    key = catalogue_key(catalogue_id)
    if not _named_by_a_mapping(key, name):
        return ""
    if key and is_modern_key(key):
        return _sku_licence(ProductSku.objects.filter(key=key), country)
    if key:
        return _offer_licence(Offer.objects.filter(offer_id=key), country)
    if name:
        return _offer_licence(Offer.objects.filter(name=name), country) or _sku_licence(
            ProductSku.objects.filter(title=name), country
        )
    return ""


def _named_by_a_mapping(key: str, name: str) -> bool:
    ids: set[str] = set()
    names: set[str] = set()
    for mapping in SkuMapping.objects.prefetch_related("targets"):
        ids.add(catalogue_key(mapping.retired_offer_id))
        names.add(mapping.retired_name)
        for target in mapping.targets.all():
            ids.add(catalogue_key(target.target_offer_id))
            names.add(target.target_name)
    ids.discard("")
    return (bool(key) and key in ids) or (bool(name) and name in names)


def _offer_licence(rows: models.QuerySet[Offer], country: str) -> str:
    found = sorted(rows, key=lambda o: (o.country == country, o.pk))
    return found[-1].product_id if found else ""


def _sku_licence(rows: models.QuerySet[ProductSku], country: str) -> str:
    found = sorted(rows, key=lambda s: (s.country == country, s.pk))
    return found[-1].entra_sku_id if found else ""
