"""Partner Center's subscription as a row of the subscriptions table: the mapping of
its fields to columns, and the create-or-update of the local copy."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, Self

from django.db import models
from django.utils import timezone

from migrations_app.models.catalog import scheduled_sku_names
from migrations_app.models.pc_values import (
    catalog_ids,
    clip,
    clip_int,
    normalise_guid,
    normalise_offer_id,
)
from partner_center import models as pc


class SubscriptionRows(models.Model):
    """`values_from_pc` and `upsert_from_pc`, inherited by `Subscription` (an
    abstract model: no table, no fields of its own)."""

    if TYPE_CHECKING:
        SUSPENDED: ClassVar[str]
        suspended_by_partnerhub_at: datetime | None
        synced_at: datetime

    class Meta:
        abstract = True

    @classmethod
    def values_from_pc(
        cls,
        item: pc.Subscription,
        *,
        customer_id: int,
        current: Self | None,
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
    def upsert_from_pc(cls, item: pc.Subscription, *, customer: models.Model) -> Self:
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
