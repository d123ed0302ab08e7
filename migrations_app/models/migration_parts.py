"""What a migration moves and buys: each user's licence move and each target SKU."""

from __future__ import annotations

from django.db import models

from migrations_app.models.migration import Migration


class LicenseMove(models.Model):
    """One user's move from the old skuId to the new one."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        MOVED = "moved", "Moved"
        FAILED = "failed", "Failed"

    migration = models.ForeignKey(
        Migration, on_delete=models.CASCADE, related_name="license_moves"
    )
    user_id = models.CharField(max_length=64)
    user_principal_name = models.CharField(max_length=255, blank=True)
    display_name = models.CharField(max_length=255, blank=True)
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.PENDING
    )
    request_id = models.UUIDField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    error_message = models.TextField(blank=True)
    error_code = models.CharField(max_length=32, blank=True)
    error_description = models.TextField(blank=True)
    moved_at = models.DateTimeField(null=True, blank=True)
    # Set when the verify step read this user back holding exactly the new
    # licence(s); a verify pass interrupted by throttling resumes after it.
    verified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["display_name", "user_principal_name"]
        constraints = [
            models.UniqueConstraint(
                fields=["migration", "user_id"], name="license_move_unique_user"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user_principal_name or self.user_id}: {self.status}"


class MigrationTarget(models.Model):
    """One SKU a migration buys and assigns to every user.

    Most migrations have one; a one-to-many mapping (the Teams unbundling) gives
    several, all bought in one order or cart and all assigned to each user. The
    migration's own `target_*` fields repeat the first, for lists and summaries.
    """

    migration = models.ForeignKey(
        Migration, on_delete=models.CASCADE, related_name="targets"
    )
    position = models.PositiveSmallIntegerField(default=0)
    # A legacy offer id, or a modern `productId:skuId`.
    catalogue_id = models.CharField(max_length=128)
    # New commerce: the `product:sku:availability` to buy ("" for legacy).
    catalog_item_id = models.CharField(max_length=128, blank=True)
    name = models.CharField(max_length=255)
    # The Entra skuId its licences carry, once known.
    sku_id = models.CharField(max_length=64, blank=True)
    new_subscription_id = models.CharField(max_length=64, blank=True)
    # "Cancel the purchase for a refund": stored before the cancel is sent.
    refund_request_id = models.UUIDField(null=True, blank=True)
    refunded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["migration", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["migration", "position"], name="migration_target_position"
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_modern(self) -> bool:
        return ":" in self.catalogue_id
