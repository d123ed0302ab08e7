"""A customer's subscription as last synced: its columns, how Partner Center's
subscription maps onto them, and how its state reads on the pages."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db import models
from django.utils import timezone

from migrations_app.models.catalog import scheduled_sku_names
from migrations_app.models.pc_values import (
    FAR_FUTURE_YEAR,
    NCE_PRODUCT_TYPE,
    SUSPENSION_DEPROVISION_DAYS,
    catalog_ids,
    clip,
    clip_int,
    date_text,
    indirect_reseller,
    normalise_guid,
    normalise_offer_id,
    term_text,
)
from partner_center import models as pc


class Subscription(models.Model):
    """A customer's subscription; `status` keeps whatever Partner Center sent."""

    ACTIVE = "active"
    SUSPENDED = "suspended"
    DELETED = "deleted"

    customer = models.ForeignKey(
        "migrations_app.Customer",
        on_delete=models.CASCADE,
        related_name="subscriptions",
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
    # New commerce: `productType.id`, the catalogue ids of what it is, the end of
    # its cancellation window, the seats still refundable, and the change
    # scheduled for its next term (`scheduled_sku_name` from the synced catalogue).
    product_type = models.CharField(max_length=64, blank=True)
    product_id = models.CharField(max_length=40, blank=True)
    sku_id = models.CharField(max_length=16, blank=True)
    availability_id = models.CharField(max_length=40, blank=True)
    cancellation_allowed_until = models.DateTimeField(null=True, blank=True)
    refundable_quantity = models.IntegerField(null=True, blank=True)
    scheduled_product_id = models.CharField(max_length=40, blank=True)
    scheduled_sku_id = models.CharField(max_length=16, blank=True)
    scheduled_availability_id = models.CharField(max_length=40, blank=True)
    scheduled_sku_name = models.CharField(max_length=255, blank=True)
    scheduled_quantity = models.IntegerField(null=True, blank=True)
    scheduled_term_duration = models.CharField(max_length=16, blank=True)
    scheduled_billing_cycle = models.CharField(max_length=32, blank=True)
    # Retired NCE subscriptions only: the targets Partner Center last said it can
    # transition to, `{"immediate": [catalogItemId, …], "scheduled": [...],
    # "checked_at": iso}` ("immediate" ones with licence transfer). Read by the
    # worker's sync (`migrations_app.services.transitions`), never in a web request.
    transition_targets = models.JSONField(default=dict, blank=True)
    # Set when PartnerHub itself suspended the subscription; drives the
    # "deprovisioned after" label. Kept across syncs while it stays suspended.
    suspended_by_partnerhub_at = models.DateTimeField(null=True, blank=True)
    synced_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["commitment_end_date", "offer_name"]
        indexes = [
            models.Index(
                fields=["product_id", "sku_id"], name="subscription_catalog_sku"
            )
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def is_active(self) -> bool:
        return self.status.strip().lower() == self.ACTIVE

    @property
    def is_suspended(self) -> bool:
        return self.status.strip().lower() == self.SUSPENDED

    @property
    def is_cancelled(self) -> bool:
        return self.status.strip().lower() == self.DELETED

    @property
    def is_nce(self) -> bool:
        """Return True for a new-commerce subscription.

        `productType.id` says so when Partner Center sent one; otherwise a
        `product:sku:availability` offer id does (as the client decides).
        """
        if self.product_type:
            return self.product_type.strip().lower() == NCE_PRODUCT_TYPE.lower()
        return bool(self.product_id and self.sku_id)

    @property
    def catalogue_key(self) -> str:
        """Return the catalogue id of what it is: `PRODUCT:SKU`, or the offer id."""
        if self.product_id and self.sku_id:
            return f"{self.product_id}:{self.sku_id}"
        return self.offer_id

    @property
    def reseller_of_record(self) -> str:
        """Return the MPN id of its indirect reseller of record ("" if sold by us)."""
        return indirect_reseller(self.partner_id)

    @property
    def display_name(self) -> str:
        return self.friendly_name or self.offer_name or self.offer_id

    # Partner Center's subscription as a row of this table.

    @classmethod
    def values_from_pc(
        cls,
        item: pc.Subscription,
        *,
        customer_id: int,
        current: Subscription | None,
        sku_names: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """Return this table's columns for Partner Center's subscription `item`.

        Ids are normalised, text clipped to the columns. `suspended_by_partnerhub_at`
        is kept from `current` while the subscription stays suspended.
        `sku_names` maps catalogue ids (`PRODUCT:SKU`) to titles, to name the SKU
        of a scheduled change; without one the change is named by its ids.
        """
        status = clip(cls, "status", (item.status or "").strip().lower())
        suspended_at = None
        if current is not None and status.strip().lower() == cls.SUSPENDED:
            suspended_at = current.suspended_by_partnerhub_at
        product_id, sku_id, availability_id = catalog_ids(item)
        kind = item.product_type
        refundable = item.refundable_quantity
        scheduled = item.scheduled_next_term_instructions
        term = scheduled.product if scheduled is not None else None
        next_product = normalise_offer_id(term.product_id if term else "")
        next_sku = normalise_offer_id(term.sku_id if term else "")
        next_key = f"{next_product}:{next_sku}" if next_product and next_sku else ""
        next_name = (sku_names or {}).get(next_key, "") if next_key else ""
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
            "order_id": clip(cls, "order_id", (item.order_id or "").strip()),
            "parent_subscription_id": normalise_guid(item.parent_subscription_id),
            "suspended_by_partnerhub_at": suspended_at,
            "product_type": clip(
                cls, "product_type", (kind.id or kind.display_name) if kind else ""
            ),
            "product_id": clip(cls, "product_id", product_id),
            "sku_id": clip(cls, "sku_id", sku_id),
            "availability_id": clip(cls, "availability_id", availability_id),
            "cancellation_allowed_until": item.cancellation_allowed_until_date,
            "refundable_quantity": (
                clip_int(refundable.total_quantity)
                if refundable is not None and refundable.total_quantity is not None
                else None
            ),
            "scheduled_product_id": clip(cls, "scheduled_product_id", next_product),
            "scheduled_sku_id": clip(cls, "scheduled_sku_id", next_sku),
            "scheduled_availability_id": clip(
                cls,
                "scheduled_availability_id",
                normalise_offer_id(term.availability_id if term else ""),
            ),
            "scheduled_sku_name": clip(cls, "scheduled_sku_name", next_name),
            "scheduled_quantity": (
                clip_int(scheduled.quantity)
                if scheduled is not None and scheduled.quantity is not None
                else None
            ),
            "scheduled_term_duration": clip(
                cls, "scheduled_term_duration", term.term_duration if term else ""
            ),
            "scheduled_billing_cycle": clip(
                cls, "scheduled_billing_cycle", term.billing_cycle if term else ""
            ),
        }

    @classmethod
    def upsert_from_pc(
        cls, item: pc.Subscription, *, customer: models.Model
    ) -> Subscription:
        """Create or update the local copy of Partner Center's subscription `item`."""
        current = cls._default_manager.filter(
            subscription_id=normalise_guid(item.id)
        ).first()
        values = cls.values_from_pc(
            item,
            customer_id=customer.pk,
            current=current,
            sku_names=scheduled_sku_names([item]),
        )
        if current is None:
            return cls._default_manager.create(**values)
        for name, value in values.items():
            setattr(current, name, value)
        current.synced_at = timezone.now()
        current.save()
        return current

    # The wording of its state as resellers know it from the Partner Center
    # portal: its end, term, scheduled change, deprovisioning and label.

    @property
    def ends_on(self) -> datetime | None:
        """Return the commitment end date; None when missing or far future."""
        end = self.commitment_end_date
        if end is None or end.year >= FAR_FUTURE_YEAR:
            return None
        return end

    @property
    def term(self) -> str:
        """Return the term in the portal's words ("1 year", "monthly"), or ""."""
        return term_text(self.term_duration)

    @property
    def scheduled_change_name(self) -> str:
        """Return the SKU it changes to at renewal, if a change of SKU is scheduled."""
        if not (self.scheduled_product_id and self.scheduled_sku_id):
            return ""
        same = (self.scheduled_product_id, self.scheduled_sku_id) == (
            self.product_id,
            self.sku_id,
        )
        if same:
            return ""
        return (
            self.scheduled_sku_name
            or f"{self.scheduled_product_id}:{self.scheduled_sku_id}"
        )

    @property
    def deprovisioned_after(self) -> datetime | None:
        """Return when a legacy subscription PartnerHub suspended is deprovisioned.

        None for new commerce: suspending it keeps billing and deprovisions nothing.
        """
        if self.suspended_by_partnerhub_at is None or self.is_nce:
            return None
        return self.suspended_by_partnerhub_at + timedelta(
            days=SUSPENSION_DEPROVISION_DAYS
        )

    @property
    def cancellable_until(self) -> datetime | None:
        """Return the end of an NCE subscription's open cancellation window, or None."""
        until = self.cancellation_allowed_until
        if until is None or not self.is_nce:
            return None
        if not (self.is_active or self.is_suspended) or until <= timezone.now():
            return None
        return until

    @property
    def cancellable_label(self) -> str:
        """Return "Cancellable until <date>" inside the window, else ""."""
        until = self.cancellable_until
        return f"Cancellable until {date_text(until)}" if until else ""

    @property
    def label(self) -> str:
        """Return the status as resellers know it from the Partner Center portal."""
        status = (self.status or "").strip()
        end = self.ends_on
        if status.lower() == self.ACTIVE:
            change = self.scheduled_change_name
            if change and self.auto_renew_enabled and end is not None:
                return f"Changes to {change} on {date_text(end)}"
            if self.auto_renew_enabled:
                text = f"Auto renews on {date_text(end)}" if end else "Auto renews"
                return f"{text} · {self.term}" if self.term else text
            if end is not None:
                return f"Expires on {date_text(end)}"
            return "Active · no end date"
        if status.lower() == self.SUSPENDED:
            after = self.deprovisioned_after
            if after is not None:
                return f"Suspended · deprovisioned after {date_text(after)}"
            return "Suspended"
        if status.lower() == self.DELETED:
            return "Cancelled"
        return status or "unknown"

    @property
    def label_tone(self) -> str:
        """Return a CSS tone for the label: ok, warn, muted or bad."""
        status = (self.status or "").lower()
        if status == self.ACTIVE:
            return "ok" if self.auto_renew_enabled or not self.ends_on else "warn"
        if status in (self.SUSPENDED, self.DELETED):
            return "muted"
        return "bad"
