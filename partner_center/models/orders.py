"""Orders (legacy purchases; they also accept modern catalogue item ids)."""

from __future__ import annotations

from typing import Annotated, Any

from partner_center.models.base import (
    EnumStr,
    LenientDatetime,
    Links,
    NoneAsEmpty,
    OptGuid,
    PCModel,
    ResourceAttributes,
    StrList,
)

__all__ = ["Order", "OrderLineItem"]


class OrderLineItem(PCModel):
    """An order line item; also used to describe line items of a new order.

    ``offer_id`` keeps its documented form (a legacy offer id or a catalogue item
    id); ``partner_id_on_record`` is the indirect reseller's MPN id.
    """

    line_item_number: int | None = None
    offer_id: str | None = None
    subscription_id: OptGuid = None
    parent_subscription_id: OptGuid = None
    friendly_name: str | None = None
    quantity: int | None = None
    term_duration: str | None = None
    billing_cycle: EnumStr = None
    custom_term_end_date: LenientDatetime = None
    promotion_id: str | None = None
    renews_to: Any = None
    transaction_type: EnumStr = None
    partner_id_on_record: str | None = None
    additional_partner_ids_on_record: StrList = []
    attestation_accepted: bool | None = None
    provisioning_context: dict[str, Any] | None = None
    links: Links | None = None


class Order(PCModel):
    """An order; ``line_items[n].subscription_id`` appears once provisioned.

    ``id`` is kept exactly as sent: legacy order ids are opaque, mixed-case
    strings (``Cs_jyTxubLpvdJXdo8xcQZN6I2RsLrgZ1``) and whether Partner Center
    looks them up ignoring case is not documented.
    """

    # Reference: https://learn.microsoft.com/en-us/partner-center/developer/create-an-order
    id: str
    reference_customer_id: OptGuid = None
    alternate_id: str | None = None
    billing_cycle: EnumStr = None
    currency_code: str | None = None
    currency_symbol: str | None = None
    line_items: Annotated[list[OrderLineItem], NoneAsEmpty] = []
    creation_date: LenientDatetime = None
    status: EnumStr = None
    transaction_type: EnumStr = None
    links: Links | None = None
    attributes: ResourceAttributes | None = None
