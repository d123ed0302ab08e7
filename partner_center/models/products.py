"""The modern catalogue: products, SKUs and availabilities (§6.2).

``Availability.catalog_item_id`` (``product:sku:availability``) is what a cart
line buys. Which catalogue field (if any) names the Entra skuId of a modern SKU is
UNCONFIRMED; ``Sku.entra_sku_id`` looks in the plausible places.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from partner_center.models.base import (
    AnyList,
    EnumStr,
    Links,
    NoneAsEmpty,
    PCModel,
    ResourceAttributes,
    StrList,
    is_guid,
    normalise_id,
)

__all__ = ["Availability", "AvailabilityTerm", "Currency", "ItemType", "Product", "Sku"]

# Keys that, holding a GUID, plausibly name the Entra skuId of a modern SKU.
_ENTRA_SKU_KEY = re.compile(
    r"(entra|aad|azuread|graph|license|licence)?_?sku_?id", re.I
)


class ItemType(PCModel):
    """A product type, e.g. ``{"id": "OnlineServicesNCE"}``."""

    id: str | None = None
    display_name: str | None = None
    sub_type: Any = None


class Product(PCModel):
    id: str
    title: str | None = None
    description: str | None = None
    product_type: ItemType | None = None
    is_microsoft_product: bool | None = None
    publisher_name: str | None = None
    links: Links | None = None
    attributes: ResourceAttributes | None = None


class Sku(PCModel):
    """A purchasable SKU of a product; ``id`` is the catalogue's (e.g. ``0001``)."""

    id: str
    product_id: str | None = None
    title: str | None = None
    description: str | None = None
    minimum_quantity: int | None = None
    maximum_quantity: int | None = None
    is_trial: bool | None = None
    supported_billing_cycles: StrList = []
    purchase_prerequisites: StrList = []
    provisioning_variables: StrList = []
    dynamic_attributes: dict[str, Any] | None = None
    attestation_properties: Any = None
    consumption_type: EnumStr = None
    links: Links | None = None
    attributes: ResourceAttributes | None = None

    @property
    def entra_sku_id(self) -> str | None:
        """Return the Entra skuId this SKU grants, if the catalogue says (lower case).

        Looks for a GUID under a ``...skuId`` key in ``dynamicAttributes``, then
        among the fields Partner Center sent that this model does not know.
        None when neither has one: read ``provisioningstatus`` after buying.
        """
        for source in (self.dynamic_attributes or {}, self.model_extra or {}):
            for key, value in source.items():
                if _ENTRA_SKU_KEY.fullmatch(key) and is_guid(value):
                    return normalise_id(str(value))
        return None


class Currency(PCModel):
    code: str | None = None
    symbol: str | None = None


class AvailabilityTerm(PCModel):
    """One purchasable term: ``duration`` (``P1M``/``P1Y``/``P3Y``) and billing."""

    duration: str | None = None
    description: str | None = None
    billing_cycle: EnumStr = None
    cancellation_policies: AnyList = []


class Availability(PCModel):
    """Where and how a SKU can be bought; ``catalog_item_id`` goes into a cart."""

    id: str
    product_id: str | None = None
    sku_id: str | None = None
    catalog_item_id: str | None = None
    default_currency: Currency | None = None
    segment: str | None = None
    country: str | None = None
    is_purchasable: bool | None = None
    is_renewable: bool | None = None
    terms: Annotated[list[AvailabilityTerm], NoneAsEmpty] = []
    renewal_instructions: AnyList = []
    links: Links | None = None
    attributes: ResourceAttributes | None = None
