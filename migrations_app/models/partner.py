"""Partner Center data as last synced: customers, subscriptions, users, licences."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils import timezone


class Customer(models.Model):
    """A CSP customer tenant, as `GET /customers` last described it."""

    tenant_id = models.UUIDField(unique=True)
    company_name = models.CharField(max_length=255, db_index=True)
    domain = models.CharField(max_length=255, db_index=True, blank=True)
    relationship_to_partner = models.CharField(max_length=64, blank=True)
    # What the partner's GDAP access lacks, when Partner Center refused to list
    # the customer's users (403, code 2032): e.g. "License Administrator or …".
    gdap_missing = models.CharField(max_length=255, blank=True)
    # Whether Partner Center has a Microsoft Customer Agreement recorded for the
    # customer (`GET …/agreements`); None until a sync could read it. Without
    # one, checkout is refused with 403/13605.
    agreement_recorded = models.BooleanField(null=True, blank=True)
    agreement_checked_at = models.DateTimeField(null=True, blank=True)
    synced_at = models.DateTimeField(null=True, blank=True)
    sync_error = models.TextField(blank=True)
    # Facts the customer list filters, sorts and counts on, kept true by
    # `migrations_app.models.customer_facts.customer_facts_refresh` whenever the sync, a
    # migration or the SKU catalogue changes them: subscriptions on a retired SKU,
    # the earliest end of an active subscription, the earliest end of an active
    # one that will not renew, and the users in the tenant.
    retired_count = models.PositiveIntegerField(default=0, db_default=0, db_index=True)
    soonest_end = models.DateTimeField(null=True, blank=True)
    expiring_end = models.DateTimeField(null=True, blank=True, db_index=True)
    user_count = models.PositiveIntegerField(default=0, db_default=0)
    # When users and licences were last read, and the subscribed-SKU counts they
    # were read against: a sync reads them again only when something calls for it.
    users_read_at = models.DateTimeField(null=True, blank=True)
    # Database defaults too, so rows written outside Django (imports) need not
    # name these columns.
    users_read_skus = models.CharField(
        max_length=64, blank=True, default="", db_default=""
    )
    # Partner Center calls this customer's last sync made.
    sync_calls = models.PositiveIntegerField(default=0, db_default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["company_name"]
        indexes = [
            models.Index(fields=["company_name", "id"], name="customer_name_order"),
            models.Index(
                fields=["soonest_end", "company_name", "id"],
                name="customer_expiry_order",
            ),
        ]

    def __str__(self) -> str:
        return self.company_name

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Save the row; an existing row keeps its facts, which only
        `customer_facts_refresh` writes (this copy of them may be stale)."""
        if (
            self.pk is not None
            and not self._state.adding
            and kwargs.get("update_fields") is None
        ):
            kwargs["update_fields"] = [
                f.name
                for f in self._meta.concrete_fields
                if not f.primary_key and f.name not in FACT_FIELDS
            ]
        super().save(*args, **kwargs)


# The columns `migrations_app.models.customer_facts.customer_facts_refresh` keeps.
FACT_FIELDS = frozenset({"retired_count", "soonest_end", "expiring_end", "user_count"})


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
    # The offers the catalogue names as its upgrade or conversion targets.
    successor_ids = models.JSONField(default=list, blank=True)
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

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        PARTIAL = "partial", "Finished with errors"
        FAILED = "failed", "Failed"

    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.RUNNING
    )
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
    # Customers whose users and licences this run read (the others did not need it).
    users_read = models.IntegerField(default=0, db_default=0)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"Sync {self.pk} ({self.status})"
