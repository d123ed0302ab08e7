"""The catalogue PartnerHub keeps: the modern SKUs, and retired SKU → target mappings.

A catalogue id is a legacy offer id (a GUID) or a modern `productId:skuId`; the
availability part of a new-commerce `offerId` is left out, because Partner Center
says it "can change over time" while the product and SKU stay.
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import groupby

from django.db import models
from django.utils import timezone

from partner_center import models as pc


def catalogue_key(value: str | None) -> str:
    """Return the catalogue id of an offer or catalogue item id, as stored.

    `CFQ7TTC0LH18:0001:CFQ7TTC0K971` and `cfq7ttc0lh18:0001` both give
    `CFQ7TTC0LH18:0001`; a legacy offer id is returned trimmed and upper case.
    """
    text = (value or "").strip().upper()
    parts = text.split(":")
    if len(parts) >= 2 and parts[0] and parts[1]:
        return f"{parts[0]}:{parts[1]}"
    return text


def is_modern_key(value: str) -> bool:
    """Return True if `value` is a modern `productId:skuId` catalogue id."""
    return ":" in value


class ProductSku(models.Model):
    """A SKU of the modern (new commerce) catalogue, as the last sync read it.

    `entra_sku_id` is the licence users hold, when the catalogue says which
    (UNCONFIRMED on the live API); `successor_ids` are the catalogue ids the
    catalogue offers as its upgrade, transition or renewal targets.
    """

    key = models.CharField(max_length=80)
    country = models.CharField(max_length=8, default="US")
    product_id = models.CharField(max_length=40)
    sku_id = models.CharField(max_length=16)
    title = models.CharField(max_length=255, db_index=True)
    product_title = models.CharField(max_length=255, blank=True)
    entra_sku_id = models.CharField(max_length=64, blank=True, db_index=True)
    sku_part_number = models.CharField(max_length=128, blank=True)
    # The availability to buy, as read at sync time; read it again before buying.
    catalog_item_id = models.CharField(max_length=128, blank=True)
    is_purchasable = models.BooleanField(default=True)
    is_end_of_sale = models.BooleanField(default=False)
    is_add_on = models.BooleanField(default=False)
    minimum_quantity = models.PositiveIntegerField(default=1)
    maximum_quantity = models.PositiveIntegerField(default=10000)
    # [[termDuration, billingCycle], ...] the availability sells.
    terms = models.JSONField(default=list, blank=True)
    successor_ids = models.JSONField(default=list, blank=True)
    synced_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["title", "key"]
        constraints = [
            models.UniqueConstraint(
                fields=["key", "country"], name="product_sku_unique_per_country"
            )
        ]

    def __str__(self) -> str:
        return self.title or self.key


def scheduled_sku_names(items: Iterable[pc.Subscription]) -> dict[str, str]:
    """Return the synced titles of the SKUs `items` are scheduled to change to.

    Keyed by catalogue id; one query, and none when nothing is scheduled.
    """
    keys = set()
    for item in items:
        scheduled = item.scheduled_next_term_instructions
        product = scheduled.product if scheduled is not None else None
        if product is not None and product.product_id and product.sku_id:
            keys.add(catalogue_key(f"{product.product_id}:{product.sku_id}"))
    if not keys:
        return {}
    return dict(
        ProductSku.objects.filter(key__in=keys)
        .exclude(title="")
        .values_list("key", "title")
    )


class SkuMapping(models.Model):
    """A retired SKU and, through its targets, where its customers may move.

    Targets come in alternatives (`SkuMappingTarget.alternative`): the plan picks
    one alternative per subscription, and every user of that subscription gets
    every target of the picked alternative (the Teams unbundling: one licence
    becomes two). Alternative 0 is the default.
    """

    product_line = models.CharField(max_length=64)
    retired_name = models.CharField(max_length=255, unique=True)
    # The catalogue id of the retired SKU: a legacy offer id, or a modern
    # `productId:skuId`. Bound by name from the synced catalogue, or set by an
    # admin (and by the seeds for new commerce).
    retired_offer_id = models.CharField(max_length=128, blank=True, db_index=True)
    position = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position", "retired_name"]

    def __str__(self) -> str:
        return self.retired_name

    def alternatives(self) -> list[list[SkuMappingTarget]]:
        """Return the targets grouped by alternative, default first.

        Each inner list is what every user gets when that alternative is picked.
        Uses the prefetched `targets` when there are any.
        """
        rows = sorted(self.targets.all(), key=lambda t: (t.alternative, t.position))
        return [list(group) for _, group in groupby(rows, key=lambda t: t.alternative)]

    @property
    def is_one_to_many(self) -> bool:
        """Return True if some alternative gives every user several licences."""
        return any(len(group) > 1 for group in self.alternatives())


class SkuMappingTarget(models.Model):
    """One target SKU of a mapping, in one of its alternatives.

    `target_offer_id` is a catalogue id like the mapping's retired one. Targets
    sharing an `alternative` are all assigned to every user; `position` orders
    the targets across the whole mapping.
    """

    mapping = models.ForeignKey(
        SkuMapping, on_delete=models.CASCADE, related_name="targets"
    )
    position = models.PositiveIntegerField(default=0)
    alternative = models.PositiveIntegerField(default=0)
    target_name = models.CharField(max_length=255)
    target_offer_id = models.CharField(max_length=128, blank=True)

    class Meta:
        ordering = ["mapping", "alternative", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["mapping", "alternative", "target_name"],
                name="mapping_target_unique_per_alternative",
            ),
        ]

    def __str__(self) -> str:
        return self.target_name
