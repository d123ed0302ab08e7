"""Catalogue and seed data: scenarios, generated estates, determinism, speed."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sandbox import catalog, products
from sandbox.seed import (
    ADVENTURE_WORKS,
    ALPINE_SKI_HOUSE,
    BEST_FOR_YOU,
    CONTOSO,
    FABRIKAM,
    FOURTH_COFFEE,
    GRAPHIC_DESIGN,
    INVITATIONS,
    LITWARE,
    LONG_NAME,
    MARGIES_TRAVEL,
    NO_SUBSCRIPTIONS,
    NORTHWIND,
    PROSEWARE,
    SCENARIO_CUSTOMERS,
    TAILSPIN,
    VANARSDEL,
    WIDE_WORLD,
    build_state,
    scenario_tenant_id,
)
from sandbox.server import SandboxServer
from sandbox.state import OTHER_PARTNER_ID, PARTNER_ID


def _tenant(state_dump: dict[str, Any], name: str) -> dict[str, Any]:
    """Return {customer, subscriptions, users} for a company name in a dump."""
    tenants = state_dump["customers"] + state_dump["invitations"]
    customer = next(c for c in tenants if c["companyName"] == name)
    cid = customer["id"]
    return {
        "customer": customer,
        "subscriptions": [
            s for s in state_dump["subscriptions"] if s["customerId"] == cid
        ],
        "users": [u for u in state_dump["users"] if u["customerId"] == cid],
    }


def test_retired_offers_are_not_purchasable_and_targets_are() -> None:
    retired = [catalog.offer_by_name(n) for n in catalog.RETIRED_NAMES]
    targets = [catalog.offer_by_name(n) for n in catalog.TARGET_NAMES]
    assert len(retired) == 10 and len(targets) == 10
    assert all(not o["isAvailableForPurchase"] for o in retired)
    assert all(o["isAvailableForPurchase"] for o in targets)
    addons = {o["name"] for o in catalog.OFFERS if o["isAddOn"]}
    assert addons == {catalog.CRM_FIELD_SERVICE, catalog.CRM_PROJECT_SERVICE}


def test_catalogue_ids_are_unique_and_stable_guids() -> None:
    ids = [o["id"] for o in catalog.OFFERS]
    skus = [o["skuId"] for o in catalog.OFFERS]
    assert len(set(ids)) == len(ids) and len(set(skus)) == len(skus)
    e3 = catalog.offer_by_name(catalog.O365_E3)
    assert e3["skuId"] == "6fd2c87f-b296-42f0-b197-1e91e994b900"
    assert catalog.offer_by_id(e3["id"].lower()) is e3
    assert catalog.offer_by_sku(e3["skuId"].upper()) is e3
    offer = catalog.offer_json(catalog.offer_by_name(catalog.AX_ENTERPRISE))
    assert offer["product"] == {
        "id": catalog.offer_by_name(catalog.AX_ENTERPRISE)["skuId"],
        "name": catalog.AX_ENTERPRISE,
        "unit": "Licenses",
    }
    assert (offer["minimumQuantity"], offer["maximumQuantity"]) == (1, 10000)
    assert offer["billing"] == "license"


def test_every_retired_sku_maps_to_purchasable_targets() -> None:
    for name in catalog.RETIRED_NAMES:
        targets = catalog.RETIRED_TARGETS[name]
        assert targets
        for target in targets:
            assert catalog.offer_by_name(target)["isAvailableForPurchase"]


def test_scenario_customers_come_first_with_stable_ids() -> None:
    dump = build_state(20, seed=3).dump()
    names = [c["companyName"] for c in dump["customers"]]
    assert names[: len(SCENARIO_CUSTOMERS)] == list(SCENARIO_CUSTOMERS)
    assert len(names) == 20 and len(set(names)) == 20
    contoso = next(c for c in dump["customers"] if c["companyName"] == CONTOSO)
    assert contoso["id"] == scenario_tenant_id(CONTOSO, 3)
    assert build_state(500, seed=3).customer_by_name(CONTOSO)["id"] == contoso["id"]
    assert build_state(20, seed=4).customer_by_name(CONTOSO)["id"] != contoso["id"]


def test_contoso_is_the_expiring_ax_enterprise_demo() -> None:
    tenant = _tenant(build_state(12, seed=1).dump(), CONTOSO)
    (sub,) = tenant["subscriptions"]
    assert sub["offerName"] == catalog.AX_ENTERPRISE
    assert sub["quantity"] == 15 and sub["status"] == "active"
    assert sub["autoRenewEnabled"] is False and sub["partnerId"] == PARTNER_ID
    end = datetime.strptime(sub["commitmentEndDate"], "%Y-%m-%dT%H:%M:%SZ")
    days = (end.replace(tzinfo=UTC) - datetime.now(UTC)).days
    assert 58 <= days <= 60
    assert len(tenant["users"]) == 12
    assert all(sub["skuId"] in u["licenses"] for u in tenant["users"])


def test_the_other_scenarios_have_their_documented_shape() -> None:
    dump = build_state(12, seed=1).dump()
    fabrikam = _tenant(dump, FABRIKAM)
    offers = {s["offerName"]: s for s in fabrikam["subscriptions"]}
    assert set(offers) == {catalog.CRM_PROFESSIONAL, catalog.O365_E3}
    assert offers[catalog.CRM_PROFESSIONAL]["autoRenewEnabled"] is True
    assert len(fabrikam["users"]) == 10

    (northwind,) = _tenant(dump, NORTHWIND)["subscriptions"]
    assert northwind["offerName"] == catalog.CRM_BASIC
    assert northwind["partnerId"] == OTHER_PARTNER_ID
    assert len(_tenant(dump, NORTHWIND)["users"]) == 5

    (tailspin,) = _tenant(dump, TAILSPIN)["subscriptions"]
    assert (tailspin["offerName"], tailspin["status"]) == (catalog.AX_TASK, "suspended")

    adventure = _tenant(dump, ADVENTURE_WORKS)["subscriptions"]
    assert {(s["offerName"], s["status"]) for s in adventure} == {
        (catalog.CRM_ESSENTIAL, "expired"),
        (catalog.O365_E1, "disabled"),
    }

    wide = _tenant(dump, WIDE_WORLD)
    assert {s["offerName"] for s in wide["subscriptions"]} == {
        catalog.AX_ENTERPRISE,
        catalog.CRM_FIELD_SERVICE,
    }
    assert sum(1 for u in wide["users"] if not u["usageLocation"]) == 2

    assert 85 <= len(LONG_NAME) <= 95
    assert _tenant(dump, NO_SUBSCRIPTIONS)["subscriptions"] == []

    litware = _tenant(dump, LITWARE)
    (crm,) = litware["subscriptions"]
    assert crm["offerName"] == catalog.CRM_ENTERPRISE
    assert crm["quantity"] == len(litware["users"]) == 4


def test_invitations_are_known_but_not_listed() -> None:
    state = build_state(15, seed=1)
    assert len(state.invitations) == 3
    names = {c["companyName"] for c in state.invitations.values()}
    assert names == set(INVITATIONS)
    listed = {c["companyName"] for c in state.customers.values()}
    assert not names & listed


def test_same_seed_gives_the_same_dump() -> None:
    moment = datetime.now(UTC)
    first = json.dumps(build_state(300, seed=11, now=moment).dump(), sort_keys=True)
    second = json.dumps(build_state(300, seed=11, now=moment).dump(), sort_keys=True)
    other = json.dumps(build_state(300, seed=12, now=moment).dump(), sort_keys=True)
    assert first == second
    assert first != other


def test_two_servers_with_the_same_seed_serve_the_same_state(
    start: Callable[..., SandboxServer],
) -> None:
    import requests

    dumps = []
    for _ in range(2):
        server = start(customers=40, seed=5)
        dumps.append(requests.get(f"{server.url}/_sandbox/state", timeout=10).json())
    assert dumps[0] == dumps[1]


def test_generated_customers_have_a_realistic_mix() -> None:
    state = build_state(2000, seed=2)
    dump = state.dump()
    generated = {c["id"] for c in dump["customers"] if c["scenario"] is None}
    by_customer: dict[str, list[dict[str, Any]]] = {}
    for sub in dump["subscriptions"]:
        if sub["customerId"] in generated:
            by_customer.setdefault(sub["customerId"], []).append(sub)
    ax = sum(
        1
        for subs in by_customer.values()
        if any(s["offerName"] in catalog.AX_RETIRED for s in subs)
    )
    crm = sum(
        1
        for subs in by_customer.values()
        if any(s["offerName"] in catalog.CRM_RETIRED for s in subs)
    )
    assert 0.15 < ax / len(generated) < 0.25
    assert 0.10 < crm / len(generated) < 0.20
    subs = [s for per in by_customer.values() for s in per]
    modern = [
        s for s in subs if s.get("productType", {}).get("id") == "OnlineServicesNCE"
    ]
    assert len(modern) > 0.6 * len(subs)
    assert {s["termDuration"] for s in modern} == {"P1M", "P1Y"}
    assert {s["billingCycle"] for s in modern} == {"monthly", "annual"}
    assert any(s["refundableQuantity"]["totalQuantity"] for s in modern)
    statuses = Counter(s["status"] for subs in by_customer.values() for s in subs)
    assert statuses["suspended"] and statuses["expired"] and statuses["disabled"]
    assert any(
        s["partnerId"] == OTHER_PARTNER_ID
        for subs in by_customer.values()
        for s in subs
    )
    assert any(not s["autoRenewEnabled"] for subs in by_customer.values() for s in subs)
    users = [u for u in dump["users"] if u["customerId"] in generated]
    assert any(u["usageLocation"] is None for u in users)
    per_customer = Counter(u["customerId"] for u in users)
    assert max(per_customer.values()) <= 40
    assert all(d["domain"].endswith(".onmicrosoft.com") for d in dump["customers"])
    assert len({d["domain"] for d in dump["customers"]}) == len(dump["customers"])


def test_seeded_licences_never_exceed_active_seats_for_our_active_subscriptions() -> (
    None
):
    state = build_state(1000, seed=9)
    for cid in state.customer_ids():
        for sku, row in state.sku_units(cid).items():
            if row["suspended"] == 0 and row["active"] > 0:
                assert row["consumed"] <= row["active"], (cid, sku, row)


def test_seeding_5000_customers_takes_under_five_seconds() -> None:
    started = time.perf_counter()
    state = build_state(5000, seed=1)
    elapsed = time.perf_counter() - started
    assert len(state.customers) == 5000
    assert elapsed < 5.0, f"seeding took {elapsed:.2f}s"


def test_dates_are_relative_to_today() -> None:
    tomorrow = datetime.now(UTC) + timedelta(days=1)
    today = build_state(10, seed=1).customer_by_name(CONTOSO)
    later = build_state(10, seed=1, now=tomorrow)
    assert today["id"] == later.customer_by_name(CONTOSO)["id"]
    sub_today = build_state(10, seed=1).subscriptions_of(today["id"])[0]
    sub_later = later.subscriptions_of(today["id"])[0]
    assert sub_today["commitmentEndDate"] != sub_later["commitmentEndDate"]


def test_the_modern_scenarios_have_their_documented_shape() -> None:
    state = build_state(len(SCENARIO_CUSTOMERS), seed=1)
    dump = state.dump()
    today = datetime.now(UTC)

    def days_to(text: str) -> float:
        moment = datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        return (moment - today).total_seconds() / 86400

    proseware = _tenant(dump, PROSEWARE)
    (e3,) = proseware["subscriptions"]
    assert e3["offerId"] == products.sku(products.M365_E3).catalog_item_id
    assert (e3["quantity"], e3["autoRenewEnabled"]) == (20, True)
    assert sum(e3["skuId"] in u["licenses"] for u in proseware["users"]) == 18

    margies = {
        s["offerName"]: s for s in _tenant(dump, MARGIES_TRAVEL)["subscriptions"]
    }
    plan = margies["Dynamics 365 Customer Engagement Plan"]
    assert (
        plan["autoRenewEnabled"] is False
        and 80 < days_to(plan["commitmentEndDate"]) < 100
    )

    (e1,) = _tenant(dump, ALPINE_SKI_HOUSE)["subscriptions"]
    assert (e1["termDuration"], e1["transitionStragglers"]) == ("P1M", 2)

    for sub in _tenant(dump, BEST_FOR_YOU)["subscriptions"]:
        assert 0 < days_to(sub["cancellationAllowedUntilDate"]) <= 7

    graphic = {
        s["offerName"]: s for s in _tenant(dump, GRAPHIC_DESIGN)["subscriptions"]
    }
    assert (
        10 < days_to(graphic["Microsoft 365 Business Basic"]["commitmentEndDate"]) < 13
    )
    assert graphic["Microsoft 365 E5"]["autoRenewEnabled"] is False

    fourth = {s["offerName"]: s for s in _tenant(dump, FOURTH_COFFEE)["subscriptions"]}
    premium = fourth["Microsoft 365 Business Premium"]
    assert (
        premium["status"] == "suspended" and premium["billing"]["status"] == "billing"
    )

    vanarsdel = {s["offerName"] for s in _tenant(dump, VANARSDEL)["subscriptions"]}
    assert "Dynamics 365 Unified Operations Plan" in vanarsdel
