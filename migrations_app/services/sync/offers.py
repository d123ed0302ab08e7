"""The offer catalogue, the modern catalogue, and SKU mappings bound to offers."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from migrations_app.models import (
    Offer,
    SkuMapping,
    SkuMappingTarget,
    Subscription,
    normalise_guid,
    normalise_offer_id,
)
from migrations_app.models.catalog import ProductSku, catalogue_key
from migrations_app.services.sync.upsert import column_int, column_text, sync_upsert
from partner_center import models as pc
from partner_center.client import PartnerCenterClient

OFFER_FIELDS = (
    "name",
    "product_id",
    "product_name",
    "is_available_for_purchase",
    "is_add_on",
    "minimum_quantity",
    "maximum_quantity",
    "billing",
    "successor_ids",
)
PRODUCT_SKU_FIELDS = (
    "product_id",
    "sku_id",
    "title",
    "product_title",
    "entra_sku_id",
    "sku_part_number",
    "catalog_item_id",
    "is_purchasable",
    "is_end_of_sale",
    "is_add_on",
    "minimum_quantity",
    "maximum_quantity",
    "terms",
    "successor_ids",
)
# Past this many products in the modern catalogue's listing, only the products
# PartnerHub needs (held, scheduled, mapped, and their successors) have their SKUs
# read: the live catalogue lists thousands, and each needs two more calls.
MODERN_FULL_READ_LIMIT = 300


def sync_offers(*, client: PartnerCenterClient, country: str) -> int:
    """Load the offer catalogue of `country`; return the rows written.

    Offers the catalogue no longer lists are kept, marked not purchasable: a retired
    offer disappearing from the catalogue must not lose the skuId its licences
    carry, which migrations need.
    """
    wanted: dict[str, dict[str, Any]] = {}
    for item in client.iter_offers(country):
        product = item.product
        offer_id = normalise_offer_id(item.id)
        wanted[offer_id] = {
            "offer_id": column_text(offer_id, Offer, "offer_id"),
            "country": column_text(country, Offer, "country"),
            "name": column_text(item.name or item.id, Offer, "name"),
            "product_id": column_text(
                normalise_guid(product.id if product else ""), Offer, "product_id"
            ),
            "product_name": column_text(
                product.name if product else "", Offer, "product_name"
            ),
            "is_available_for_purchase": item.is_available_for_purchase is not False,
            "is_add_on": bool(item.is_add_on),
            "minimum_quantity": column_int(item.minimum_quantity, 1, minimum=0),
            "maximum_quantity": column_int(item.maximum_quantity, 10000, minimum=0),
            "billing": column_text(item.billing, Offer, "billing"),
            "successor_ids": sorted(
                {
                    normalise_offer_id(target)
                    for target in [
                        *item.upgrade_target_offers,
                        *item.conversion_target_offers,
                    ]
                    if target
                }
            ),
        }
    existing = {o.offer_id: o for o in Offer.objects.filter(country=country)}
    for offer_id, row in existing.items():
        if offer_id not in wanted:
            values = {name: getattr(row, name) for name in OFFER_FIELDS}
            values.update(offer_id=row.offer_id, country=row.country)
            values["is_available_for_purchase"] = False
            wanted[offer_id] = values
    with transaction.atomic():
        return sync_upsert(
            model=Offer,
            existing=existing,
            wanted=wanted,
            fields=OFFER_FIELDS,
            touch={"synced_at": timezone.now()},
        )


def _needed_product_ids() -> set[str]:
    """Return the modern product ids held, scheduled or named by a mapping."""
    keys = set(
        SkuMapping.objects.filter(retired_offer_id__contains=":").values_list(
            "retired_offer_id", flat=True
        )
    ) | set(
        SkuMappingTarget.objects.filter(target_offer_id__contains=":").values_list(
            "target_offer_id", flat=True
        )
    )
    found = {catalogue_key(k).split(":")[0] for k in keys}
    for column in ("product_id", "scheduled_product_id"):
        found |= set(
            Subscription.objects.exclude(**{column: ""})
            .values_list(column, flat=True)
            .distinct()
        )
    return {normalise_offer_id(p) for p in found if p}


def _truthy(value: Any) -> bool:
    """Return a catalogue flag sent as a bool or as text ("true")."""
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return bool(value)


def _product_sku_rows(
    *, client: PartnerCenterClient, country: str, product: pc.Product
) -> dict[str, dict[str, Any]]:
    """Return the ProductSku columns of every SKU of one product, by key."""
    rows: dict[str, dict[str, Any]] = {}
    for sku in client.list_skus(product.id, country=country):
        key = catalogue_key(f"{product.id}:{sku.id}")
        attributes = sku.dynamic_attributes or {}
        availabilities = client.list_availabilities(product.id, sku.id, country=country)
        buyable = [a for a in availabilities if a.is_purchasable is not False]
        chosen = next(iter(buyable or availabilities), None)
        successors = {
            catalogue_key(str(target))
            for target in attributes.get("upgradeTargetOffers") or []
            if target
        }
        for availability in availabilities:
            for instruction in availability.renewal_instructions:
                options = (
                    instruction.get("renewalOptions") or []
                    if isinstance(instruction, dict)
                    else []
                )
                for option in options:
                    if isinstance(option, dict) and option.get("renewToId"):
                        successors.add(catalogue_key(str(option["renewToId"])))
        successors.discard(key)
        end_of_sale = _truthy(attributes.get("isEndOfSale"))
        rows[key] = {
            "key": column_text(key, ProductSku, "key"),
            "country": column_text(country, ProductSku, "country"),
            "product_id": column_text(key.split(":")[0], ProductSku, "product_id"),
            "sku_id": column_text(key.split(":")[1], ProductSku, "sku_id"),
            "title": column_text(
                sku.title or product.title or key, ProductSku, "title"
            ),
            "product_title": column_text(product.title, ProductSku, "product_title"),
            "entra_sku_id": column_text(
                sku.entra_sku_id or "", ProductSku, "entra_sku_id"
            ),
            "sku_part_number": column_text(
                attributes.get("skuPartNumber"), ProductSku, "sku_part_number"
            ),
            "catalog_item_id": column_text(
                normalise_offer_id(chosen.catalog_item_id if chosen else ""),
                ProductSku,
                "catalog_item_id",
            ),
            "is_purchasable": bool(buyable) and not end_of_sale,
            "is_end_of_sale": end_of_sale,
            "is_add_on": _truthy(attributes.get("isAddon")),
            "minimum_quantity": column_int(sku.minimum_quantity, 1, minimum=0),
            "maximum_quantity": column_int(sku.maximum_quantity, 10000, minimum=0),
            "terms": [
                [term.duration or "", term.billing_cycle or ""]
                for term in (chosen.terms if chosen else [])
            ],
            "successor_ids": sorted(successors),
        }
    return rows


def sync_products(*, client: PartnerCenterClient, country: str) -> int:
    """Load the modern catalogue's SKUs of `country`; return the rows written.

    Every listed product is read while the listing is small; past
    MODERN_FULL_READ_LIMIT products, only those PartnerHub needs and their
    successors. A SKU no longer listed under a product that was read is kept,
    marked not purchasable; SKUs of products not read are left as they are.
    """
    products = list(client.iter_products(country=country))
    by_id = {normalise_offer_id(p.id): p for p in products}
    if len(by_id) <= MODERN_FULL_READ_LIMIT:
        queue = list(by_id)
    else:
        queue = sorted(_needed_product_ids() & set(by_id))
    wanted: dict[str, dict[str, Any]] = {}
    read: set[str] = set()
    while queue:
        product_id = queue.pop(0)
        if product_id in read:
            continue
        read.add(product_id)
        rows = _product_sku_rows(
            client=client, country=country, product=by_id[product_id]
        )
        wanted.update(rows)
        for row in rows.values():
            for successor in row["successor_ids"]:
                successor_product = successor.split(":")[0]
                if successor_product in by_id and successor_product not in read:
                    queue.append(successor_product)
    existing = {s.key: s for s in ProductSku.objects.filter(country=country)}
    for key, sku_row in existing.items():
        if key in wanted:
            continue
        values = {name: getattr(sku_row, name) for name in PRODUCT_SKU_FIELDS}
        values.update(key=sku_row.key, country=sku_row.country)
        if sku_row.product_id in read or sku_row.product_id not in by_id:
            values["is_purchasable"] = False
        wanted[key] = values
    with transaction.atomic():
        return sync_upsert(
            model=ProductSku,
            existing=existing,
            wanted=wanted,
            fields=PRODUCT_SKU_FIELDS,
            touch={"synced_at": timezone.now()},
        )


def sync_bind_mappings(*, country: str) -> int:
    """Fill empty offer ids of SKU mappings and targets by case-insensitive name.

    When several offers share a name, a purchasable one wins. Return rows written.
    """
    by_name: dict[str, str] = {}
    offers = Offer.objects.filter(country=country).order_by(
        F("is_available_for_purchase").desc(), "offer_id"
    )
    for offer_id, name in offers.values_list("offer_id", "name"):
        by_name.setdefault(name.strip().lower(), offer_id)
    written = 0
    mappings = [
        m
        for m in SkuMapping.objects.filter(retired_offer_id="")
        if m.retired_name.strip().lower() in by_name
    ]
    for mapping in mappings:
        mapping.retired_offer_id = by_name[mapping.retired_name.strip().lower()]
    targets = [
        t
        for t in SkuMappingTarget.objects.filter(target_offer_id="")
        if t.target_name.strip().lower() in by_name
    ]
    for target in targets:
        target.target_offer_id = by_name[target.target_name.strip().lower()]
    with transaction.atomic():
        if mappings:
            for mapping in mappings:
                # save() keeps auto_now's updated_at honest.
                mapping.save(update_fields=["retired_offer_id", "updated_at"])
            written += len(mappings)
        if targets:
            SkuMappingTarget.objects.bulk_update(targets, ["target_offer_id"])
            written += len(targets)
    return written
