"""Cancelled migrations: what they report, and a new start reusing their purchase."""

from __future__ import annotations

from typing import Any

import pytest

from migrations_app.domain.plan import migration_plan
from migrations_app.selectors.migrations import migration_cards
from migrations_app.services.migrations import migration_cancel
from migrations_app.workflow import registry
from tests.migrations_app.migration_support import (
    CONTOSO,
    customer,
    drive,
    orders_for_offer,
    start,
)


@pytest.fixture(autouse=True)
def _fast_polls(settings: Any) -> None:
    settings.PARTNERHUB_PROVISIONING_POLL_SECONDS = 0.1


def test_starting_again_after_a_cancel_reuses_the_subscription_it_bought(
    synced: Any, sandbox: Any, operator: Any
) -> None:
    [first] = start(CONTOSO, operator)
    first = drive(first, until=lambda m: m.state == "preflight")
    assert first.order_id and first.new_subscription_id
    migration_cancel(migration=first, actor=operator)

    [item] = migration_plan(customer=customer(CONTOSO)).items
    assert item.reuse_notes == [
        f"Reuses the {first.target_offer_name} subscription bought by migration "
        f"#{first.pk} ({first.quantity} seats): nothing new is bought for it."
    ]
    [second] = start(CONTOSO, operator, quantity=20)
    assert second.order_id == first.order_id
    assert second.new_subscription_id == first.new_subscription_id
    assert second.quantity == first.quantity

    second = drive(second)

    assert second.state == "completed", second.error_message
    orders = orders_for_offer(sandbox.state(), CONTOSO, first.target_offer_id)
    assert len(orders) == 1


def test_a_cancelled_migration_reports_the_steps_done_and_that_billing_goes_on(
    synced: Any, sandbox: Any, operator: Any, client: Any
) -> None:
    [migration] = start(CONTOSO, operator)
    migration = drive(migration, until=lambda m: m.state == "preflight")
    client.force_login(operator)

    response = client.post(
        f"/migrations/{migration.pk}/cancel/",
        {"scope": "customer"},
        HTTP_HX_REQUEST="true",
    )

    migration.refresh_from_db()
    assert migration.state == "cancelled" and registry.steps_done(migration) == 2
    [card] = migration_cards([migration])
    assert [s.status for s in card.timeline] == ["done"] * 2 + ["pending"] * 4
    assert [s.detail for s in card.timeline[2:]] == [
        "Not done: migration cancelled."
    ] * 4
    assert card.cancel_summary.endswith(
        "The new subscription stays active and billed; cancel it in Partner Center "
        "within its cancellation window if it is not needed."
    )
    page = response.content.decode()
    assert "2/6 steps" in page
    assert "Will suspend" not in page
    assert 'pill-muted">Pending<' not in page and "Not moved" in page
    assert "Migration cancelled." not in page and "Cancelled.</strong>" not in page
