"""Partner Center data as last synced: customers, subscriptions, users, licences."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import models
from django.utils import timezone

SUSPENSION_DEPROVISION_DAYS = 120


class Customer(models.Model):
    """A CSP customer tenant, as `GET /customers` last described it."""

    tenant_id = models.UUIDField(unique=True)
    company_name = models.CharField(max_length=255, db_index=True)
    domain = models.CharField(max_length=255, db_index=True, blank=True)
    relationship_to_partner = models.CharField(max_length=64, blank=True)
    synced_at = models.DateTimeField(null=True, blank=True)
    sync_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["company_name"]

    def __str__(self) -> str:
        return self.company_name


class Offer(models.Model):
    """A catalogue offer; `product_id` is the Entra skuId its licences carry."""

    offer_id = models.CharField(max_length=128)
    country = models.CharField(max_length=8, default="US")
    name = models.CharField(max_length=255, db_index=True)
    product_id = models.CharField(max_length=64, blank=True, db_index=True)
    product_name = models.CharField(max_length=255, blank=True)
    is_available_for_purchase = models.BooleanField(default=True)
    is_add_on = models.BooleanField(default=False)
    minimum_quantity = models.PositiveIntegerField(default=1)
    maximum_quantity = models.PositiveIntegerField(default=10000)
    billing = models.CharField(max_length=32, blank=True)
    synced_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["offer_id", "country"], name="offer_unique_per_country"
            )
        ]

    def __str__(self) -> str:
        return self.name


class Subscription(models.Model):
    """A customer's subscription; `status` keeps whatever Partner Center sent."""

    ACTIVE = "active"
    SUSPENDED = "suspended"

    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="subscriptions"
    )
    subscription_id = models.CharField(max_length=64, unique=True)
    offer_id = models.CharField(max_length=128, db_index=True)
    offer_name = models.CharField(max_length=255, blank=True)
    friendly_name = models.CharField(max_length=255, blank=True)
    quantity = models.IntegerField(default=0)
    unit_type = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=32, db_index=True)
    auto_renew_enabled = models.BooleanField(default=False)
    creation_date = models.DateTimeField(null=True, blank=True)
    effective_start_date = models.DateTimeField(null=True, blank=True)
    commitment_end_date = models.DateTimeField(null=True, blank=True, db_index=True)
    billing_cycle = models.CharField(max_length=32, blank=True)
    term_duration = models.CharField(max_length=16, blank=True)
    partner_id = models.CharField(max_length=64, blank=True)
    order_id = models.CharField(max_length=128, blank=True)
    parent_subscription_id = models.CharField(max_length=64, blank=True)
    # Set when PartnerHub itself suspended the subscription; drives the
    # "deprovisioned after" label. Kept across syncs while it stays suspended.
    suspended_by_partnerhub_at = models.DateTimeField(null=True, blank=True)
    synced_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["commitment_end_date", "offer_name"]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        return self.friendly_name or self.offer_name or self.offer_id

    @property
    def deprovisioned_after(self) -> datetime | None:
        if self.suspended_by_partnerhub_at is None:
            return None
        return self.suspended_by_partnerhub_at + timedelta(
            days=SUSPENSION_DEPROVISION_DAYS
        )

    @property
    def label(self) -> str:
        """Return the status as resellers know it from the Partner Center portal."""
        status = (self.status or "").strip()
        end = self.commitment_end_date
        end_text = f"{end:%b} {end.day}, {end:%Y}" if end else "an unknown date"
        if status.lower() == self.ACTIVE:
            if self.auto_renew_enabled:
                return f"Auto renews on {end_text}"
            return f"Expires on {end_text}"
        if status.lower() == self.SUSPENDED:
            after = self.deprovisioned_after
            if after is not None:
                return f"Suspended · deprovisioned after {after:%b} {after.day}, {after:%Y}"
            return "Suspended"
        return status or "unknown"

    @property
    def label_tone(self) -> str:
        """Return a CSS tone for the label: ok, warn, muted or bad."""
        status = (self.status or "").lower()
        if status == self.ACTIVE:
            return "ok" if self.auto_renew_enabled else "warn"
        if status == self.SUSPENDED:
            return "muted"
        return "bad"


class SubscribedSku(models.Model):
    """Licence units of one skuId in a customer tenant."""

    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="subscribed_skus"
    )
    sku_id = models.CharField(max_length=64)
    sku_part_number = models.CharField(max_length=128, blank=True)
    name = models.CharField(max_length=255, blank=True)
    target_type = models.CharField(max_length=32, blank=True)
    capability_status = models.CharField(max_length=32, blank=True)
    active_units = models.IntegerField(default=0)
    consumed_units = models.IntegerField(default=0)
    available_units = models.IntegerField(default=0)
    suspended_units = models.IntegerField(default=0)
    total_units = models.IntegerField(default=0)
    warning_units = models.IntegerField(default=0)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "sku_id"], name="subscribed_sku_unique_per_customer"
            )
        ]

    def __str__(self) -> str:
        return self.name or self.sku_part_number or self.sku_id


class CustomerUser(models.Model):
    """A user account in a customer tenant."""

    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="users"
    )
    user_id = models.CharField(max_length=64)
    user_principal_name = models.CharField(max_length=255, blank=True)
    display_name = models.CharField(max_length=255, blank=True)
    usage_location = models.CharField(max_length=8, blank=True)
    state = models.CharField(max_length=32, blank=True)

    class Meta:
        ordering = ["display_name", "user_principal_name"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "user_id"], name="customer_user_unique"
            )
        ]

    def __str__(self) -> str:
        return self.display_name or self.user_principal_name or self.user_id


class UserLicense(models.Model):
    """One skuId assigned to a user."""

    user = models.ForeignKey(
        CustomerUser, on_delete=models.CASCADE, related_name="licenses"
    )
    sku_id = models.CharField(max_length=64, db_index=True)
    sku_name = models.CharField(max_length=255, blank=True)
    sku_part_number = models.CharField(max_length=128, blank=True)

    class Meta:
        ordering = ["sku_name"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "sku_id"], name="user_license_unique"
            )
        ]

    def __str__(self) -> str:
        return self.sku_name or self.sku_id


class SyncRun(models.Model):
    """One pass over Partner Center; its counts become one audit event."""

    RUNNING = "running"
    SUCCEEDED = "succeeded"
    PARTIAL = "partial"
    FAILED = "failed"
    STATUS_CHOICES = [
        (RUNNING, "Running"),
        (SUCCEEDED, "Succeeded"),
        (PARTIAL, "Finished with errors"),
        (FAILED, "Failed"),
    ]

    status = models.CharField(max_length=16, choices=STATUS_CHOICES, default=RUNNING)
    requested_by = models.ForeignKey(
        "auth.User", null=True, blank=True, on_delete=models.SET_NULL
    )
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    customers_seen = models.IntegerField(default=0)
    customers_changed = models.IntegerField(default=0)
    customers_failed = models.IntegerField(default=0)
    rows_written = models.IntegerField(default=0)
    calls_made = models.IntegerField(default=0)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"Sync {self.pk} ({self.status})"
