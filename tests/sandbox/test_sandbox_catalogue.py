"""The modern catalogue: products, SKUs and availabilities with Entra skuIds and
end-of-sale flags, partner-wide and customer-scoped."""

from __future__ import annotations

from typing import Any

from sandbox import products
from sandbox.seed import PROSEWARE

E3 = products.sku(products.M365_E3)
E3_NO_TEAMS = products.sku(products.M365_E3_NO_TEAMS)


def test_it_lists_online_services_products_and_needs_a_target_view(api: Any) -> None:
    body = api.get("/products?country=US&targetView=OnlineServices").json()
    ids = [p["id"] for p in body["items"]]
    assert E3.product_id in ids and E3_NO_TEAMS.product_id in ids
    assert body["items"][0]["attributes"]["objectType"] == "Product"
    assert api.get("/products?country=US").status_code == 400
    assert api.get("/products?targetView=OnlineServices").status_code == 400
    azure = api.get("/products?country=US&targetView=Azure").json()
    assert azure["items"] == []


def test_a_sku_names_the_entra_sku_id_it_grants_and_whether_it_is_end_of_sale(
    api: Any,
) -> None:
    sku = api.get(f"/products/{E3.product_id}/skus/{E3.sku_id}?country=US").json()
    assert sku["productId"] == E3.product_id and sku["id"] == "0001"
    assert sku["dynamicAttributes"]["skuId"] == "05e9a617-0261-4cee-bb44-138d3ef5d965"
    assert sku["dynamicAttributes"]["isEndOfSale"] is True
    assert E3_NO_TEAMS.key in sku["dynamicAttributes"]["upgradeTargetOffers"]
    assert sku["purchasePrerequisites"] == ["MicrosoftCustomerAgreement"]
    current = api.get(f"/products/{E3_NO_TEAMS.product_id}/skus?country=US").json()
    assert current["items"][0]["dynamicAttributes"]["isEndOfSale"] is False


def test_an_availability_gives_the_catalog_item_id_terms_and_purchasability(
    api: Any,
) -> None:
    base = f"/products/{E3.product_id}/skus/{E3.sku_id}/availabilities"
    (retired,) = api.get(f"{base}?country=US").json()["items"]
    assert retired["catalogItemId"] == E3.catalog_item_id
    assert retired["isPurchasable"] is False
    one = api.get(f"{base}/{E3.availability_id}?country=US").json()
    assert one["id"] == E3.availability_id
    new = api.get(
        f"/products/{E3_NO_TEAMS.product_id}/skus/0001/availabilities?country=US"
    ).json()["items"][0]
    assert new["isPurchasable"] is True
    terms = {(t["duration"], t["billingCycle"]) for t in new["terms"]}
    assert {("P1M", "monthly"), ("P1Y", "annual"), ("P3Y", "triennial")} <= terms
    refunds = new["terms"][0]["cancellationPolicies"][0]["refunds"]
    assert refunds[0]["expiresAfter"] == "P7D"


def test_unknown_catalogue_items_are_404_and_offers_refuse_modern_ids(
    api: Any,
) -> None:
    assert api.get("/products/NOPE?country=US").status_code == 404
    assert api.get(f"/products/{E3.product_id}/skus/9999?country=US").status_code == 404
    missing = api.get(
        f"/products/{E3.product_id}/skus/0001/availabilities/NOPE?country=US"
    )
    assert missing.status_code == 404 and missing.json()["source"] == "PartnerFD"
    offer = api.get(f"/offers/{E3.catalog_item_id}?country=US")
    assert offer.status_code == 400 and offer.json()["code"] == 2100


def test_customer_scoped_catalogue_uses_the_customers_country(api: Any) -> None:
    cid = api.scenario(PROSEWARE)["id"]
    listed = api.get(f"/customers/{cid}/products?targetView=OnlineServices").json()
    assert len(listed["items"]) == len(products.product_ids())
    avail = api.get(
        f"/customers/{cid}/products/{E3_NO_TEAMS.product_id}/skus/0001/availabilities"
    ).json()["items"][0]
    assert avail["country"] == "US"
    assert (
        api.get("/customers/unknown/products?targetView=OnlineServices").json()["code"]
        == 60003
    )
