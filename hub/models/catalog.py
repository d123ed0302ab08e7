"""The retired SKU → target SKU catalogue."""

from __future__ import annotations

from django.db import models


class SkuMapping(models.Model):
    """A retired SKU and, through its targets, where its customers may move."""

    product_line = models.CharField(max_length=64)
    retired_name = models.CharField(max_length=255, unique=True)
    # The Partner Center offer this retired SKU is sold as; bound by name from the
    # synced catalogue, or chosen by an admin.
    retired_offer_id = models.CharField(max_length=128, blank=True, db_index=True)
    position = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position", "retired_name"]

    def __str__(self) -> str:
        return self.retired_name


class SkuMappingTarget(models.Model):
    """One target choice of a mapping; position 0 is the default."""

    mapping = models.ForeignKey(
        SkuMapping, on_delete=models.CASCADE, related_name="targets"
    )
    position = models.PositiveIntegerField(default=0)
    target_name = models.CharField(max_length=255)
    target_offer_id = models.CharField(max_length=128, blank=True)

    class Meta:
        ordering = ["mapping", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["mapping", "target_name"], name="mapping_target_unique_name"
            ),
        ]

    def __str__(self) -> str:
        return self.target_name
