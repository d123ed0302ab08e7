"""New-commerce bodies from partner-center-api.md and Microsoft's doc examples parse."""

from __future__ import annotations

from datetime import UTC, datetime

from partner_center.errors import AgreementNotAccepted, GdapAccessDenied
from partner_center.models import (
    Availability,
    Cart,
    CartCheckoutResult,
    OrderError,
    Product,
    ResourceCollection,
    Sku,
    Subscription,
    Transition,
    TransitionEligibility,
    TransitionHistory,
)
from tests.partner_center.support import example


def test_an_nce_subscription_carries_its_term_window_and_links() -> None:
    body = example("subscription_nce.json")
    # Fields the 2023 SDK adds to the documented example (§3.2).
    body["cancellationAllowedUntilDate"] = "2021-01-21T16:57:15Z"
    body["refundableQuantity"] = {
        "totalQuantity": 1,
        "details": [{"quantity": 1, "allowedUntilDateTime": "2021-01-21T16:57:15Z"}],
    }

    sub = Subscription.model_validate(body)

    assert sub.is_nce
    assert sub.catalog_parts == ("CFQ7TTC0LH18", "0001", "CFQ7TTC0K971")
    assert (sub.term_duration, sub.billing_cycle) == ("P1Y", "monthly")
    assert sub.commitment_end_date == datetime(2022, 1, 13, tzinfo=UTC)
    assert sub.cancellation_allowed_until_date == datetime(
        2021, 1, 21, 16, 57, 15, tzinfo=UTC
    )
    assert sub.refundable_quantity is not None
    assert sub.refundable_quantity.total_quantity == 1
    assert sub.scheduled_next_term_instructions is None
    assert sub.link_uris["sku"] == "/products/CFQ7TTC0LH18/skus/0001?country=US"
    assert sub.order_id == "34b37d7340cc"


def test_a_legacy_subscription_is_not_nce() -> None:
    sub = Subscription.model_validate(example("subscription_legacy.json"))

    assert not sub.is_nce and sub.catalog_parts is None


def test_a_scheduled_change_is_read_from_the_documented_answer() -> None:
    sub = Subscription.model_validate(example("subscription_scheduled_change.json"))

    change = sub.scheduled_next_term_instructions
    assert change is not None and change.product is not None
    assert change.product.catalog_item_id == "DG7GMGF0DVSV:000P:DG7GMGF0F3Q9"
    assert (change.product.term_duration, change.product.billing_cycle) == (
        "P3Y",
        "Annual",
    )
    assert change.quantity == 1
    assert sub.is_nce


def test_a_cart_request_and_the_created_cart_parse() -> None:
    request = Cart.model_validate(example("cart_request.json"))
    cart = Cart.model_validate(example("cart_created.json"))

    assert request.line_items[0].catalog_item_id == "CFQ7TTC0LFLZ:0002:CFQ7TTC0K4TS"
    assert request.line_items[0].term_duration == "P1M"
    assert cart.id == "b4c8fdea-cbe4-4d17-9576-13fcacbf9605"
    assert cart.creation_timestamp == datetime(
        2018, 3, 15, 17, 15, 2, 384052, tzinfo=UTC
    )
    assert cart.line_items[0].id == 0
    assert cart.line_items[0].order_group == "0"
    assert cart.line_errors == []


def test_a_cart_line_error_becomes_a_typed_error() -> None:
    cart = Cart.model_validate(
        {
            "id": "c1",
            "lineItems": [
                {
                    "id": 0,
                    "catalogItemId": "A:B:C",
                    "error": {"errorCode": 13605, "errorDescription": "No MCA"},
                }
            ],
        }
    )

    [(line, error)] = cart.line_errors
    assert line.catalog_item_id == "A:B:C"
    assert isinstance(error.as_error(), AgreementNotAccepted)


def test_a_checkout_result_holds_orders_and_per_group_errors() -> None:
    body = example("cart_checkout_result.json")
    body["orderErrors"] = [
        {"orderGroupId": "1", "code": 13605, "description": "Agreement missing"},
        {"orderGroupId": "2", "code": "2032", "description": "Access denied"},
    ]

    result = CartCheckoutResult.model_validate(body)

    assert [o.id for o in result.orders] == [
        "3c6f2530-1e31-4088-8230-dd1c31a18bce",
        "HVu_cO8Ea7fNRQP4ia1QTpZap-kg_7P71",
    ]
    first_line = result.orders[0].line_items[0]
    assert first_line.subscription_id == "ef2e1307-86e6-40e3-a794-872403fbd31c"
    assert result.orders[1].line_items[0].offer_id == "DZH318Z0BXWC:0002:DZH318Z0BMRV"
    agreement, access = (e.as_error() for e in result.order_errors)
    assert isinstance(agreement, AgreementNotAccepted)
    assert agreement.party == "customer"
    assert isinstance(access, GdapAccessDenied)
    assert "GDAP" in access.message


def test_an_order_error_without_a_known_code_stays_a_permanent_error() -> None:
    error = OrderError(order_group_id="0", code=800002, description="bad").as_error()

    assert type(error).__name__ == "PermanentError"


def test_the_catalogue_examples_parse() -> None:
    products = ResourceCollection[Product].model_validate(example("products.json"))
    skus = ResourceCollection[Sku].model_validate(example("skus.json"))
    availabilities = ResourceCollection[Availability].model_validate(
        example("availabilities.json")
    )

    assert products.items[0].product_type is not None
    assert products.items[0].product_type.id == "Azure"
    sku = skus.items[0]
    assert (sku.id, sku.product_id, sku.supported_billing_cycles) == (
        "0001",
        "DZH318Z0BQ5S",
        ["one_time"],
    )
    assert sku.entra_sku_id is None
    availability = availabilities.items[0]
    assert availability.catalog_item_id == "DZH318Z0BQ3Q:0001:DZH318Z0HMKQ"
    assert availability.default_currency is not None
    assert availability.default_currency.code == "USD"


def test_an_entra_sku_id_is_found_where_the_catalogue_may_put_it() -> None:
    upper = "6FD2C87F-B296-42F0-B197-1E91E994B900"
    in_attributes = Sku.model_validate(
        {"id": "0001", "dynamicAttributes": {"skuId": upper, "cores": "1"}}
    )
    top_level = Sku.model_validate({"id": "0001", "entraSkuId": upper})
    neither = Sku.model_validate({"id": "0001", "dynamicAttributes": {"skuId": "x"}})

    assert in_attributes.entra_sku_id == upper.lower()
    assert top_level.entra_sku_id == upper.lower()
    assert neither.entra_sku_id is None


def test_transition_eligibilities_say_which_types_are_possible() -> None:
    page = ResourceCollection[TransitionEligibility].model_validate(
        example("transition_eligibilities.json")
    )

    e5, premium = page.items
    assert e5.eligible_for("transition_only") and not e5.transfers_licences
    assert e5.eligibilities[1].errors[0].code == 3
    assert not premium.eligible_for("transition_only")


def test_a_transition_answer_with_pascal_case_events_parses() -> None:
    request = Transition.model_validate(example("transition_request.json"))
    answer = Transition.model_validate(example("transition_created.json"))

    assert request.to_catalog_item_id == "CFQ7TTC0LF8R:0001:CFQ7TTC0KCSV"
    [event] = answer.events
    assert (event.name, event.status) == ("Conversion", "Started")
    assert not answer.finished and not answer.failed


def test_the_transition_history_is_read_from_any_wrapper() -> None:
    one = example("transition_created.json")
    documented = TransitionHistory.model_validate({"transition": [one]})
    single = TransitionHistory.model_validate({"transition": one})
    collection = TransitionHistory.model_validate({"items": [one], "totalCount": 1})
    bare = TransitionHistory.model_validate([one])

    for history in (documented, single, collection, bare):
        assert [t.to_catalog_item_id for t in history.items] == [
            "CFQ7TTC0LF8R:0001:CFQ7TTC0KCSV"
        ]
