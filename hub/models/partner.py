"""Partner Center data as last synced: customers, subscriptions, users, licences."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone

from partner_center import models as pc

SUSPENSION_DEPROVISION_DAYS = 120
# PostgreSQL's bigint and integer ceilings: larger numbers from Partner Center are
# clipped rather than failing a whole customer's sync.
BIGINT_MAX = 2**63 - 1
INT_MAX = 2**31 - 1


def normalise_guid(value: str | None) -> str:
    """Return a Partner Center GUID as stored: trimmed and lower case."""
    return (value or "").strip().lower()


def normalise_offer_id(value: str | None) -> str:
    """Return an offer or catalogue id as stored: trimmed and upper case.

    Legacy offer ids are documented as upper-case GUIDs, new-commerce ids as
    upper-case `product:sku:availability` codes.
    """
    return (value or "").strip().upper()


def clip(model: type[models.Model], name: str, value: Any) -> str:
    """Return `value` as text that fits the column (NUL bytes dropped, "" for None)."""
    if value is None:
        return ""
    text = str(value).replace("\x00", "")
    limit = getattr(model._meta.get_field(name), "max_length", None)
    return text[:limit] if limit else text


def clip_int(value: Any, *, ceiling: int = INT_MAX) -> int:
    """Return a whole number within the column's range (0 when missing)."""
    if value is None:
        return 0
    number = int(value)
    return max(-ceiling - 1, min(ceiling, number))


def date_text(value: datetime) -> str:
    """Return a date as the portal writes it: "Mar 5, 2027"."""
    return f"{value:%b} {value.day}, {value:%Y}"


def is_foreign_partner(partner_id: str) -> bool:
    """Return True if a subscription's partnerId names another partner or channel."""
    value = normalise_guid(partner_id)
    own = {normalise_guid(p) for p in settings.PARTNER_CENTER_OWN_PARTNER_IDS}
    return bool(value) and value not in own


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

    @classmethod
    def values_from_pc(
        cls, item: pc.Subscription, *, customer_id: int, current: Subscription | None
    ) -> dict[str, Any]:
        """Return this table's columns for Partner Center's subscription `item`.

        Ids are normalised, text clipped to the columns. `suspended_by_partnerhub_at`
        is kept from `current` while the subscription stays suspended.
        """
        status = clip(cls, "status", (item.status or "").strip().lower())
        suspended_at = None
        if current is not None and status.strip().lower() == cls.SUSPENDED:
            suspended_at = current.suspended_by_partnerhub_at
        return {
            "subscription_id": normalise_guid(item.id),
            "customer_id": customer_id,
            "offer_id": clip(cls, "offer_id", normalise_offer_id(item.offer_id)),
            "offer_name": clip(cls, "offer_name", item.offer_name),
            "friendly_name": clip(cls, "friendly_name", item.friendly_name),
            "quantity": clip_int(item.quantity),
            "unit_type": clip(cls, "unit_type", item.unit_type),
            "status": status,
            "auto_renew_enabled": bool(item.auto_renew_enabled),
            "creation_date": item.creation_date,
            "effective_start_date": item.effective_start_date,
            "commitment_end_date": item.commitment_end_date
            or item.commitment_end_date_time,
            "billing_cycle": clip(cls, "billing_cycle", item.billing_cycle),
            "term_duration": clip(cls, "term_duration", item.term_duration),
            "partner_id": clip(cls, "partner_id", normalise_guid(item.partner_id)),
            "order_id": clip(cls, "order_id", normalise_guid(item.order_id)),
            "parent_subscription_id": normalise_guid(item.parent_subscription_id),
            "suspended_by_partnerhub_at": suspended_at,
        }

    @classmethod
    def upsert_from_pc(
        cls, item: pc.Subscription, *, customer: Customer
    ) -> Subscription:
        """Create or update the local copy of Partner Center's subscription `item`."""
        current = cls.objects.filter(subscription_id=normalise_guid(item.id)).first()
        values = cls.values_from_pc(item, customer_id=customer.pk, current=current)
        if current is None:
            return cls.objects.create(**values)
        for name, value in values.items():
            setattr(current, name, value)
        current.synced_at = timezone.now()
        current.save()
        return current

    @property
    def is_active(self) -> bool:
        return self.status.strip().lower() == self.ACTIVE

    @property
    def is_suspended(self) -> bool:
        return self.status.strip().lower() == self.SUSPENDED

    @property
    def is_foreign(self) -> bool:
        """Return True if its partnerId names another partner or channel."""
        return is_foreign_partner(self.partner_id)

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
        end_text = date_text(end) if end else "an unknown date"
        if status.lower() == self.ACTIVE:
            if self.auto_renew_enabled:
                return f"Auto renews on {end_text}"
            return f"Expires on {end_text}"
        if status.lower() == self.SUSPENDED:
            after = self.deprovisioned_after
            if after is not None:
                return f"Suspended · deprovisioned after {date_text(after)}"
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
