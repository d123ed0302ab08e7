"""Carts and checkout: how new-commerce seats are bought (§5.2)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AliasChoices, Field

from partner_center.classify import error_for_answer
from partner_center.errors import PartnerCenterError
from partner_center.models.base import (
    Code,
    EnumStr,
    KeyValuePair,
    LenientDatetime,
    Links,
    NoneAsEmpty,
    OptGuid,
    PCModel,
    ResourceAttributes,
    StrList,
)
from partner_center.models.orders import Order

__all__ = [
    "TRANSACTION_RESELLER",
    "Cart",
    "CartCheckoutResult",
    "CartError",
    "CartLineItem",
    "OrderError",
    "RenewsTo",
]

# The participant key that names the indirect reseller of record on a cart line.
TRANSACTION_RESELLER = "transaction_reseller"


class CartError(PCModel):
    """An error Partner Center attached to one cart line after creating the cart."""

    error_code: Code = None
    error_description: str | None = None

    def as_error(self) -> PartnerCenterError:
        """Return the typed error this line error means (e.g. AgreementNotAccepted)."""
        return error_for_answer(
            400, self.error_code, self.error_description or "cart line refused"
        )


class RenewsTo(PCModel):
    term_duration: str | None = None


class CartLineItem(PCModel):
    """One line of a cart; ``catalog_item_id`` is ``product:sku:availability``.

    ``id`` is a number in Microsoft's examples and a string elsewhere; both are
    kept as sent.
    """

    id: int | str | None = None
    catalog_item_id: str | None = None
    friendly_name: str | None = None
    quantity: int | None = None
    currency_code: str | None = None
    billing_cycle: EnumStr = None
    term_duration: str | None = None
    custom_term_end_date: LenientDatetime = None
    promotion_id: str | None = None
    participants: Annotated[list[KeyValuePair], NoneAsEmpty] = []
    provisioning_context: dict[str, Any] | None = None
    order_group: str | None = None
    addon_items: Annotated[list[CartLineItem], NoneAsEmpty] = []
    renews_to: RenewsTo | list[RenewsTo] | None = None
    attestation_accepted: bool | None = None
    error: CartError | None = None

    @property
    def partner_id_on_record(self) -> str | None:
        """Return the indirect reseller's MPN id from ``participants``, if set."""
        for pair in self.participants:
            if pair.key.lower() == TRANSACTION_RESELLER:
                return pair.value
        return None


class Cart(PCModel):
    """A cart; ``status`` is ``Active`` until checked out, then ``Ordered``.

    ``order_ids`` (the orders its checkout placed, ids as given) is read when
    Partner Center sends it; the documented Cart resource names only ``status``.
    """

    id: OptGuid = None
    creation_timestamp: LenientDatetime = Field(
        default=None,
        validation_alias=AliasChoices("creationTimestamp", "creationTimeStamp"),
    )
    last_modified_timestamp: LenientDatetime = Field(
        default=None,
        validation_alias=AliasChoices("lastModifiedTimestamp", "lastModifiedTimeStamp"),
    )
    expiration_timestamp: LenientDatetime = Field(
        default=None,
        validation_alias=AliasChoices("expirationTimestamp", "expirationTimeStamp"),
    )
    last_modified_user: str | None = None
    line_items: Annotated[list[CartLineItem], NoneAsEmpty] = []
    status: EnumStr = None
    order_ids: StrList = []
    partner_on_record_attestation_accepted: bool | None = None
    links: Links | None = None
    attributes: ResourceAttributes | None = None

    @property
    def line_errors(self) -> list[tuple[CartLineItem, CartError]]:
        """Return each line that carries an error, with its error."""
        return [(line, line.error) for line in self.line_items if line.error]

    @property
    def ordered(self) -> bool:
        """Return True once the cart was checked out (``status`` ``Ordered``)."""
        return (self.status or "").lower() == "ordered"


class OrderError(PCModel):
    """A checkout failure for one order group (e.g. code 13605: no agreement)."""

    order_group_id: str | None = None
    code: Code = None
    description: str | None = None

    def as_error(self) -> PartnerCenterError:
        """Return the typed error this order error means (e.g. AgreementNotAccepted)."""
        return error_for_answer(400, self.code, self.description or "order refused")


class CartCheckoutResult(PCModel):
    """The answer to a checkout: the orders created and the groups that failed.

    A checkout can succeed for some order groups and fail for others, so a 201
    may still carry ``order_errors``.
    """

    orders: Annotated[list[Order], NoneAsEmpty] = []
    order_errors: Annotated[list[OrderError], NoneAsEmpty] = []
