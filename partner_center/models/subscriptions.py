"""Subscriptions (legacy and new commerce) and their provisioning status."""

from __future__ import annotations

from typing import Annotated, Any

from partner_center.models.base import (
    EnumStr,
    Guid,
    LenientDatetime,
    Links,
    NoneAsEmpty,
    OptGuid,
    PCModel,
    ResourceAttributes,
    StrList,
)

__all__ = [
    "ProductType",
    "RefundOption",
    "Subscription",
    "SubscriptionProvisioningStatus",
]


class ProductType(PCModel):
    id: str | None = None
    display_name: str | None = None
    sub_type: Any = None


class RefundOption(PCModel):
    type: EnumStr = None
    expires_at: LenientDatetime = None


class Subscription(PCModel):
    """A subscription, legacy (GUID ``offerId``) or NCE (``product:sku:availability``).

    ``status`` is kept as sent: ``active``, ``suspended``, ``expired``, ``disabled``
    or anything new. ``offer_id`` keeps its documented form; the GUID ids are
    lower case.
    """

    id: Guid
    offer_id: str | None = None
    offer_name: str | None = None
    friendly_name: str | None = None
    product_type: ProductType | None = None
    entitlement_id: OptGuid = None
    quantity: int | None = None
    unit_type: str | None = None
    parent_subscription_id: OptGuid = None
    creation_date: LenientDatetime = None
    effective_start_date: LenientDatetime = None
    commitment_end_date: LenientDatetime = None
    commitment_end_date_time: LenientDatetime = None
    cancellation_allowed_until_date: LenientDatetime = None
    billing_cycle_end_date: LenientDatetime = None
    billing_cycle_end_date_time: LenientDatetime = None
    status: EnumStr = None
    auto_renew_enabled: bool | None = None
    billing_type: EnumStr = None
    billing_cycle: EnumStr = None
    term_duration: str | None = None
    renewal_term_duration: str | None = None
    has_purchasable_addons: bool | None = None
    is_trial: bool | None = None
    is_microsoft_product: bool | None = None
    actions: StrList = []
    partner_id: OptGuid = None
    suspension_reasons: StrList = []
    contract_type: EnumStr = None
    refund_options: Annotated[list[RefundOption], NoneAsEmpty] = []
    order_id: OptGuid = None
    publisher_name: str | None = None
    promotion_id: str | None = None
    consumption_type: EnumStr = None
    attention_needed: bool | None = None
    action_taken: bool | None = None
    migrated_from_subscription_id: OptGuid = None
    scheduled_next_term_instructions: dict[str, Any] | None = None
    links: Links | None = None
    attributes: ResourceAttributes | None = None

    @property
    def etag(self) -> str | None:
        """Return the ETag of this copy, if Partner Center sent one."""
        return self.attributes.etag if self.attributes else None


class SubscriptionProvisioningStatus(PCModel):
    """Provisioning status of a subscription; ``sku_id`` is the Entra skuId."""

    sku_id: OptGuid = None
    status: EnumStr = None
    quantity: int | None = None
    end_date: LenientDatetime = None
    attributes: ResourceAttributes | None = None
