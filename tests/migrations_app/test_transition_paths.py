"""Microsoft's own paths, end to end over HTTP: a transition now, a change at renewal.

Both carry the users along and buy nothing; PartnerHub moves whoever they leave
behind and reads every user back. Neither retires anything itself: the transition
ends the old subscription, the renewal turns it into the new SKU.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from migrations_app.domain.plan import PlanItem, migration_plan
from migrations_app.models import (
    AuditEvent,
    LicenseMove,
    Migration,
    MigrationPath,
    SkuMapping,
    SkuMappingTarget,
    Subscription,
)
from migrations_app.services.migrations import (
    MigrationNotAllowed,
    StartItem,
    migration_start,
)
from migrations_app.services.sync import sync_run
from tests.migrations_app.migration_support import (
    catalogue,  # noqa: F401
    customer,
    drive,
    requests,
    sandbox_subscriptions,
    sandbox_users,
)

ALPINE = "Alpine Ski House"
GRAPHIC_DESIGN = "Graphic Design Institute"
O365_E1 = "CFQ7TTC0LF8Q:0001"
O365_E3 = ("Office 365 E3", "CFQ7TTC0LF8R:0001")
O365_E1_SKU = "18181a46-0d4e-45cd-891e-60aabd171b4e"
O365_E3_SKU = "6fd2c87f-b296-42f0-b197-1e91e994b900"
BUSINESS_BASIC = "CFQ7TTC0LH18:0001"
BUSINESS_STANDARD = ("Microsoft 365 Business Standard", "CFQ7TTC0LDPB:0001")
BUSINESS_BASIC_SKU = "3b555118-da6a-4418-894f-7df1e2096870"
BUSINESS_STANDARD_SKU = "f245ecc8-75af-4f8e-b61f-27d8114de5f3"
# Writes that end or weaken the old subscription: never on these paths.
RETIRING = {
    "subscription_suspend",
    "subscription_cancel",
    "subscription_auto_renew_off",
}


# Each answer the sandbox can play for what the docs leave open (shape, events).
FIDELITY = [
    pytest.param(("documented", "appended"), id="documented"),
    pytest.param(("with_target_id", "rewritten"), id="with_target_id-rewritten"),
    pytest.param(("with_target_id", "appended"), id="with_target_id-appended"),
]


@pytest.fixture(autouse=True)
def _quick_polls(settings: Any) -> None:
    settings.PARTNERHUB_PROVISIONING_POLL_SECONDS = 0.1


@pytest.fixture
def fidelity(request: Any, sandbox: Any) -> Iterator[tuple[str, str]]:
    """Play one transition shape in the sandbox; back to the strictest after."""
    shape, events = getattr(request, "param", ("documented", "appended"))
    sandbox.settings(transition_shape=shape, transition_events=events)
    yield shape, events
    sandbox.settings(transition_shape="documented", transition_events="appended")


def _map(name: str, retired: str, target: tuple[str, str]) -> None:
    """Add a SKU mapping from `retired` (productId:skuId) to one target."""
    mapping = SkuMapping.objects.create(
        product_line="Microsoft 365", retired_name=name, retired_offer_id=retired
    )
    SkuMappingTarget.objects.create(
        mapping=mapping, target_name=target[0], target_offer_id=target[1]
    )


def _sync(name: str) -> None:
    """Sync every customer; `name` must be read without an error."""
    run = sync_run()
    assert run.status in ("succeeded", "partial"), run.error
    assert not customer(name).sync_error


@pytest.fixture
def alpine(catalogue: None, sandbox: Any, db: Any) -> PlanItem:  # noqa: F811
    """Office 365 E1 mapped to Office 365 E3, synced: the transition scenario."""
    _map("Office 365 E1", O365_E1, O365_E3)
    _sync(ALPINE)
    [item] = migration_plan(customer=customer(ALPINE)).items
    return item


@pytest.fixture
def graphic_design(catalogue: None, sandbox: Any, db: Any) -> PlanItem:  # noqa: F811
    """Business Basic mapped to Business Standard, synced with every scenario."""
    sandbox.reset(20, 7)
    _map("Microsoft 365 Business Basic", BUSINESS_BASIC, BUSINESS_STANDARD)
    _sync(GRAPHIC_DESIGN)
    items = migration_plan(customer=customer(GRAPHIC_DESIGN)).items
    [item] = [i for i in items if i.subscription.catalogue_key == BUSINESS_BASIC]
    return item


def _start(item: PlanItem, operator: Any, path: str) -> Migration:
    choice = item.default_target
    assert choice is not None
    [migration] = migration_start(
        customer=item.subscription.customer,
        items=[
            StartItem(
                plan=item,
                target=choice,
                quantity=item.default_quantity,
                retire_mode=item.default_retire_mode,
                path=path,
            )
        ],
        actor=operator,
    )
    return migration


def _writes(migration: Migration) -> list[AuditEvent]:
    return list(
        AuditEvent.objects.filter(
            action="partner_center.write", migration_id=migration.pk
        )
    )


def _operations(migration: Migration) -> list[str]:
    return [str(e.details.get("operation", "")) for e in _writes(migration)]


def _holders_hold(dump: dict[str, Any], name: str, ids: set[str], sku: str) -> None:
    for user in sandbox_users(dump, name):
        if user["id"].lower() in ids:
            held = {s.lower() for s in user["licenses"]}
            assert sku in held, user


def _no_holder_holds(dump: dict[str, Any], name: str, sku: str) -> None:
    for user in sandbox_users(dump, name):
        assert sku not in {s.lower() for s in user["licenses"]}, user


# ------------------------------------------------------------------ eligibility


def test_the_sync_stores_the_transition_targets_of_retired_nce_subscriptions_only(
    alpine: PlanItem, sandbox: Any
) -> None:
    stored = alpine.subscription.transition_targets
    assert any(i.startswith(O365_E3[1] + ":") for i in stored["immediate"])
    assert any(i.startswith(O365_E3[1] + ":") for i in stored["scheduled"])
    retired = {
        s.subscription_id for s in Subscription.objects.exclude(transition_targets={})
    }
    asked = {
        r["path"].split("/subscriptions/")[1].split("/")[0].lower()
        for r in requests(sandbox.state(), "GET", "/transitionEligibilities")
    }
    assert alpine.subscription.subscription_id in asked
    # Only retired new-commerce subscriptions are asked about (Proseware's
    # Microsoft 365 E3, Margie's Customer Engagement Plan, Alpine's E1).
    assert asked == retired
    assert len(asked) == 3


def test_the_plan_offers_the_safest_path_first_and_says_what_each_means(
    alpine: PlanItem, client: Any, operator: Any
) -> None:
    assert [p for p, _ in alpine.path_choices] == ["transition", "scheduled", "buy"]
    assert alpine.default_path == "transition"
    texts = dict(alpine.path_choices)
    assert "moves the users' licences itself" in texts["transition"]
    assert "Nothing is bought" in texts["transition"]
    assert "no overlap is billed" in texts["scheduled"]
    client.force_login(operator)
    url = reverse("migration_plan", args=[customer(ALPINE).tenant_id])
    page = client.get(url).content.decode()
    assert 'data-path="transition" checked' in page
    assert "Transition now" in page and "Change at renewal" in page


def test_the_plan_keeps_buy_for_a_one_to_many_mapping(
    alpine: PlanItem, operator: Any
) -> None:
    [proseware] = migration_plan(customer=customer("Proseware Inc")).items
    assert proseware.subscription.transition_targets["immediate"]
    assert [p for p, _ in proseware.path_choices] == ["buy"]


def test_start_records_the_path_the_operator_chose_buy_included(
    alpine: PlanItem, client: Any, operator: Any
) -> None:
    client.force_login(operator)
    url = reverse("migration_plan", args=[customer(ALPINE).tenant_id])
    choice = alpine.default_target
    assert choice is not None
    form = {
        f"{alpine.key}-include": "on",
        f"{alpine.key}-target": choice.value,
        f"{alpine.key}-quantity": "12",
        f"{alpine.key}-retire_mode": alpine.default_retire_mode,
        f"{alpine.key}-path": "transition",
    }
    assert client.post(url, form).status_code == 302
    first = Migration.objects.get()
    assert (first.path, first.quantity) == ("transition", 12)
    assert first.targets.get().catalog_item_id.startswith(O365_E3[1] + ":")
    Migration.objects.filter(pk=first.pk).update(state="cancelled")

    assert client.post(url, form | {f"{alpine.key}-path": "buy"}).status_code == 302
    assert Migration.objects.exclude(pk=first.pk).get().path == "buy"


# ------------------------------------------------------------------ transition


@pytest.mark.parametrize("fidelity", FIDELITY, indirect=True)
def test_alpine_ski_house_completes_through_a_transition_with_its_stragglers_moved(
    fidelity: tuple[str, str], alpine: PlanItem, sandbox: Any, operator: Any
) -> None:
    holders = {u.user_id for u in alpine.users}
    assert len(holders) == 12
    source_id = alpine.subscription.subscription_id

    migration = drive(_start(alpine, operator, "transition"))

    assert migration.path == "transition"
    assert migration.state == "completed", migration.error_message
    dump = sandbox.state()
    [transition] = [
        t for t in dump["transitions"] if t["fromSubscriptionId"].lower() == source_id
    ]
    assert len(transition["usersLeftBehind"]) == 2
    assert not requests(dump, "POST", "/carts")
    assert not requests(dump, "POST", "/orders")
    # Only the two users the transition left behind were moved by PartnerHub.
    assert len(requests(dump, "POST", "/licenseupdates")) == 2
    _holders_hold(dump, ALPINE, holders, O365_E3_SKU)
    _no_holder_holds(dump, ALPINE, O365_E1_SKU)
    moves = list(migration.license_moves.all())
    assert {mv.status for mv in moves} == {LicenseMove.Status.MOVED}
    assert all(mv.verified_at for mv in moves)
    [target] = migration.targets.all()
    assert target.sku_id == O365_E3_SKU
    assert target.new_subscription_id == migration.new_subscription_id
    assert target.new_subscription_id == transition["toSubscriptionId"].lower()
    # Identified once, by the operation id Partner Center lists.
    assert migration.order_id == transition["operationId"].lower()
    source = Subscription.objects.get(subscription_id=source_id)
    if fidelity[0] == "documented":
        # Converted in place: the same subscription now carries Office 365 E3.
        assert target.new_subscription_id == source_id
        assert (source.status, source.catalogue_key) == ("active", O365_E3[1])
    else:
        # A new subscription got the seats; PartnerHub read the old one back.
        assert source.status == "expired"
    # Invariant 3: nothing retired it before every user held the new licence.
    assert not RETIRING & set(_operations(migration))
    assert _operations(migration).count("transition") == 1
    assert not AuditEvent.objects.filter(
        action="migration.transition_adopted", migration_id=migration.pk
    ).exists()


@pytest.mark.parametrize("fidelity", FIDELITY, indirect=True)
def test_a_lost_transition_answer_is_adopted_once_not_sent_again(
    fidelity: tuple[str, str], alpine: PlanItem, sandbox: Any, operator: Any
) -> None:
    source_id = alpine.subscription.subscription_id
    sandbox.fault(method="POST", path=r"/transitions$", action="drop_response")

    migration = drive(_start(alpine, operator, "transition"))

    assert migration.state == "completed", migration.error_message
    dump = sandbox.state()
    made = [
        t for t in dump["transitions"] if t["fromSubscriptionId"].lower() == source_id
    ]
    assert len(made) == 1
    assert len(requests(dump, "POST", "/transitions")) == 1
    applied = [w for w in dump["writes"] if w["path"].endswith("/transitions")]
    assert len(applied) == 1
    events = [
        e for e in _writes(migration) if e.details.get("operation") == "transition"
    ]
    assert len(events) == 1
    assert "read-back found the change" in events[0].message
    adopted = AuditEvent.objects.filter(
        action="migration.transition_adopted", migration_id=migration.pk
    )
    assert adopted.count() == 1
    assert migration.order_id == made[0]["operationId"].lower()
    _no_holder_holds(dump, ALPINE, O365_E1_SKU)


def test_a_transition_microsoft_carried_out_is_not_failed_after_a_day(
    fidelity: tuple[str, str], alpine: PlanItem, sandbox: Any, operator: Any
) -> None:
    sandbox.settings(provisioning_delay_seconds=3600)
    migration = _start(alpine, operator, "transition")
    sent = drive(migration, until=lambda m: bool(m.order_id))
    assert sent.state != "failed", sent.error_message
    # Partner Center finishes it after more than a day of polling.
    sandbox.post("/_sandbox/clock", {"seconds": 3601})
    Migration.objects.filter(pk=sent.pk).update(
        created_at=timezone.now() - timedelta(hours=25)
    )
    sandbox.settings(provisioning_delay_seconds=0.2)

    done = drive(sent)

    assert done.state == "completed", done.error_message
    assert _operations(done).count("transition") == 1


# ------------------------------------------------------------------ renewal


def test_graphic_design_changes_at_renewal_and_completes_after_the_clock_passes_it(
    graphic_design: PlanItem, sandbox: Any, operator: Any
) -> None:
    item = graphic_design
    assert "scheduled" in [p for p, _ in item.path_choices]
    holders = {u.user_id for u in item.users}
    assert len(holders) == 15
    source_id = item.subscription.subscription_id
    end = item.subscription.commitment_end_date
    assert end is not None

    migration = _start(item, operator, "scheduled")
    migration = drive(
        migration,
        until=lambda m: (
            m.state == "await_renewal"
            and m.next_attempt_at is not None
            and m.next_attempt_at > timezone.now() + timedelta(days=1)
        ),
    )

    # Waiting for the renewal is left to beat: nothing sleeps.
    assert migration.path == "scheduled"
    local = Subscription.objects.get(subscription_id=source_id)
    assert local.label.startswith(f"Changes to {BUSINESS_STANDARD[0]} on "), local.label
    dump = sandbox.state()
    _holders_hold(dump, GRAPHIC_DESIGN, holders, BUSINESS_BASIC_SKU)
    assert not LicenseMove.objects.filter(
        migration=migration, status=LicenseMove.Status.MOVED
    ).exists()

    days = (end - timezone.now()).days + 2
    sandbox.post("/_sandbox/clock", {"days": days})
    migration = drive(migration)

    assert migration.state == "completed", migration.error_message
    dump = sandbox.state()
    assert not requests(dump, "POST", "/carts")
    assert not requests(dump, "POST", "/orders")
    _holders_hold(dump, GRAPHIC_DESIGN, holders, BUSINESS_STANDARD_SKU)
    _no_holder_holds(dump, GRAPHIC_DESIGN, BUSINESS_BASIC_SKU)
    [old] = [
        s
        for s in sandbox_subscriptions(dump, GRAPHIC_DESIGN)
        if s["id"].lower() == source_id
    ]
    assert old["status"] == "active" and old["offerId"].startswith(BUSINESS_STANDARD[1])
    [target] = migration.targets.all()
    assert target.new_subscription_id == source_id
    assert target.sku_id == BUSINESS_STANDARD_SKU
    assert all(mv.verified_at for mv in migration.license_moves.all())
    # Invariant 3: the old SKU was never suspended, cancelled or left to expire.
    assert _operations(migration) == ["scheduled_change"]


# ------------------------------------------------------------------ capacity

M365_E3 = "CFQ7TTC0LFLX:0001"
M365_E3_NO_TEAMS = ("Microsoft 365 E3 (no Teams)", "CFQ7TTC0MBMD:0001")


def test_a_transition_that_cannot_carry_every_holder_is_not_offered_and_says_why(
    catalogue: None,  # noqa: F811
    sandbox: Any,
    operator: Any,
    db: Any,
) -> None:
    # Relecloud: 10 seats of ours, 16 holders, 8 licences from another channel.
    sandbox.reset(20, 7)
    # One target (not the Teams unbundling pair), so a transition could apply.
    SkuMapping.objects.filter(retired_name="Microsoft 365 E3").delete()
    _map("Microsoft 365 E3", M365_E3, M365_E3_NO_TEAMS)
    _sync("Relecloud")
    [item] = migration_plan(customer=customer("Relecloud")).items
    choice = item.default_target
    assert (item.subscription.quantity, len(item.users)) == (10, 16)
    # Partner Center itself would allow the transition...
    assert item.eligible_item(choice, "transition")
    # ...but it converts only these 10 seats: 6 users would lose their licence.
    assert "transition" not in dict(item.paths_for(choice))
    # A change at renewal converts the same 10 seats: not offered either.
    assert "scheduled" not in dict(item.paths_for(choice))
    assert item.default_path == MigrationPath.BUY
    problem = item.path_problem(choice, "transition")
    assert "16 users hold" in problem and "10 seats" in problem
    assert "8 of them through another channel" in problem
    assert "6 users would be left without" in problem and "buy" in problem.lower()
    assert problem in item.warnings
    assert item.path_problem(choice, "scheduled") == problem
    with pytest.raises(MigrationNotAllowed, match="16 users hold"):
        _start(item, operator, "transition")
    assert not requests(sandbox.state(), "POST", "/transitions")


def test_the_step_refuses_a_transition_whose_seats_shrank_since_the_plan(
    fidelity: tuple[str, str], alpine: PlanItem, sandbox: Any, operator: Any
) -> None:
    migration = _start(alpine, operator, "transition")
    source = alpine.subscription
    tenant = source.customer.tenant_id
    sandbox.patch(
        f"/_sandbox/customers/{tenant}/subscriptions/{source.subscription_id}",
        {"quantity": 10},
    )

    failed = drive(migration)

    assert failed.state == "failed"
    assert "12 users hold the licence" in failed.error_message
    assert "10 seats" in failed.error_message
    assert not requests(sandbox.state(), "POST", "/transitions")
