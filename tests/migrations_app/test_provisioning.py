"""Provisioning after an invitation (seed 2): buy in CSP the SKU the customer holds
through another channel, so no licence moves, against the sandbox and the database."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import IntegrityError, transaction
from django.test import Client
from django.urls import reverse

from migrations_app.domain.plan.provision import ProvisionPlan, provisioning_plan
from migrations_app.models import (
    AuditEvent,
    Customer,
    Migration,
    MigrationPath,
    MigrationState,
    SubscribedSku,
)
from migrations_app.services.migrations import (
    MigrationAlreadyRunning,
    MigrationNotAllowed,
    ProvisionChoice,
    migration_cancel,
    provisioning_start,
)
from migrations_app.services.sync import sync_run
from migrations_app.workflow import registry
from sandbox import products, seed
from tests.conftest import SANDBOX_SEED
from tests.migrations_app.migration_support import advance_ids, drive, requests

pytestmark = pytest.mark.django_db

O365_E3 = "6fd2c87f-b296-42f0-b197-1e91e994b900"
EXCHANGE = "4b9405b0-7788-4568-add1-99614e613b69"


def accept_and_sync(sandbox: Any, name: str = seed.TREY_RESEARCH) -> Customer:
    """Accept the pending invitation in the sandbox, sync, return the customer."""
    tenant_id = seed.scenario_tenant_id(name, SANDBOX_SEED)
    sandbox.post(f"/_sandbox/invitations/{tenant_id}/accept", {})
    run = sync_run()
    assert run.status == "succeeded", run.error
    return Customer.objects.get(tenant_id=tenant_id)


def line(plan: ProvisionPlan, sku_id: str) -> Any:
    [found] = [x for x in plan.lines if x.sku_id == sku_id]
    return found


def tenant_state(sandbox: Any, customer: Customer) -> dict[str, Any]:
    dump = sandbox.state()
    cid = str(customer.tenant_id)
    return {
        "subscriptions": [
            s for s in dump["subscriptions"] if s["customerId"].lower() == cid
        ],
        "licences": {
            u["id"]: sorted(u["licenses"])
            for u in dump["users"]
            if u["customerId"].lower() == cid
        },
        "orders": [o for o in dump["orders"] if o["customerId"].lower() == cid],
    }


def test_an_accepted_invitation_shows_licences_from_other_channels_only_in_skus(
    synced: Any, sandbox: Any
) -> None:
    trey = accept_and_sync(sandbox)

    assert not trey.subscriptions.exists()
    skus = {s.sku_id: s for s in SubscribedSku.objects.filter(customer=trey)}
    assert skus[O365_E3].active_units == 8 and skus[O365_E3].consumed_units == 8
    assert skus[EXCHANGE].active_units == 4 and skus[EXCHANGE].consumed_units == 3


def test_the_plan_proposes_the_same_sku_in_new_commerce_with_the_seats_held(
    synced: Any, sandbox: Any, django_assert_max_num_queries: Any
) -> None:
    trey = accept_and_sync(sandbox)

    with django_assert_max_num_queries(8):
        plan = provisioning_plan(customer=trey)

    e3 = line(plan, O365_E3)
    assert e3.offer is not None and e3.offer.is_modern
    assert e3.offer.catalog_item_id == products.sku(products.O365_E3).catalog_item_id
    assert (e3.held_elsewhere, e3.minimum, e3.default_seats) == (8, 8, 8)
    assert e3.default_term == "P1Y:monthly" and not e3.blocker
    exchange = line(plan, EXCHANGE)
    assert (exchange.held_elsewhere, exchange.minimum, exchange.default_seats) == (
        4,
        3,
        4,
    )
    assert "not refunded" in plan.instruction


def test_the_plan_keeps_its_query_count_with_more_skus(
    synced: Any, sandbox: Any, django_assert_max_num_queries: Any
) -> None:
    trey = accept_and_sync(sandbox)
    more = {products.sku(k).entra_sku_id: 3 for k in (products.O365_E1,)}
    more |= {O365_E3: 8, EXCHANGE: 4, "f8a1db68-be16-40ed-86d5-cb42ce701560": 2}
    sandbox.patch(f"/_sandbox/customers/{trey.tenant_id}", {"otherChannelUnits": more})
    sync_run()

    with django_assert_max_num_queries(8):
        plan = provisioning_plan(customer=trey)

    assert len(plan.lines) == 4
    unknown = line(plan, "f8a1db68-be16-40ed-86d5-cb42ce701560")
    assert unknown.offer is None and "No CSP offer for this SKU" in unknown.blocker


def test_an_end_of_sale_sku_gets_no_offer_and_says_why(
    synced: Any, sandbox: Any
) -> None:
    trey = accept_and_sync(sandbox)
    e3_eos = products.sku(products.M365_E3).entra_sku_id
    sandbox.patch(
        f"/_sandbox/customers/{trey.tenant_id}", {"otherChannelUnits": {e3_eos: 5}}
    )
    sync_run()

    found = line(provisioning_plan(customer=trey), e3_eos)

    assert found.offer is None
    assert "end of sale" in found.blocker


def start_e3(trey: Customer, actor: Any, seats: int = 8) -> Migration:
    e3 = line(provisioning_plan(customer=trey), O365_E3)
    [migration] = provisioning_start(
        customer=trey,
        choices=[ProvisionChoice(line=e3, seats=seats, term="P1Y:monthly")],
        actor=actor,
    )
    return migration


def test_provisioning_buys_the_same_sku_once_and_moves_no_licence(
    synced: Any, sandbox: Any, operator: Any
) -> None:
    trey = accept_and_sync(sandbox)
    before = tenant_state(sandbox, trey)

    migration = start_e3(trey, operator)
    assert migration.source_subscription is None
    assert migration.path == MigrationPath.PROVISION
    assert [s.key for s in registry.path_of(migration)] == [
        "purchase",
        "await_provisioning",
        "confirm_licences",
    ]
    drive(migration)

    migration.refresh_from_db()
    assert migration.state == MigrationState.COMPLETED, migration.error_message
    after = tenant_state(sandbox, trey)
    [bought] = after["subscriptions"]
    assert bought["offerId"].upper() == products.sku(products.O365_E3).catalog_item_id
    assert bought["quantity"] == 8 and bought["status"] == "active"
    assert bought["skuId"] == O365_E3
    assert after["licences"] == before["licences"], "no user's licence changed"
    assert len(after["orders"]) == 1
    dump = sandbox.state()
    assert not requests(dump, "POST", "/licenseupdates")
    skus = sandbox_skus(sandbox, trey)
    assert skus[O365_E3]["activeUnits"] == 16
    assert skus[O365_E3]["consumedUnits"] == 8
    assert migration.new_subscription_id == bought["id"].lower()
    assert migration.target_sku_id == O365_E3
    started = AuditEvent.objects.get(action="migration.started")
    assert started.actor == "operator" and "no licence moved" in started.message
    writes = AuditEvent.objects.filter(pc_method="POST", migration_id=migration.pk)
    assert sorted(e.pc_path.rsplit("/", 1)[-1] for e in writes) == [
        "carts",
        "checkout",
    ], "each Partner Center write audited once"
    completed = AuditEvent.objects.get(action="migration.completed")
    assert "no licence moved" in completed.message
    assert "not refunded" in migration.customer_action


def sandbox_skus(sandbox: Any, customer: Customer) -> dict[str, dict[str, Any]]:
    from migrations_app.workflow.pc import partner_center_client
    from partner_center.config import shared_client  # noqa: F401

    client = partner_center_client()
    return {
        str(row.sku_id): {
            "activeUnits": row.active_units,
            "consumedUnits": row.consumed_units,
        }
        for row in client.list_subscribed_skus(str(customer.tenant_id))
    }


def test_a_lost_checkout_answer_never_buys_twice(
    synced: Any, sandbox: Any, operator: Any
) -> None:
    trey = accept_and_sync(sandbox)
    sandbox.fault(method="POST", path="/checkout$", action="drop_response")

    migration = drive(start_e3(trey, operator))

    assert migration.state == MigrationState.COMPLETED, migration.error_message
    state = tenant_state(sandbox, trey)
    assert len(state["subscriptions"]) == 1
    assert len(state["orders"]) == 1
    assert AuditEvent.objects.filter(action="migration.purchase_adopted").exists()


def test_only_one_open_provisioning_per_customer_and_sku(
    synced: Any, sandbox: Any, operator: Any
) -> None:
    trey = accept_and_sync(sandbox)
    first = start_e3(trey, operator)
    stale = line(provisioning_plan(customer=trey), O365_E3)
    stale.open_migration = None  # a plan read before the first Start

    with pytest.raises(MigrationAlreadyRunning):
        provisioning_start(
            customer=trey,
            choices=[ProvisionChoice(line=stale, seats=8, term="P1Y:monthly")],
            actor=operator,
        )
    with pytest.raises(IntegrityError), transaction.atomic():
        Migration.objects.create(
            customer=trey,
            source_sku_id=O365_E3,
            target_offer_id="X",
            target_offer_name="X",
            quantity=1,
            path=MigrationPath.PROVISION,
        )
    assert Migration.objects.filter(customer=trey).count() == 1
    assert line(provisioning_plan(customer=trey), O365_E3).open_migration == first


def test_a_migration_without_source_must_be_a_provisioning(
    synced: Any, sandbox: Any
) -> None:
    trey = accept_and_sync(sandbox)
    with pytest.raises(IntegrityError), transaction.atomic():
        Migration.objects.create(
            customer=trey,
            source_sku_id=O365_E3,
            target_offer_id="X",
            target_offer_name="X",
            quantity=1,
        )


@pytest.mark.parametrize(
    ("seats", "term", "message"),
    [
        (7, "P1Y:monthly", "at least 8 seats"),
        (8, "P9Y:weekly", "not sold on that term"),
        (20000, "P1Y:monthly", "sold in quantities from 1 to"),
    ],
)
def test_the_service_refuses_bad_choices_before_writing(
    synced: Any, sandbox: Any, operator: Any, seats: int, term: str, message: str
) -> None:
    trey = accept_and_sync(sandbox)
    e3 = line(provisioning_plan(customer=trey), O365_E3)

    with pytest.raises(MigrationNotAllowed, match=message):
        provisioning_start(
            customer=trey,
            choices=[ProvisionChoice(line=e3, seats=seats, term=term)],
            actor=operator,
        )
    assert not Migration.objects.exists()
    assert not AuditEvent.objects.filter(action="migration.started").exists()


# ----------------------------------------------------------------- the page


def signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def page_url(customer: Customer) -> str:
    return reverse("provisioning_plan", args=[customer.tenant_id])


def form_data(seats: Any = 8, term: str = "P1Y:monthly") -> dict[str, Any]:
    prefix = f"sku-{O365_E3}"
    return {
        f"{prefix}-include": "on",
        f"{prefix}-seats": seats,
        f"{prefix}-term": term,
    }


def test_the_page_says_no_licence_moves_and_originals_are_the_customers(
    synced: Any, sandbox: Any, viewer: Any
) -> None:
    trey = accept_and_sync(sandbox)
    calls = len(sandbox.state()["requests"])

    html = signed_in(viewer).get(page_url(trey)).content.decode()

    assert "no licence is reassigned" in html.lower()
    assert "not refunded" in html
    assert "Seats held elsewhere" in html and "prepaidUnits.enabled" in html
    assert "Office 365 E3" in html and "Exchange Online (Plan 1)" in html
    assert products.sku(products.O365_E3).catalog_item_id in html
    assert "Start provisioning</button>" not in html, "a viewer sees no Start"
    assert len(sandbox.state()["requests"]) == calls, "no Partner Center call"
    customer_page = signed_in(viewer).get(
        reverse("customer_detail", args=[trey.tenant_id])
    )
    assert page_url(trey) in customer_page.content.decode()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (form_data(seats=7), "at least 8 seats"),
        (form_data(seats="eight"), "Enter a whole number of seats."),
        # Arabic-Indic digits: int() reads them as 123; only 0-9 are seats.
        (form_data(seats="\u0661\u0662\u0663"), "Enter a whole number of seats."),
        (form_data(seats=""), "Enter a whole number of seats."),
        (form_data(seats=10**9), "less than or equal to 100000"),
        (
            form_data(term="P5Y:weekly"),
            "Choose one of the terms this offer is sold on.",
        ),
        ({}, "Choose at least one SKU to provision."),
    ],
)
def test_bad_input_is_refused_with_a_message_and_nothing_written(
    synced: Any, sandbox: Any, operator: Any, data: dict[str, Any], message: str
) -> None:
    trey = accept_and_sync(sandbox)
    # Leave Exchange out so only the E3 line is judged.
    response = signed_in(operator).post(page_url(trey), data)

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Migration.objects.exists()


def test_a_viewer_cannot_start(synced: Any, sandbox: Any, viewer: Any) -> None:
    trey = accept_and_sync(sandbox)
    response = signed_in(viewer).post(page_url(trey), form_data())
    assert response.status_code == 403
    assert not Migration.objects.exists()


def test_an_operator_starts_it_from_the_page_without_calling_partner_center(
    synced: Any, sandbox: Any, operator: Any, django_capture_on_commit_callbacks: Any
) -> None:
    trey = accept_and_sync(sandbox)
    calls = len(sandbox.state()["requests"])

    with django_capture_on_commit_callbacks() as callbacks:
        response = signed_in(operator).post(page_url(trey), form_data(seats=9))

    assert response.status_code == 302
    [migration] = Migration.objects.all()
    assert (migration.quantity, migration.term_duration, migration.billing_cycle) == (
        9,
        "P1Y",
        "monthly",
    )
    assert advance_ids(callbacks) == [migration.pk]
    assert len(sandbox.state()["requests"]) == calls
    page = signed_in(operator).get(page_url(trey)).content.decode()
    assert f"Provisioning #{migration.pk}" in page and "already running" in page


# ------------------------------------------------- other offers and read-backs

TEAM_MEMBERS = "6b498318-60dc-51dd-9ae5-0ce1b3de1a7e"  # a legacy offer only


def test_a_sku_sold_only_as_a_legacy_offer_is_bought_with_a_legacy_order(
    synced: Any, sandbox: Any, operator: Any
) -> None:
    trey = accept_and_sync(sandbox)
    sandbox.patch(
        f"/_sandbox/customers/{trey.tenant_id}",
        {"otherChannelUnits": {TEAM_MEMBERS: 3}},
    )
    sync_run()
    found = line(provisioning_plan(customer=trey), TEAM_MEMBERS)
    assert found.offer is not None and not found.offer.is_modern
    assert [value for value, _ in found.terms] == ["monthly", "annual"]
    assert found.default_term == "monthly"

    [migration] = provisioning_start(
        customer=trey,
        choices=[ProvisionChoice(line=found, seats=3, term="annual")],
        actor=operator,
    )
    migration = drive(migration)

    assert migration.state == MigrationState.COMPLETED, migration.error_message
    [order] = tenant_state(sandbox, trey)["orders"]
    assert [i["offerId"].upper() for i in order["lineItems"]] == [found.offer.key]
    [bought] = tenant_state(sandbox, trey)["subscriptions"]
    assert bought["skuId"] == TEAM_MEMBERS and bought["billingCycle"] == "annual"


def test_it_fails_rather_than_complete_when_the_purchase_grants_another_licence(
    synced: Any, sandbox: Any, operator: Any
) -> None:
    trey = accept_and_sync(sandbox)
    sandbox.settings(provisioning_delay_seconds=0)
    migration = drive(
        start_e3(trey, operator), until=lambda m: m.state == "await_provisioning"
    )
    [bought] = tenant_state(sandbox, trey)["subscriptions"]
    other = products.sku(products.O365_E1).entra_sku_id
    sandbox.patch(
        f"/_sandbox/customers/{trey.tenant_id}/subscriptions/{bought['id']}",
        {"skuId": other},
    )

    migration = drive(migration)

    assert migration.state == MigrationState.FAILED
    assert migration.stopped_step == "confirm_licences"
    assert "would have to be reassigned" in migration.error_message
    assert len(tenant_state(sandbox, trey)["orders"]) == 1


def test_pages_exports_and_notifications_cope_with_no_source_subscription(
    synced: Any, sandbox: Any, operator: Any
) -> None:
    trey = accept_and_sync(sandbox)
    migration = drive(start_e3(trey, operator))
    client = signed_in(operator)

    detail = client.get(reverse("migration_detail", args=[migration.pk]))
    listing = client.get(reverse("migration_list"))
    export = client.get(reverse("migration_export"))
    customer = client.get(reverse("customer_detail", args=[trey.tenant_id]))

    for response in (detail, listing, customer):
        assert response.status_code == 200
        assert "Office 365 E3 bought through another channel" in (
            response.content.decode()
        )
    assert "Same SKU as the licences bought elsewhere" in detail.content.decode()
    # The list says what the card says: a provisioning moves no licence.
    assert "3/3 steps · no licence moves" in listing.content.decode()
    assert "0/0 users" not in listing.content.decode()
    rows = b"".join(export.streaming_content).decode()
    assert "Office 365 E3 bought through another channel" in rows


def test_starting_again_after_a_cancel_takes_the_purchase_over_instead_of_buying(
    synced: Any, sandbox: Any, operator: Any
) -> None:
    trey = accept_and_sync(sandbox)
    first = drive(
        start_e3(trey, operator), until=lambda m: m.state == "await_provisioning"
    )
    migration_cancel(migration=first, actor=operator)
    again = line(provisioning_plan(customer=trey), O365_E3)
    assert again.unused_purchase == first and not again.blocker

    second = drive(start_e3(trey, operator, seats=9))

    assert second.state == MigrationState.COMPLETED, second.error_message
    assert second.order_id == first.order_id and second.quantity == 8
    state = tenant_state(sandbox, trey)
    assert len(state["orders"]) == 1 and len(state["subscriptions"]) == 1
    # Once re-read, the tenant counts both; the line says it is done, ticked off,
    # and the purchase is now the completed one's, so none is offered to take over.
    sync_run()
    done = line(provisioning_plan(customer=trey), O365_E3)
    assert (done.held_elsewhere, done.done_migration) == (8, second)
    assert done.unused_purchase is None and not done.proposed_by_default
