"""Carts and orders: Microsoft's examples parsed by the client; the sandbox keeps their shape."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from partner_center.models import Cart, CartCheckoutResult, Order
from sandbox import catalog
from sandbox.server import SandboxServer, start_sandbox
from tests.contract.support import assert_same_shape, fixture
from tests.sandbox.conftest import Api
from tests.sandbox.test_sandbox_carts import NO_TEAMS, PROSEWARE, _cart, _line

CONTOSO = "Contoso Ltd"


@pytest.fixture(scope="module")
def api() -> Iterator[Api]:
    server: SandboxServer = start_sandbox(
        port=0, customers=20, seed=7, provisioning_delay_seconds=0
    )
    try:
        yield Api(server.url)
    finally:
        server.stop()


def test_an_order_keeps_its_mixed_case_id_and_its_status_as_sent() -> None:
    order = Order.model_validate(fixture("order_created"))

    assert order.id == "Cs_jyTxubLpvdJXdo8xcQZN6I2RsLrgZ1"
    assert order.status == "pending"
    assert order.line_items[0].friendly_name == "A_sample_Azure_RI"
    assert order.line_items[0].offer_id == "84A03D81-6B37-4D66-8D4A-FAEA24541538"


def test_a_checkout_result_keeps_every_order_id_as_given() -> None:
    result = CartCheckoutResult.model_validate(fixture("cart_checkout_result"))

    assert [o.id for o in result.orders] == [
        "3c6f2530-1e31-4088-8230-dd1c31a18bce",
        "311qiN8iFwkv-XARWMvXRYAwYKMACVqv1",
    ]
    assert [o.status for o in result.orders] == ["completed", "pending"]
    assert result.orders[1].line_items[0].offer_id == "DZH318Z0BQ36:004G:DZH318Z08C0S"
    assert result.order_errors == []


def test_a_checked_out_cart_reads_as_ordered() -> None:
    cart = Cart.model_validate(fixture("cart"))

    assert cart.status == "Ordered" and cart.ordered
    assert cart.order_ids == []
    assert cart.line_items[0].catalog_item_id == "CFQ7TTC0LFLZ:0002:CFQ7TTC0K4TS"


def test_the_sandbox_answers_an_order_in_the_documented_shape(api: Api) -> None:
    cid = api.scenario(CONTOSO)["id"]
    offer = catalog.offer_by_name(catalog.D365_UNIFIED_OPERATIONS)["id"]
    body = {
        "lineItems": [
            {"lineItemNumber": 0, "offerId": offer, "quantity": 1, "friendlyName": "x"}
        ]
    }
    answer = api.post(
        f"/customers/{cid}/orders",
        json=body,
        headers={"MS-RequestId": str(uuid.uuid4())},
    ).json()

    # The example buys an Azure reservation, whose line links its product SKU; a
    # legacy licence offer has no product SKU to link.
    optional = {"$.lineItems[0].links.sku"}
    assert_same_shape(fixture("order_created"), answer, optional=optional)
    assert Order.model_validate(answer).id == answer["id"]


def test_the_sandbox_answers_a_checkout_and_a_cart_in_the_documented_shape(
    api: Api,
) -> None:
    cid = api.scenario(PROSEWARE)["id"]
    cart = _cart(api, cid, _line(NO_TEAMS, friendlyName="optional"))
    path = f"/customers/{cid}/carts/{cart['id']}"
    result = api.post(
        f"{path}/checkout", headers={"MS-RequestId": str(uuid.uuid4())}
    ).json()
    read: dict[str, Any] = api.get(path).json()

    # alternateId and transactionType are in Microsoft's example only.
    optional = {
        "$.orders[0].alternateId",
        "$.orders[0].transactionType",
        "$.orders[0].lineItems[0].subscriptionId",
    }
    assert_same_shape(fixture("cart_checkout_result"), result, optional=optional)
    assert_same_shape(fixture("cart"), read, optional=set())
    assert Cart.model_validate(read).ordered
