"""Subscriptions (legacy and new commerce) and their provisioning status."""

from __future__ import annotations

from typing import Annotated, Any

from partner_center.models.base import (
    AnyList,
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
    "NCE_PRODUCT_TYPE",
    "ProductTerm",
    "ProductType",
    "RefundOption",
    "RefundableQuantity",
    "ScheduledNextTermInstructions",
    "Subscription",
    "SubscriptionProvisioningStatus",
]

NCE_PRODUCT_TYPE = "OnlineServicesNCE"


class ProductType(PCModel):
    id: str | None = None
    display_name: str | None = None
    sub_type: Any = None


class RefundOption(PCModel):
    type: EnumStr = None
    expires_at: LenientDatetime = None


class RefundableQuantity(PCModel):
    """Seats that can still be cancelled for a refund (NCE; ``details`` as sent)."""

    total_quantity: int | None = None
    details: AnyList = []


class ProductTerm(PCModel):
    """A catalogue item and its term, as used by scheduled next-term instructions."""

    product_id: str | None = None
    sku_id: str | None = None
    availability_id: str | None = None
    billing_cycle: EnumStr = None
    term_duration: str | None = None
    promotion_id: str | None = None

    @property
    def catalog_item_id(self) -> str | None:
        """Return ``productId:skuId:availabilityId`` when all three are known."""
        if self.product_id and self.sku_id and self.availability_id:
            return f"{self.product_id}:{self.sku_id}:{self.availability_id}"
        return None


class ScheduledNextTermInstructions(PCModel):
    """What an NCE subscription becomes at its next renewal (§4.5)."""

    product: ProductTerm | None = None
    quantity: int | None = None
    custom_term_end_date: LenientDatetime = None


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
    # Kept as given: order ids are opaque and their case may matter.
    order_id: str | None = None
    publisher_name: str | None = None
    promotion_id: str | None = None
    consumption_type: EnumStr = None
    attention_needed: bool | None = None
    action_taken: bool | None = None
    migrated_from_subscription_id: OptGuid = None
    refundable_quantity: RefundableQuantity | None = None
    scheduled_next_term_instructions: ScheduledNextTermInstructions | None = None
    links: Links | None = None
    attributes: ResourceAttributes | None = None

    @property
    def etag(self) -> str | None:
        """Return the ETag of this copy, if Partner Center sent one."""
        return self.attributes.etag if self.attributes else None

    @property
    def is_nce(self) -> bool:
        """Return True for a new-commerce subscription.

        ``productType.id`` says so when present; otherwise an ``offerId`` of the
        form ``product:sku:availability`` does (BAM's test, §3.2).
        """
        if self.product_type is not None and self.product_type.id:
            return self.product_type.id == NCE_PRODUCT_TYPE
        return self.catalog_parts is not None

    @property
    def catalog_parts(self) -> tuple[str, str, str] | None:
        """Return (productId, skuId, availabilityId) of an NCE ``offerId``."""
        parts = (self.offer_id or "").split(":")
        if len(parts) != 3 or not all(parts):
            return None
        return parts[0], parts[1], parts[2]

    @property
    def link_uris(self) -> dict[str, str]:
        """Return the ``links`` as name → uri (``product``, ``sku``, ``self``...)."""
        if self.links is None:
            return {}
        found: dict[str, str] = {}
        if self.links.self_link is not None:
            found["self"] = self.links.self_link.uri
        for name, value in (self.links.model_extra or {}).items():
            if isinstance(value, dict) and isinstance(value.get("uri"), str):
                found[name] = value["uri"]
        return found


class SubscriptionProvisioningStatus(PCModel):
    """Provisioning status of a subscription; ``sku_id`` is the Entra skuId."""

    sku_id: OptGuid = None
    status: EnumStr = None
    quantity: int | None = None
    end_date: LenientDatetime = None
    attributes: ResourceAttributes | None = None
