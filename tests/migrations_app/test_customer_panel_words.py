"""The customer page never says a migration started above one that ended, and
never counts the cancelled subscription it shows as one "more" to migrate."""

from __future__ import annotations

from typing import Any

from django.test import Client
from django.urls import reverse

from migrations_app.services.migrations import migration_cancel
from tests.migrations_app.migration_support import CONTOSO, customer, start
from tests.migrations_app.test_migration_views import plan_form, plan_url

STARTED = "Migration started for"


def _start_from_the_plan(client: Client, name: str) -> None:
    response = client.post(plan_url(name), plan_form(name))
    assert response.status_code == 302, response.content.decode()[:3000]


def test_the_started_message_shows_while_the_migration_runs(
    synced: Any, sandbox: Any, client: Client, operator: Any
) -> None:
    client.force_login(operator)
    _start_from_the_plan(client, CONTOSO)

    page = client.get(reverse("customer_detail", args=[customer(CONTOSO).tenant_id]))

    assert STARTED in page.content.decode()


def test_the_started_message_is_not_shown_above_a_cancelled_migration(
    synced: Any, sandbox: Any, client: Client, operator: Any
) -> None:
    client.force_login(operator)
    _start_from_the_plan(client, CONTOSO)
    contoso = customer(CONTOSO)
    for migration in contoso.migrations.all():
        migration_cancel(migration=migration, actor=operator)

    html = client.get(
        reverse("customer_detail", args=[contoso.tenant_id])
    ).content.decode()

    assert "Cancelled" in html
    assert STARTED not in html


def test_the_panel_poll_that_sees_the_end_removes_the_started_message(
    synced: Any, sandbox: Any, client: Client, operator: Any
) -> None:
    [migration] = start(CONTOSO, operator)
    contoso = customer(CONTOSO)
    client.force_login(operator)
    migration_cancel(migration=migration, actor=operator)

    answer = client.get(
        reverse("migration_customer_panel", args=[contoso.tenant_id]),
        {"running": str(migration.pk), "synced": ""},
        HTTP_HX_REQUEST="true",
    ).content.decode()

    # Emptied rather than deleted: the next answer finds it again.
    assert 'id="messages" role="status" hidden hx-swap-oob="true"></ul>' in answer


def test_after_a_cancel_the_same_subscription_is_not_one_more_to_migrate(
    synced: Any, sandbox: Any, client: Client, operator: Any
) -> None:
    [migration] = start(CONTOSO, operator)
    migration_cancel(migration=migration, actor=operator)
    client.force_login(operator)

    html = client.get(
        reverse("customer_detail", args=[customer(CONTOSO).tenant_id])
    ).content.decode()

    assert "more subscription" not in html
    assert f"{migration.source_subscription.display_name} can be migrated again" in html
