"""The legacy offer catalogue."""

from __future__ import annotations

from partner_center.models.base import (
    EnumStr,
    Links,
    OptGuid,
    PCModel,
    ResourceAttributes,
    StrList,
)

__all__ = ["Offer", "OfferCategory", "OfferProduct"]


class OfferCategory(PCModel):
    id: str | None = None
    name: str | None = None
    rank: int | None = None
    locale: str | None = None
    country: str | None = None


class OfferProduct(PCModel):
    """The product of a legacy offer; ``id`` is the Entra skuId (doc §6.1)."""

    id: OptGuid = None
    name: str | None = None
    unit: str | None = None


class Offer(PCModel):
    """A legacy offer; ``id`` and the offer id lists keep their documented form."""

    id: str
    name: str | None = None
    description: str | None = None
    minimum_quantity: int | None = None
    maximum_quantity: int | None = None
    rank: int | None = None
    uri: str | None = None
    locale: str | None = None
    country: str | None = None
    category: OfferCategory | None = None
    prerequisite_offers: StrList = []
    is_add_on: bool | None = None
    has_add_ons: bool | None = None
    is_available_for_purchase: bool | None = None
    billing: EnumStr = None
    supported_billing_cycles: StrList = []
    is_auto_renewable: bool | None = None
    upgrade_target_offers: StrList = []
    conversion_target_offers: StrList = []
    is_trial: bool | None = None
    sales_group_id: str | None = None
    limit: int | None = None
    limit_unit_of_measure: EnumStr = None
    product: OfferProduct | None = None
    unit_type: str | None = None
    links: Links | None = None
    attributes: ResourceAttributes | None = None
