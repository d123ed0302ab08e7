"""The plan says why it cannot start, once, with Start off; a reused purchase asks
for no seats and no purchase confirmation; a customer can be refreshed on its own."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from migrations_app.models import AuditEvent
from migrations_app.services.migrations import migration_cancel
from tests.migrations_app.migration_support import (
    CONTOSO,
    WIDE_WORLD,
    customer,
    drive,
    start,
    v1_request_count,
)


@pytest.fixture(autouse=True)
def _fast_polls(settings: Any) -> None:
    settings.PARTNERHUB_PROVISIONING_POLL_SECONDS = 0.1


def plan_page(client: Client, name: str) -> str:
    return client.get(
        reverse("migration_plan", args=[customer(name).tenant_id])
    ).content.decode()


def start_button(html: str) -> str:
    found = re.search(r"<button[^>]*>Start migration</button>", html)
    assert found is not None
    return found.group(0)


def test_a_plan_that_cannot_start_gives_one_reason_and_start_is_off(
    synced: Any, sandbox: Any, client: Client, operator: Any
) -> None:
    client.force_login(operator)

    html = plan_page(client, WIDE_WORLD)

    assert "disabled" in start_button(html)
    assert html.count("2 users have no usage location") == 1
    assert html.count("Cannot start") == 1
    # No purchase to confirm when nothing can start.
    assert "data-confirm" not in html.split('class="plan"', 1)[1].split(">", 1)[0]
    # The reason comes with the way to act on it.
    assert f"Refresh {customer(WIDE_WORLD).company_name}" in html


def test_a_plan_that_can_start_keeps_start_and_asks_before_buying(
    synced: Any, sandbox: Any, client: Client, operator: Any
) -> None:
    client.force_login(operator)

    html = plan_page(client, CONTOSO)

    assert "disabled" not in start_button(html)
    assert "Cannot start" not in html
    assert 'data-confirm="Buy the new subscriptions now?' in html


def test_a_plan_that_reuses_an_earlier_purchase_asks_for_no_seats_and_no_purchase(
    synced: Any, sandbox: Any, client: Client, operator: Any
) -> None:
    [first] = start(CONTOSO, operator)
    first = drive(first, until=lambda m: m.state == "preflight")
    migration_cancel(migration=first, actor=operator)
    client.force_login(operator)

    html = plan_page(client, CONTOSO)

    assert f"subscription bought by migration #{first.pk}" in html
    assert "Seats to buy" not in html
    assert not re.search(r'<input type="number" name="[^"]*-quantity"', html)
    assert "No seats to buy" in html
    assert "data-confirm" not in html.split('class="plan"', 1)[1].split(">", 1)[0]


def test_an_operator_refreshes_one_customer_through_a_worker(
    synced: Any,
    sandbox: Any,
    client: Client,
    operator: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    contoso = customer(CONTOSO)
    client.force_login(operator)
    page = client.get(reverse("customer_detail", args=[contoso.tenant_id]))
    assert (
        reverse("customer_refresh", args=[contoso.tenant_id]) in page.content.decode()
    )
    before = v1_request_count(sandbox)

    with django_capture_on_commit_callbacks(execute=False) as sent:
        response = client.post(reverse("customer_refresh", args=[contoso.tenant_id]))

    assert response.status_code == 302
    assert response["Location"] == reverse("customer_detail", args=[contoso.tenant_id])
    assert [(c.name, c.args) for c in sent] == [
        ("migrations_app.tasks.sync_customer", (contoso.pk,))
    ]
    assert v1_request_count(sandbox) == before
    event = AuditEvent.objects.get(action="sync.requested")
    assert (event.actor, event.customer_tenant_id) == (
        "operator",
        str(contoso.tenant_id),
    )


def test_refresh_goes_back_only_to_a_same_site_path(
    synced: Any, sandbox: Any, client: Client, operator: Any
) -> None:
    contoso = customer(CONTOSO)
    client.force_login(operator)
    url = reverse("customer_refresh", args=[contoso.tenant_id])
    plan = reverse("migration_plan", args=[contoso.tenant_id])

    assert client.post(url, {"next": plan})["Location"] == plan
    for bad in ("abc", "https://evil.example/", "//evil.example/"):
        assert client.post(url, {"next": bad})["Location"] == reverse(
            "customer_detail", args=[contoso.tenant_id]
        )


def test_viewers_cannot_refresh_a_customer(
    synced: Any, sandbox: Any, client: Client, viewer: Any
) -> None:
    contoso = customer(CONTOSO)
    client.force_login(viewer)

    page = client.get(reverse("customer_detail", args=[contoso.tenant_id]))
    response = client.post(reverse("customer_refresh", args=[contoso.tenant_id]))

    assert response.status_code == 403
    assert reverse("customer_refresh", args=[contoso.tenant_id]) not in (
        page.content.decode()
    )
