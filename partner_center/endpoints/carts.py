"""Carts and checkout: buying new-commerce seats (§5.2)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from partner_center.endpoints.base import Endpoints
from partner_center.models import Cart, CartCheckoutResult, CartLineItem
from partner_center.models.carts import TRANSACTION_RESELLER
from partner_center.records import Operation
from partner_center.wire import as_body, seg

__all__ = ["CartEndpoints"]


def _line_items(
    line_items: Sequence[CartLineItem | Mapping[str, Any]],
    partner_id_on_record: str | None,
) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for number, item in enumerate(line_items):
        data = as_body(item, exclude={"error"})
        data.setdefault("id", number)
        if partner_id_on_record:
            participants = list(data.get("participants") or [])
            if not any(
                str(p.get("key", "")).lower() == TRANSACTION_RESELLER
                for p in participants
            ):
                participants.append(
                    {"key": TRANSACTION_RESELLER, "value": partner_id_on_record}
                )
            data["participants"] = participants
        items.append(data)
    return items


class CartEndpoints(Endpoints):
    # Reference: https://learn.microsoft.com/en-us/partner-center/developer/create-a-cart
    def create_cart(
        self,
        customer_id: str,
        line_items: Sequence[CartLineItem | Mapping[str, Any]],
        request_id: str | uuid.UUID,
        *,
        partner_id_on_record: str | None = None,
        correlation_id: str | None = None,
    ) -> Cart:
        """Return the cart created (201) for ``line_items``.

        Lines without ``id`` are numbered 0..n-1. ``partner_id_on_record`` (an
        indirect reseller's MPN id) is added as the ``transaction_reseller``
        participant of every line that names none. Creating a cart buys nothing;
        ``checkout_cart`` does.
        """
        request_id = self._require_request_id(request_id)
        path = f"/customers/{seg(customer_id)}/carts"
        body = {
            "lineItems": _line_items(line_items, partner_id_on_record),
            "attributes": {"objectType": "Cart"},
        }
        answer = self._call(
            "POST",
            path,
            body=body,
            request_id=request_id,
            correlation_id=correlation_id,
            operation=Operation.CART_CREATE,
        )
        return self._finish_write(answer, Cart, None)

    # Reference: https://learn.microsoft.com/en-us/rest/api/partner-center/manage-orders/get-a-cart-by-id
    def get_cart(
        self, customer_id: str, cart_id: str, *, correlation_id: str | None = None
    ) -> Cart:
        """Return one cart (``status`` ``Ordered`` once checked out)."""
        return self._get(
            f"/customers/{seg(customer_id)}/carts/{seg(cart_id)}",
            Cart,
            correlation_id=correlation_id,
        )

    # Reference: https://learn.microsoft.com/en-us/partner-center/developer/update-a-cart
    def update_cart(
        self,
        customer_id: str,
        cart: Cart | Mapping[str, Any],
        request_id: str | uuid.UUID,
        *,
        partner_id_on_record: str | None = None,
        correlation_id: str | None = None,
    ) -> Cart:
        """Return the cart after replacing it with ``cart`` (PUT of the whole cart).

        ``cart`` must carry its ``id``.
        """
        request_id = self._require_request_id(request_id)
        body = as_body(cart, exclude=set())
        cart_id = str(body.get("id") or "")
        if not cart_id:
            raise ValueError("update_cart needs the cart's id")
        body["lineItems"] = _line_items(
            list(body.get("lineItems") or []), partner_id_on_record
        )
        path = f"/customers/{seg(customer_id)}/carts/{seg(cart_id)}"
        answer = self._call(
            "PUT",
            path,
            body=body,
            request_id=request_id,
            correlation_id=correlation_id,
            operation=Operation.CART_UPDATE,
        )
        return self._finish_write(answer, Cart, path, Operation.CART_UPDATE)

    # Reference: https://learn.microsoft.com/en-us/partner-center/developer/checkout-a-cart
    def checkout_cart(
        self,
        customer_id: str,
        cart_id: str,
        request_id: str | uuid.UUID,
        *,
        correlation_id: str | None = None,
    ) -> CartCheckoutResult:
        """Return the orders created by checking out the cart (201).

        A 201 can still carry ``order_errors`` for some order groups (e.g. 13605,
        the customer has not accepted the Microsoft Customer Agreement); turn one
        into a typed error with ``OrderError.as_error()``. Raise
        AgreementNotAccepted if the whole checkout is refused for that reason,
        Conflict 800064 if another request is checking the cart out, and
        PermanentError 800065 if it was already submitted (read its orders).
        Raise TransientError(ambiguous=True) if the outcome is unknown: read
        ``get_cart`` (``Ordered``?) or the orders before trying again.
        """
        request_id = self._require_request_id(request_id)
        path = f"/customers/{seg(customer_id)}/carts/{seg(cart_id)}/checkout"
        answer = self._call(
            "POST",
            path,
            request_id=request_id,
            correlation_id=correlation_id,
            operation=Operation.CART_CHECKOUT,
        )
        return self._finish_write(answer, CartCheckoutResult, None)
