"""New commerce end to end: cart and checkout, one licence to two, retire without suspending."""

from __future__ import annotations

from typing import Any

from django.test import Client
from django.urls import reverse

from migrations_app.domain.plan import migration_plan
from migrations_app.models import AuditEvent, Subscription
from migrations_app.selectors.activity import customer_activity
from migrations_app.services.sync import sync_run
from tests.migrations_app.migration_support import (
    catalogue,  # noqa: F401
    customer,
    drive,
    requests,
    sandbox_subscriptions,
    sandbox_users,
    start,
)

PROSEWARE = "Proseware Inc"


def test_a_teams_unbundling_customer_moves_through_cart_and_checkout_to_two_licences(
    synced: Any, sandbox: Any, operator: Any
) -> None:
    [item] = migration_plan(customer=customer(PROSEWARE)).items
    assert item.source_sku_id, item.warnings
    assert [c.name for c in item.choices][0].count(" + ") == 1
    assert [mode for mode, _ in item.retire_choices] in (
        ["expire"],
        ["cancel", "expire"],
    )
    source_id = item.subscription.subscription_id
    holders = {u.user_id for u in item.users}

    [migration] = start(PROSEWARE, operator)
    migration = drive(migration)

    assert migration.state == "completed", migration.error_message
    dump = sandbox.state()
    assert requests(dump, "POST", "/carts")
    assert [r for r in requests(dump, "POST", "/checkout") if r["status"] < 400]
    assert not requests(dump, "POST", "/orders")
    targets = {t.sku_id for t in migration.targets.all()}
    assert len(targets) == 2 and all(targets)
    for user in sandbox_users(dump, PROSEWARE):
        if user["id"].lower() in holders:
            held = {sku.lower() for sku in user["licenses"]}
            assert targets <= held and migration.source_sku_id not in held
    old = next(
        s
        for s in sandbox_subscriptions(dump, PROSEWARE)
        if s["id"].lower() == source_id
    )
    assert old["status"] != "suspended"
    local = Subscription.objects.get(subscription_id=source_id)
    assert local.label.startswith("Expires on") or local.is_cancelled
    audited = set(
        AuditEvent.objects.filter(
            action="partner_center.write", migration_id=migration.pk
        ).values_list("details__operation", flat=True)
    )
    assert {"cart_create", "cart_checkout", "licence_update"} <= audited
    assert "subscription_suspend" not in audited
    tenant = customer(PROSEWARE).tenant_id
    words = [row.what for row in customer_activity(tenant_id=tenant)]
    assert {"Cart prepared", "Order placed", "Auto-renew turned off"} <= set(words)


def test_a_cancelled_migration_cancels_its_purchase_for_a_refund_inside_the_window(
    synced: Any,
    sandbox: Any,
    operator: Any,
    client: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    from migrations_app.services.migrations import migration_cancel
    from migrations_app.tasks.migration import refund_purchase
    from tests.migrations_app.migration_support import task_sends

    [migration] = start(PROSEWARE, operator)
    migration = drive(migration, until=lambda m: m.state == "preflight")
    migration_cancel(migration=migration, actor=operator)
    client.force_login(operator)
    page = client.get(f"/migrations/{migration.pk}/").content.decode()
    assert "Cancel the purchase for a refund" in page

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(f"/migrations/{migration.pk}/refund/")
    assert response.status_code == 302
    assert task_sends(callbacks, "migrations_app.tasks.refund_purchase") == [
        ((migration.pk,), {})
    ]
    # Nothing was sent to Partner Center during the request.
    bought = [t.new_subscription_id for t in migration.targets.all()]
    assert all(
        s["status"] == "active"
        for s in sandbox.state()["subscriptions"]
        if s["id"].lower() in bought
    )

    assert refund_purchase(migration.pk) == 2

    statuses = {
        s["id"].lower(): s["status"]
        for s in sandbox.state()["subscriptions"]
        if s["id"].lower() in bought
    }
    assert set(statuses.values()) == {"deleted"}
    assert (
        AuditEvent.objects.filter(
            action="migration.refunded", migration_id=migration.pk
        ).count()
        == 2
    )
    page = client.get(f"/migrations/{migration.pk}/").content.decode()
    assert "Cancel the purchase for a refund" not in page
    # A second request finds nothing left to refund.
    assert refund_purchase(migration.pk) == 0


def test_a_bundle_is_bought_on_a_term_every_target_sells() -> None:
    from migrations_app.domain.catalogue import CatalogueItem
    from migrations_app.domain.plan import TargetChoice

    def sku(name: str, *terms: tuple[str, str]) -> CatalogueItem:
        return CatalogueItem(
            key=f"{name.upper()}:0001",
            name=name,
            entra_sku_id="",
            is_modern=True,
            is_available_for_purchase=True,
            is_end_of_sale=False,
            is_add_on=False,
            minimum_quantity=1,
            maximum_quantity=100,
            terms=terms,
        )

    e3 = sku("E3 (no Teams)", ("P1M", "monthly"), ("P1Y", "monthly"), ("P1Y", "annual"))
    teams = sku("Teams Enterprise", ("P1Y", "monthly"), ("P1Y", "annual"))
    bundle = TargetChoice(names=[e3.name, teams.name], items=[e3, teams])

    assert bundle.term_for(("P1M", "monthly")) == ("P1Y", "monthly")
    assert bundle.term_for(("P1Y", "annual")) == ("P1Y", "annual")
    assert TargetChoice(names=[e3.name], items=[e3]).term_for(("P1M", "monthly")) == (
        "P1M",
        "monthly",
    )


def test_a_lost_checkout_answer_is_adopted_by_its_reference_not_bought_twice(
    synced: Any, sandbox: Any, operator: Any
) -> None:
    [migration] = start(PROSEWARE, operator)
    # The checkout is applied, but its answer never arrives.
    sandbox.fault(method="POST", path=r"/checkout$", action="drop_response")

    migration = drive(migration)

    assert migration.state == "completed", migration.error_message
    dump = sandbox.state()
    applied = [w for w in dump["writes"] if w["path"].endswith("/checkout")]
    assert len(applied) == 1
    events = AuditEvent.objects.filter(
        action="partner_center.write", pc_request_id=applied[0]["ms_request_id"]
    )
    assert [e.outcome for e in events] == ["success"]
    assert AuditEvent.objects.filter(
        action="migration.purchase_adopted", migration_id=migration.pk
    ).exists()
    # Two targets, each bought once.
    assert len({t.new_subscription_id for t in migration.targets.all()}) == 2


def test_the_migration_page_shows_every_subscription_a_bundle_bought(
    synced: Any, sandbox: Any, operator: Any, client: Client
) -> None:
    [migration] = start(PROSEWARE, operator)
    migration = drive(migration)
    assert migration.state == "completed", migration.error_message
    sync_run()
    client.force_login(operator)

    page = client.get(reverse("migration_detail", args=[migration.pk])).content.decode()

    bought = [t.new_subscription_id for t in migration.targets.all()]
    assert len(bought) == 2 and all(bought)
    assert "<h4>New subscriptions</h4>" in page
    assert page.count('class="new-subscription"') == 2
    for target in migration.targets.all():
        assert f'class="new-subscription">{target.name} <' in page
    # The purchase reference is not left in the name the customer sees.
    assert "(PH-" not in page
