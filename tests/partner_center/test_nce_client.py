"""New-commerce endpoints over HTTP: paths, bodies, request ids and answers.

The scripted server answers with Microsoft's documented bodies; the sandbox
tests cover the same calls against a simulated Partner Center.
"""

from __future__ import annotations

from typing import Any

import pytest

from partner_center.client import CallRecord, PartnerCenterClient
from partner_center.errors import AgreementNotAccepted, Conflict, TransientError
from partner_center.models import CartLineItem, ScheduledNextTermInstructions
from tests.partner_center.support import Canned, FakePartnerCenter, example

CID = "d6bf25b7-e0a8-4f2d-a31b-97b55cfc774d"
CUSTOMER = f"/v1/customers/{CID}"
CART_ID = "b4c8fdea-cbe4-4d17-9576-13fcacbf9605"
SID = "a4c1340d-6911-4758-bba3-0c4c6007d161"
SUB_PATH = f"{CUSTOMER}/subscriptions/{SID}"


def nce_subscription(**fields: Any) -> dict[str, Any]:
    body = example("subscription_nce.json")
    body["attributes"]["etag"] = "etag-1"
    body.update(fields)
    return body


# ------------------------------------------------------------------------ carts


def test_a_cart_is_created_with_numbered_lines_and_the_reseller_of_record(
    client: PartnerCenterClient, fake: FakePartnerCenter, records: list[CallRecord]
) -> None:
    fake.script("POST", f"{CUSTOMER}/carts", Canned(201, example("cart_created.json")))

    cart = client.create_cart(
        CID.upper(),
        [
            CartLineItem(
                catalog_item_id="CFQ7TTC0LFLZ:0002:CFQ7TTC0K4TS",
                quantity=3,
                term_duration="P1Y",
                billing_cycle="monthly",
                friendly_name="E3 (no Teams) for migration 7",
            ),
            {"catalogItemId": "CFQ7TTC0LH18:0001:CFQ7TTC0K971", "quantity": 3},
        ],
        request_id="cart-req-1",
        partner_id_on_record="1234567",
    )

    [sent] = fake.calls("POST")
    assert sent.header("MS-RequestId") == "cart-req-1"
    reseller = [{"key": "transaction_reseller", "value": "1234567"}]
    assert sent.body == {
        "lineItems": [
            {
                "id": 0,
                "catalogItemId": "CFQ7TTC0LFLZ:0002:CFQ7TTC0K4TS",
                "quantity": 3,
                "termDuration": "P1Y",
                "billingCycle": "monthly",
                "friendlyName": "E3 (no Teams) for migration 7",
                "participants": reseller,
            },
            {
                "id": 1,
                "catalogItemId": "CFQ7TTC0LH18:0001:CFQ7TTC0K971",
                "quantity": 3,
                "participants": reseller,
            },
        ],
        "attributes": {"objectType": "Cart"},
    }
    assert cart.id == CART_ID
    assert [(r.method, r.operation) for r in records] == [("POST", "cart_create")]


def test_a_cart_is_read_and_replaced_whole(
    client: PartnerCenterClient, fake: FakePartnerCenter, records: list[CallRecord]
) -> None:
    cart_path = f"{CUSTOMER}/carts/{CART_ID}"
    fake.script("GET", cart_path, Canned(200, example("cart_created.json")))
    fake.script("PUT", cart_path, lambda seen: Canned(200, seen.body))

    cart = client.get_cart(CID, CART_ID)
    cart.line_items[0].quantity = 5
    updated = client.update_cart(CID, cart, request_id="put-1")

    [put] = fake.calls("PUT")
    assert put.body["id"] == CART_ID
    assert put.body["lineItems"][0]["quantity"] == 5
    assert put.body["lineItems"][0]["provisioningContext"]["scope"] == "shared"
    assert updated.line_items[0].quantity == 5
    assert records[-1].operation == "cart_update"


def test_checkout_returns_the_orders_and_the_failed_groups(
    client: PartnerCenterClient, fake: FakePartnerCenter, records: list[CallRecord]
) -> None:
    body = example("cart_checkout_result.json")
    body["orderErrors"] = [{"orderGroupId": "1", "code": 13605, "description": "x"}]
    fake.script("POST", f"{CUSTOMER}/carts/{CART_ID}/checkout", Canned(201, body))

    result = client.checkout_cart(CID, CART_ID, request_id="checkout-1")

    [sent] = fake.calls("POST")
    assert sent.body is None and sent.header("MS-RequestId") == "checkout-1"
    assert len(result.orders) == 2
    assert isinstance(result.order_errors[0].as_error(), AgreementNotAccepted)
    assert records[-1].operation == "cart_checkout"


def test_a_checkout_refused_for_the_customer_agreement_says_so(
    client: PartnerCenterClient, fake: FakePartnerCenter
) -> None:
    fake.script(
        "POST",
        f"{CUSTOMER}/carts/{CART_ID}/checkout",
        Canned(403, {"code": 13605, "description": "MCA not accepted"}),
    )

    with pytest.raises(AgreementNotAccepted) as caught:
        client.checkout_cart(CID, CART_ID, request_id="c")

    assert "Microsoft Customer Agreement" in str(caught.value)


def test_a_cart_being_checked_out_elsewhere_is_a_conflict(
    client: PartnerCenterClient, fake: FakePartnerCenter
) -> None:
    fake.script(
        "POST",
        f"{CUSTOMER}/carts/{CART_ID}/checkout",
        Canned(409, {"code": 800064, "description": "being processed"}),
    )

    with pytest.raises(Conflict) as caught:
        client.checkout_cart(CID, CART_ID, request_id="c")

    assert caught.value.code == 800064


def test_a_lost_checkout_answer_is_ambiguous_and_not_resent(
    client: PartnerCenterClient, fake: FakePartnerCenter
) -> None:
    fake.script("POST", f"{CUSTOMER}/carts/{CART_ID}/checkout", Canned(drop=True))

    with pytest.raises(TransientError) as caught:
        client.checkout_cart(CID, CART_ID, request_id="c")

    assert caught.value.ambiguous is True
    assert len(fake.calls("POST")) == 1


def test_an_order_carries_the_reseller_of_record_when_given(
    client: PartnerCenterClient, fake: FakePartnerCenter
) -> None:
    fake.script(
        "POST", f"{CUSTOMER}/orders", Canned(201, example("order_created.json"))
    )

    client.create_order(
        CID,
        [{"offerId": "A", "quantity": 1}, {"offerId": "B", "partnerIdOnRecord": "9"}],
        request_id="o",
        partner_id_on_record="1234567",
    )

    lines = fake.calls("POST")[0].body["lineItems"]
    assert [line["partnerIdOnRecord"] for line in lines] == ["1234567", "9"]


# ------------------------------------------------------------- modern catalogue


def test_products_skus_and_availabilities_are_read_for_a_market(
    client: PartnerCenterClient, fake: FakePartnerCenter
) -> None:
    fake.script("GET", "/v1/products", Canned(200, example("products.json")))
    fake.script(
        "GET", "/v1/products/DZH318Z0BQ5S/skus", Canned(200, example("skus.json"))
    )
    fake.script(
        "GET",
        "/v1/products/DZH318Z0BQ3Q/skus/0001/availabilities",
        Canned(200, example("availabilities.json")),
    )

    products = list(client.iter_products(target_segment="commercial"))
    skus = client.list_skus("DZH318Z0BQ5S")
    availabilities = client.list_availabilities(
        "DZH318Z0BQ3Q", "0001", country="GB", target_segment="commercial"
    )

    queries = [r.query for r in fake.requests]
    assert queries == [
        {
            "targetView": "OnlineServices",
            "country": "US",
            "targetSegment": "commercial",
        },
        {"country": "US"},
        {"country": "GB", "targetSegment": "commercial"},
    ]
    assert products[0].id == "DZH318Z0BQ3Q" and skus[0].id == "0001"
    assert availabilities[0].catalog_item_id == "DZH318Z0BQ3Q:0001:DZH318Z0HMKQ"


def test_the_customer_scoped_catalogue_takes_no_country(
    client: PartnerCenterClient, fake: FakePartnerCenter
) -> None:
    fake.script("GET", f"{CUSTOMER}/products", Canned(200, example("products.json")))

    list(client.iter_products(customer_id=CID.upper()))

    [seen] = fake.requests
    assert seen.path == f"{CUSTOMER}/products"
    assert seen.query == {"targetView": "OnlineServices"}


# ---------------------------------------------------------------- subscriptions


def test_cancelling_patches_the_full_subscription_to_deleted(
    client: PartnerCenterClient, fake: FakePartnerCenter, records: list[CallRecord]
) -> None:
    fake.script("GET", SUB_PATH, Canned(200, nce_subscription()))
    fake.script("PATCH", SUB_PATH, lambda seen: Canned(200, seen.body))

    sub = client.cancel_subscription(CID, SID, request_id="cancel-1")

    [patch] = fake.calls("PATCH")
    assert patch.body["status"] == "deleted"
    assert patch.body["offerId"] == "CFQ7TTC0LH18:0001:CFQ7TTC0K971"
    assert patch.header("If-Match") == '"etag-1"'
    assert sub.status == "deleted"
    assert {r.operation for r in records} == {"subscription_cancel"}


def test_cancelling_a_cancelled_subscription_sends_nothing(
    client: PartnerCenterClient, fake: FakePartnerCenter
) -> None:
    fake.script("GET", SUB_PATH, Canned(200, nce_subscription(status="deleted")))

    client.cancel_subscription(CID, SID, request_id="cancel-2")

    assert fake.calls("PATCH") == []


def test_a_change_at_renewal_is_scheduled_with_auto_renew_on(
    client: PartnerCenterClient, fake: FakePartnerCenter, records: list[CallRecord]
) -> None:
    fake.script("GET", SUB_PATH, Canned(200, nce_subscription(autoRenewEnabled=False)))
    fake.script("PATCH", SUB_PATH, lambda seen: Canned(200, seen.body))

    sub = client.schedule_next_term(
        CID,
        SID,
        ScheduledNextTermInstructions.model_validate(
            {
                "product": {
                    "productId": "DG7GMGF0DVSV",
                    "skuId": "000P",
                    "availabilityId": "DG7GMGF0F3Q9",
                    "billingCycle": "Annual",
                    "termDuration": "P1Y",
                },
                "quantity": 12,
            }
        ),
        request_id="sched-1",
    )

    [patch] = fake.calls("PATCH")
    assert patch.body["autoRenewEnabled"] is True
    assert patch.body["scheduledNextTermInstructions"] == {
        "product": {
            "productId": "DG7GMGF0DVSV",
            "skuId": "000P",
            "availabilityId": "DG7GMGF0F3Q9",
            "billingCycle": "Annual",
            "termDuration": "P1Y",
        },
        "quantity": 12,
    }
    assert sub.scheduled_next_term_instructions is not None
    assert sub.scheduled_next_term_instructions.quantity == 12
    assert records[-1].operation == "scheduled_change"


def test_the_entra_sku_comes_from_provisioning_status_first(
    client: PartnerCenterClient, fake: FakePartnerCenter
) -> None:
    fake.script(
        "GET",
        f"{SUB_PATH}/provisioningstatus",
        Canned(200, example("provisioning_status.json")),
    )
    sub = client_sub(nce_subscription())

    link = client.entra_sku_for(CID, sub)

    assert (link.sku_id, link.source) == (
        "6fd2c87f-b296-42f0-b197-1e91e994b900",
        "provisioning_status",
    )


def test_the_entra_sku_falls_back_to_the_catalogue_then_to_unknown(
    client: PartnerCenterClient, fake: FakePartnerCenter
) -> None:
    fake.script(
        "GET",
        f"{SUB_PATH}/provisioningstatus",
        Canned(404, {"code": 20003, "description": "not for NCE"}),
    )
    sku = {
        "id": "0001",
        "dynamicAttributes": {"skuId": "3B555118-DA6A-4418-894F-7DF1E2096870"},
    }
    fake.script(
        "GET",
        "/v1/products/CFQ7TTC0LH18/skus/0001",
        Canned(200, sku),
        Canned(200, {"id": "0001"}),
    )
    sub = client_sub(nce_subscription())

    found = client.entra_sku_for(CID, sub)
    missing = client.entra_sku_for(CID, sub)

    assert (found.sku_id, found.source) == (
        "3b555118-da6a-4418-894f-7df1e2096870",
        "catalog_sku",
    )
    assert (missing.sku_id, missing.source) == (None, "unknown")


def test_a_legacy_subscription_gets_its_entra_sku_from_its_offer(
    client: PartnerCenterClient, fake: FakePartnerCenter
) -> None:
    legacy = example("subscription_legacy.json")
    legacy_path = f"{CUSTOMER}/subscriptions/{legacy['id'].lower()}"
    fake.script(
        "GET", f"{legacy_path}/provisioningstatus", Canned(200, {"status": "pending"})
    )
    fake.script(
        "GET",
        f"/v1/offers/{legacy['offerId']}",
        Canned(200, example("offer_target.json")),
    )

    link = client.entra_sku_for(CID, client_sub(legacy))

    assert (link.sku_id, link.source) == (
        "18181a46-0d4e-45cd-891e-60aabd171b4e",
        "legacy_offer",
    )


def client_sub(body: dict[str, Any]) -> Any:
    from partner_center.models import Subscription

    return Subscription.model_validate(body)


# ------------------------------------------------------------------ transitions


def test_transition_eligibilities_are_asked_for_a_type(
    client: PartnerCenterClient, fake: FakePartnerCenter
) -> None:
    fake.script(
        "GET",
        f"{SUB_PATH}/transitionEligibilities",
        Canned(200, example("transition_eligibilities.json")),
    )

    targets = client.list_transition_eligibilities(CID, SID.upper(), "scheduled")

    assert fake.requests[0].query == {"eligibilityType": "scheduled"}
    assert [t.catalog_item_id for t in targets] == [
        "CFQ7TTC0KZCR:0001:CFQ7TTC0K71H",
        "CFQ7TTC0L4M3:0001:CFQ7TTC0K78T",
    ]


def test_a_transition_is_posted_and_its_history_read(
    client: PartnerCenterClient, fake: FakePartnerCenter, records: list[CallRecord]
) -> None:
    fake.script(
        "POST",
        f"{SUB_PATH}/transitions",
        Canned(200, example("transition_created.json")),
    )
    fake.script(
        "GET",
        f"{SUB_PATH}/transitions",
        Canned(200, {"transition": [example("transition_created.json")]}),
    )

    started = client.create_transition(
        CID, SID, example("transition_request.json"), request_id="tr-1"
    )
    history = client.list_transitions(CID, SID, operation_id="op-1")

    [post] = fake.calls("POST")
    assert post.body == example("transition_request.json")
    assert post.header("MS-RequestId") == "tr-1"
    assert started.events[0].status == "Started"
    assert fake.calls("GET")[0].query == {"operationId": "op-1"}
    assert history[0].transition_type == "transition_only"
    assert [r.operation for r in records if r.is_write] == ["transition"]


# ------------------------------------------------------------------- migrations


def test_suspending_an_nce_subscription_is_refused_before_sending(
    client: PartnerCenterClient, fake: FakePartnerCenter
) -> None:
    fake.script("GET", SUB_PATH, Canned(200, nce_subscription()))
    fake.script("PATCH", SUB_PATH, lambda seen: Canned(200, seen.body))

    with pytest.raises(ValueError, match="keeps billing"):
        client.suspend_subscription(CID, SID, request_id="s-1")
    client.suspend_subscription(CID, SID, request_id="s-2", allow_nce=True)

    [patch] = fake.calls("PATCH")
    assert patch.header("MS-RequestId") == "s-2"
