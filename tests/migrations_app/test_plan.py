"""The plan preview: which subscriptions move, to what, how many seats, which users."""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from migrations_app.domain.plan import migration_plan
from migrations_app.models import SubscribedSku, Subscription
from migrations_app.selectors.migrations import customer_panel, migration_cards
from migrations_app.services.migrations import (
    StartItem,
    migration_cancel,
    migration_start,
)
from tests.migrations_app.migration_support import (
    ADVENTURE_WORKS,
    CONTOSO,
    FABRIKAM,
    LITWARE,
    NORTHWIND,
    TAILSPIN,
    WIDE_WORLD,
    customer,
    drive,
    start,
)


def test_the_default_target_is_the_first_choice_and_the_quantity_the_old_one(
    synced: Any,
) -> None:
    [item] = migration_plan(customer=customer(CONTOSO)).items
    assert item.subscription.offer_name == "Dynamics AX Enterprise"
    assert [c.name for c in item.choices] == [
        "Dynamics 365 for Unified Operations",
        "Dynamics 365 Plan",
    ]
    assert item.default_target is not None
    assert item.default_target.name == "Dynamics 365 for Unified Operations"
    assert item.default_quantity == 15 and item.minimum_quantity == 12
    assert len(item.users) == 12 and item.warnings == []
    end = item.subscription.commitment_end_date
    assert item.retire_choices[1][1] == f"Let it expire on {end:%b} {end.day}, {end:%Y}"


def test_the_quantity_is_never_below_the_users_to_move(synced: Any) -> None:
    Subscription.objects.filter(
        customer=customer(CONTOSO), offer_name="Dynamics AX Enterprise"
    ).update(quantity=10)
    # The tenant agrees: no licence of it was bought through another channel.
    SubscribedSku.objects.filter(customer=customer(CONTOSO)).update(active_units=10)
    [item] = migration_plan(customer=customer(CONTOSO)).items
    assert item.default_quantity == 12
    assert item.warnings == [
        "Not enough seats: 12 users hold this licence but the subscription has 10. "
        "The new subscription needs at least 12."
    ]
    [litware] = migration_plan(customer=customer(LITWARE)).items
    assert litware.default_quantity == 4 == len(litware.users)


def test_only_retired_skus_are_planned_and_users_come_from_the_synced_licences(
    synced: Any,
) -> None:
    [item] = migration_plan(customer=customer(FABRIKAM)).items
    assert item.subscription.offer_name == "Dynamics CRM Online Professional"
    holders = {u.user_id for u in item.users}
    assert len(holders) == 10
    assert item.source_sku_id


def test_expired_subscriptions_are_left_out_with_the_reason(synced: Any) -> None:
    plan = migration_plan(customer=customer(ADVENTURE_WORKS))
    assert plan.items == []
    [skipped] = plan.skipped
    assert skipped.subscription.offer_name == "Dynamics CRM Online Essential"
    assert skipped.reason == "Its status is expired, so there is nothing to move."


def test_an_already_suspended_subscription_can_still_move_its_users(
    synced: Any,
) -> None:
    [item] = migration_plan(customer=customer(TAILSPIN)).items
    assert len(item.users) == 6
    assert item.retire_choices == [("expire", "Already suspended — left as it is")]


def test_an_already_suspended_source_is_left_as_it_is_and_said_so(
    synced: Any, sandbox: Any, operator: Any, client: Any
) -> None:
    client.force_login(operator)
    url = reverse("migration_plan", args=[customer(TAILSPIN).tenant_id])
    page = client.get(url).content.decode()
    assert "Already suspended — left as it is" in page
    assert "Suspend now" not in page

    [migration] = start(TAILSPIN, operator, retire_mode="expire")
    migration = drive(migration)

    assert migration.state == "completed", migration.error_message
    source = Subscription.objects.get(pk=migration.source_subscription_id)
    assert source.suspended_by_partnerhub_at is None
    [card] = migration_cards([migration])
    assert card.timeline[-1].detail == "Already suspended before the migration."


def test_another_partners_id_on_a_subscription_does_not_change_the_plan(
    synced: Any,
) -> None:
    # partnerId is the reseller of record: only a refused change says "not ours".
    [item] = migration_plan(customer=customer(NORTHWIND)).items
    assert item.subscription.reseller_of_record == "9988776"
    assert item.warnings == [
        "Sold through indirect reseller 9988776: the new subscription is bought "
        "with the same reseller of record."
    ]


def test_subscriptions_being_or_already_migrated_are_left_out(
    synced: Any, sandbox: Any, operator: Any, settings: Any
) -> None:
    settings.PARTNERHUB_PROVISIONING_POLL_SECONDS = 0.1
    [migration] = start(CONTOSO, operator)
    plan = migration_plan(customer=customer(CONTOSO))
    assert plan.items == [] and plan.skipped[0].reason == "Already migrating."
    assert plan.skipped[0].migrating

    drive(migration)
    [skipped] = migration_plan(customer=customer(CONTOSO)).skipped
    assert skipped.reason == "Already migrated (completed)."
    assert not skipped.migrating

    [fabrikam] = start(FABRIKAM, operator)
    migration_cancel(migration=fabrikam, actor=operator)
    assert len(migration_plan(customer=customer(FABRIKAM)).items) == 1


def test_a_customer_whose_retired_subscriptions_cannot_move_is_told_why(
    synced: Any, client: Any, viewer: Any
) -> None:
    client.force_login(viewer)
    tenant = customer(ADVENTURE_WORKS).tenant_id
    page = client.get(
        reverse("migration_customer_panel", args=[tenant])
    ).content.decode()
    assert "No retired-SKU subscription can be migrated now" in page
    assert "Its status is expired, so there is nothing to move." in page
    assert "has no subscription on a retired SKU" not in page


def test_a_failed_migration_stays_a_card_and_the_plan_links_to_it(
    synced: Any, sandbox: Any, operator: Any, client: Any
) -> None:
    wide = customer(WIDE_WORLD)
    first_item, _ = migration_plan(customer=wide).items
    target = first_item.default_target
    assert target is not None
    [failed] = migration_start(
        customer=wide,
        items=[StartItem(first_item, target, first_item.default_quantity, "suspend")],
        actor=operator,
    )
    failed = drive(failed)
    assert failed.state == "failed"
    wide.users.filter(usage_location="").update(usage_location="US")
    [second] = start(WIDE_WORLD, operator)

    [skip] = [s for s in migration_plan(customer=wide).skipped if s.failed]
    assert skip.reason == (
        f"Migration #{failed.pk} failed at buying the new subscription — open it "
        "to retry."
    )
    client.force_login(operator)
    plan_page = client.get(
        reverse("migration_plan", args=[wide.tenant_id])
    ).content.decode()
    assert f'href="/migrations/{failed.pk}/"' in plan_page
    panel = customer_panel(customer=wide)
    assert {card.migration.pk for card in panel.cards} == {second.pk, failed.pk}
    assert panel.earlier == []
