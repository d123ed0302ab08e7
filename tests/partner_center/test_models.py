"""Every example body from partner-center-api.md parses, and parsing is lenient."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from partner_center.models import (
    ApiFault,
    Customer,
    CustomerUser,
    License,
    LicenseUpdate,
    Offer,
    Order,
    RelationshipRequest,
    ResourceCollection,
    SubscribedSku,
    Subscription,
    SubscriptionProvisioningStatus,
    normalise_id,
)
from tests.partner_center.support import EXAMPLES, example


def test_it_parses_the_customer_list_example() -> None:
    page = ResourceCollection[Customer].model_validate(example("customers_list.json"))

    assert page.total_count == 2
    assert page.continuation_token == "<opaque, only when more pages>"
    assert page.links is not None and page.links.self_link is not None
    assert page.links.self_link.uri == "/v1/customers?size=40"
    assert page.links.next is None
    customer = page.items[0]
    assert customer.id == "b44bb1fb-c595-45b0-9e09-d657365580bf"
    assert customer.relationship_to_partner == "reseller"
    assert customer.company_profile is not None
    assert customer.company_profile.domain == "contoso.onmicrosoft.com"
    assert customer.company_profile.company_name == "Contoso"


def test_it_parses_the_legacy_subscription_example() -> None:
    sub = Subscription.model_validate(example("subscription_legacy.json"))

    # GUID ids are lower-cased once, here; the legacy offer id keeps its form.
    assert sub.id == "968ba1cf-c146-4adf-a300-308dcf718eee"
    assert sub.offer_id == "2828BE95-46BA-4F91-B2FD-0BEF192ECF60"
    assert sub.quantity == 2
    assert sub.status == "active"
    assert sub.auto_renew_enabled is True
    assert sub.parent_subscription_id == "1c2b75c1-74a5-472a-a729-7f8cefc477f9"
    # Order ids are opaque: kept exactly as sent.
    assert sub.order_id == "CF3B0E37-BE0B-4CDD-B584-D1A97D98A922"
    assert sub.creation_date == datetime(2017, 1, 25, 23, 1, 8, 693000, tzinfo=UTC)
    assert sub.commitment_end_date == datetime(2018, 2, 10, tzinfo=UTC)
    assert sub.etag == "eyJpZCI6Ijk2…"
    assert sub.links is not None and sub.links.self_link is not None
    assert sub.links.model_extra is not None
    assert sub.links.model_extra["offer"]["uri"].startswith("/offers/")


def test_it_parses_the_nce_subscription_example() -> None:
    sub = Subscription.model_validate(example("subscription_nce.json"))

    assert sub.offer_id == "CFQ7TTC0LH18:0001:CFQ7TTC0K971"
    assert sub.product_type is not None
    assert sub.product_type.display_name == "OnlineServicesNCE"
    assert sub.billing_cycle == "monthly"
    assert sub.term_duration == "P1Y"
    assert sub.renewal_term_duration == ""
    # Seven fractional digits.
    assert sub.creation_date == datetime(2021, 1, 14, 16, 57, 15, 96672, tzinfo=UTC)
    assert sub.refund_options[0].type == "Full"
    assert sub.refund_options[0].expires_at == datetime(2021, 1, 15, tzinfo=UTC)
    assert sub.etag is None


def test_it_parses_the_provisioning_status_example() -> None:
    status = SubscriptionProvisioningStatus.model_validate(
        example("provisioning_status.json")
    )

    assert status.sku_id == "6fd2c87f-b296-42f0-b197-1e91e994b900"
    assert status.status == "success"
    assert status.quantity == 5
    assert status.end_date == datetime(2018, 5, 10, tzinfo=UTC)


def test_it_parses_the_order_request_and_the_created_order_examples() -> None:
    request = Order.model_validate({"id": "new", **example("order_request.json")})
    created = Order.model_validate(example("order_created.json"))

    assert request.line_items[0].offer_id == "796B6B5F-613C-4E24-A17C-EBA730D49C02"
    assert request.line_items[0].quantity == 25
    assert created.id == "Cs_jyTxubLpvdJXdo8xcQZN6I2RsLrgZ1"
    assert created.billing_cycle == "one_time"
    assert created.status == "pending"
    assert created.line_items[0].line_item_number == 0
    assert created.line_items[0].subscription_id is None
    assert created.links is not None
    assert created.links.model_extra is not None
    assert "provisioningStatus" in created.links.model_extra


def test_it_parses_the_offer_example() -> None:
    offer = Offer.model_validate(example("offer_target.json"))

    assert offer.id == "91FD106F-4B2C-4938-95AC-F54F74E9A239"
    assert offer.is_available_for_purchase is True
    assert offer.billing == "license"
    assert offer.product is not None
    assert offer.product.id == "18181a46-0d4e-45cd-891e-60aabd171b4e"


def test_it_parses_a_customer_user() -> None:
    user = CustomerUser.model_validate(example("user.json"))

    assert user.user_principal_name == "emily@contoso.onmicrosoft.com"
    assert user.usage_location == "US"
    assert user.state == "active"


def test_it_parses_the_user_licenses_example() -> None:
    page = ResourceCollection[License].model_validate(example("user_licenses.json"))

    licence = page.items[0]
    assert licence.sku_id == "efccb6f7-5641-4e0e-bd10-b4976e1bf68e"
    assert licence.product_sku is not None
    assert licence.product_sku.sku_part_number == "EMS"
    assert licence.product_sku.license_group_id == "group1"
    assert licence.service_plans[0].service_name == "AAD_PREMIUM"
    assert licence.service_plans[0].capability_status == "Assigned"


def test_it_parses_the_license_update_request_and_response_examples() -> None:
    request = LicenseUpdate.model_validate(example("license_update_request.json"))
    response = LicenseUpdate.model_validate(example("license_update_response.json"))

    assert (
        request.licenses_to_assign[0].sku_id == "f8a1db68-be16-40ed-86d5-cb42ce701560"
    )
    assert request.licenses_to_assign[0].excluded_plans is None
    assert request.licenses_to_remove == ["6fd2c87f-b296-42f0-b197-1e91e994b900"]
    assert response.license_warnings == []
    assert response.licenses_to_remove == []


def test_it_parses_license_warnings_with_int_or_string_codes() -> None:
    update = LicenseUpdate.model_validate(
        {
            "licensesToAssign": [],
            "licenseWarnings": [
                {"code": "100", "message": "plan skipped", "servicePlans": ["X"]},
                {"code": "ConflictingPlans", "message": "m", "servicePlans": None},
            ],
        }
    )

    assert update.license_warnings[0].code == 100
    assert update.license_warnings[1].code == "ConflictingPlans"
    assert update.license_warnings[1].service_plans == []


def test_it_parses_the_subscribed_sku_example() -> None:
    sku = SubscribedSku.model_validate(example("subscribed_sku.json"))

    assert sku.sku_id == "efccb6f7-5641-4e0e-bd10-b4976e1bf68e"
    assert (sku.available_units, sku.consumed_units, sku.total_units) == (4, 1, 5)
    assert sku.product_sku is not None
    assert sku.product_sku.target_type == "User"
    assert sku.service_plans[0].service_name == "INTUNE_A"


def test_it_parses_the_relationship_request_example() -> None:
    request = RelationshipRequest.model_validate(example("relationship_request.json"))

    assert request.url is not None
    assert "invType=ResellerRelationship" in request.url


def test_it_parses_the_error_and_429_bodies() -> None:
    fault = ApiFault.model_validate(example("error_60012.json"))
    throttled = ApiFault.model_validate(example("throttled_429.json"))

    assert fault.code == 60012
    assert fault.source == "PartnerFD"
    assert fault.data[0].startswith("LicenseQuotaExceededException")
    assert throttled.status_code == 429
    assert throttled.message is not None and "57 seconds" in throttled.message


def test_it_reads_a_string_error_code_as_an_int() -> None:
    assert ApiFault.model_validate({"code": "20002", "description": "x"}).code == 20002
    assert ApiFault.model_validate({"code": "E_X", "description": "x"}).code == "E_X"


def test_every_example_file_is_covered() -> None:
    covered = {
        "customers_list.json",
        "subscription_legacy.json",
        "subscription_nce.json",
        "provisioning_status.json",
        "order_request.json",
        "order_created.json",
        "offer_target.json",
        "user.json",
        "user_licenses.json",
        "license_update_request.json",
        "license_update_response.json",
        "subscribed_sku.json",
        "relationship_request.json",
        "error_60012.json",
        "throttled_429.json",
        # Parsed in test_models_nce.py:
        "subscription_scheduled_change.json",
        "cart_request.json",
        "cart_created.json",
        "cart_checkout_result.json",
        "transition_eligibilities.json",
        "transition_request.json",
        "transition_created.json",
        "products.json",
        "skus.json",
        "availabilities.json",
    }
    assert {p.name for p in EXAMPLES.glob("*.json")} == covered


@pytest.mark.parametrize("status", ["expired", "disabled", "quarantined", "Pending"])
def test_it_keeps_unknown_and_new_statuses_as_sent(status: str) -> None:
    sub = Subscription.model_validate({"id": "s1", "status": status})

    assert sub.status == status


def test_it_keeps_integer_enum_values_as_strings() -> None:
    sub = Subscription.model_validate(
        {"id": "s1", "status": 6, "billingCycle": 1, "billingType": 2}
    )
    customer = Customer.model_validate({"id": "c", "relationshipToPartner": 1})

    assert (sub.status, sub.billing_cycle, sub.billing_type) == ("6", "1", "2")
    assert customer.relationship_to_partner == "1"


def test_it_keeps_unknown_fields() -> None:
    sub = Subscription.model_validate(
        {"id": "s1", "status": "active", "channel": "direct", "futureThing": {"a": 1}}
    )

    assert sub.model_extra == {"channel": "direct", "futureThing": {"a": 1}}
    assert sub.model_dump(by_alias=True)["futureThing"] == {"a": 1}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("9999-12-10T00:00:00Z", datetime(9999, 12, 10, tzinfo=UTC)),
        ("2021-01-14T16:57:15.0966728Z", datetime(2021, 1, 14, 16, 57, 15, 96672, UTC)),
        ("2021-01-14T16:57:15", datetime(2021, 1, 14, 16, 57, 15, tzinfo=UTC)),
        ("2021-01-14T16:57:15+00:00", datetime(2021, 1, 14, 16, 57, 15, tzinfo=UTC)),
        ("2018-05-10", datetime(2018, 5, 10, tzinfo=UTC)),
        ("", None),
        ("not a date", None),
        (None, None),
    ],
)
def test_it_reads_datetimes_leniently(
    raw: str | None, expected: datetime | None
) -> None:
    sub = Subscription.model_validate({"id": "s1", "commitmentEndDate": raw})

    assert sub.commitment_end_date == expected


def test_it_reads_null_lists_as_empty() -> None:
    sub = Subscription.model_validate(
        {"id": "s1", "actions": None, "suspensionReasons": None, "refundOptions": None}
    )
    page = ResourceCollection[Customer].model_validate({"items": None})

    assert (
        sub.actions == [] and sub.suspension_reasons == [] and sub.refund_options == []
    )
    assert page.items == []


def test_it_accepts_a_bare_json_array_as_a_collection() -> None:
    page = ResourceCollection[Customer].model_validate([{"id": "a"}, {"id": "b"}])

    assert [c.id for c in page.items] == ["a", "b"]


def test_it_builds_models_from_python_names() -> None:
    sub = Subscription(id="s1", auto_renew_enabled=False, status="active")

    assert sub.model_dump(by_alias=True, exclude_none=True)["autoRenewEnabled"] is False


# ------------------------------------------------------------------ id normalisation


def test_guid_ids_are_lower_cased_and_offer_ids_keep_their_form() -> None:
    upper = "B44BB1FB-C595-45B0-9E09-D657365580BF"
    customer = Customer.model_validate(
        {"id": upper, "companyProfile": {"tenantId": "{" + upper + "}"}}
    )
    user = CustomerUser.model_validate({"id": upper})
    licence = License.model_validate(
        {"productSku": {"id": upper}, "servicePlans": [{"id": upper}]}
    )
    sku = SubscribedSku.model_validate({"productSku": {"id": upper}})
    update = LicenseUpdate.model_validate(
        {
            "licensesToAssign": [{"skuId": upper, "excludedPlans": [upper]}],
            "licensesToRemove": [upper],
        }
    )
    order = Order.model_validate(
        {
            "id": upper,
            "referenceCustomerId": upper,
            "lineItems": [{"offerId": upper, "subscriptionId": upper}],
        }
    )
    offer = Offer.model_validate(
        {"id": upper, "product": {"id": upper}, "upgradeTargetOffers": [upper]}
    )
    nce = Subscription.model_validate(
        {"id": upper, "offerId": "CFQ7TTC0LH18:0001:CFQ7TTC0K971", "orderId": upper}
    )

    lower = upper.lower()
    assert customer.id == lower
    assert customer.company_profile is not None
    assert customer.company_profile.tenant_id == lower
    assert user.id == lower
    assert licence.sku_id == lower and licence.service_plans[0].id == lower
    assert sku.sku_id == lower
    assert update.licenses_to_assign[0].sku_id == lower
    assert update.licenses_to_assign[0].excluded_plans == [lower]
    assert update.licenses_to_remove == [lower]
    # Order ids are opaque and may be matched with their case: kept as sent.
    assert (order.id, order.reference_customer_id) == (upper, lower)
    assert order.line_items[0].subscription_id == lower
    assert order.line_items[0].offer_id == upper
    assert offer.id == upper and offer.upgrade_target_offers == [upper]
    assert offer.product is not None and offer.product.id == lower
    assert nce.offer_id == "CFQ7TTC0LH18:0001:CFQ7TTC0K971"
    assert nce.id == lower and nce.order_id == upper


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (
            "6FD2C87F-B296-42F0-B197-1E91E994B900",
            "6fd2c87f-b296-42f0-b197-1e91e994b900",
        ),
        (
            " {6FD2C87F-B296-42F0-B197-1E91E994B900} ",
            "6fd2c87f-b296-42f0-b197-1e91e994b900",
        ),
        ("Cs_jyTxubLpvdJXdo8xcQZN6I2RsLrgZ1", "Cs_jyTxubLpvdJXdo8xcQZN6I2RsLrgZ1"),
        ("34b37d7340cc", "34b37d7340cc"),
        ("4847383", "4847383"),
        ("CFQ7TTC0LH18:0001:CFQ7TTC0K971", "CFQ7TTC0LH18:0001:CFQ7TTC0K971"),
    ],
)
def test_normalise_id_lower_cases_guids_only(raw: str, expected: str) -> None:
    assert normalise_id(raw) == expected
