"""Orders: legacy purchases (``POST /orders``) and reading them back."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from partner_center.endpoints.base import Endpoints
from partner_center.models import Order, OrderLineItem
from partner_center.records import Operation
from partner_center.wire import as_body, raw_seg, seg

__all__ = ["OrderEndpoints"]


class OrderEndpoints(Endpoints):
    # Reference: https://learn.microsoft.com/en-us/partner-center/developer/create-an-order
    def create_order(
        self,
        customer_id: str,
        line_items: Sequence[OrderLineItem | Mapping[str, Any]],
        request_id: str | uuid.UUID,
        billing_cycle: str = "monthly",
        *,
        partner_id_on_record: str | None = None,
        correlation_id: str | None = None,
    ) -> Order:
        """Return the order created (201) for ``line_items``.

        Line items without ``lineItemNumber`` are numbered 0..n-1.
        ``partner_id_on_record`` (an indirect reseller's MPN id) is set on every
        line that names none. Send the same ``request_id`` only when retrying
        this very order.

        Raise TransientError(ambiguous=True) if the order may have been placed
        without confirmation; read the customer's orders or subscriptions before
        buying again.
        """
        request_id = self._require_request_id(request_id)
        items: list[dict[str, Any]] = []
        for number, item in enumerate(line_items):
            data = as_body(item, exclude={"links"})
            data.setdefault("lineItemNumber", number)
            if partner_id_on_record and not data.get("partnerIdOnRecord"):
                data["partnerIdOnRecord"] = partner_id_on_record
            items.append(data)
        path = f"/customers/{seg(customer_id)}/orders"
        answer = self._call(
            "POST",
            path,
            body={"billingCycle": billing_cycle, "lineItems": items},
            request_id=request_id,
            correlation_id=correlation_id,
            operation=Operation.ORDER,
        )
        return self._finish_write(answer, Order, None)

    # Reference: https://learn.microsoft.com/en-us/partner-center/developer/get-an-order-by-id
    def get_order(
        self, customer_id: str, order_id: str, *, correlation_id: str | None = None
    ) -> Order:
        """Return one order; line items carry ``subscription_id`` once provisioned.

        ``order_id`` is sent exactly as given: order ids are opaque and whether
        Partner Center matches them ignoring case is not documented.
        """
        return self._get(
            f"/customers/{seg(customer_id)}/orders/{raw_seg(order_id)}",
            Order,
            correlation_id=correlation_id,
        )

    # Reference: https://learn.microsoft.com/en-us/partner-center/developer/get-all-of-a-customer-s-orders
    def list_orders(
        self, customer_id: str, *, correlation_id: str | None = None
    ) -> list[Order]:
        """Return the customer's orders (new orders may take minutes to appear)."""
        return list(
            self._iter_pages(
                f"/customers/{seg(customer_id)}/orders",
                [],
                Order,
                correlation_id=correlation_id,
            )
        )
