"""CSV exports of the customer list, the migrations and the renewal desk: streamed,
every cell quoted, formulas defused, the page's filter applied, each one audited."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

import pytest
from django.http import StreamingHttpResponse
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from migrations_app.models import AuditEvent, Migration, MigrationState, Subscription
from migrations_app.services.sync import sync_run
from tests.factories import CustomerFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db

EVIL = '=HYPERLINK("http://evil.example","x")'


def _download(client: Client, url: str, params: dict[str, Any] | None = None) -> Any:
    response = client.get(url, params or {})
    assert response.status_code == 200
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith("attachment; filename=")
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return text, list(csv.DictReader(io.StringIO(text)))


def _every_cell_quoted(text: str) -> bool:
    rows = list(csv.reader(io.StringIO(text)))
    quoted = list(csv.reader(io.StringIO(text), quoting=csv.QUOTE_ALL))
    return rows == quoted and all(
        line.startswith('"') and line.endswith('"') for line in text.splitlines()
    )


def test_the_customer_export_follows_the_lists_filter_and_defuses_formulas(
    viewer: Any, client: Client
) -> None:
    now = timezone.now()
    evil = CustomerFactory(company_name=EVIL)
    SubscriptionFactory(
        customer=evil,
        term_duration="P1Y",
        friendly_name="+cmd|' /C calc'!A0",
        commitment_end_date=now + timedelta(days=10),
    )
    SubscriptionFactory(customer=evil, term_duration="P1M")
    quiet = CustomerFactory(company_name="Quiet Ltd")
    SubscriptionFactory(
        customer=quiet,
        term_duration="P1Y",
        commitment_end_date=now + timedelta(days=200),
    )
    client.force_login(viewer)

    text, rows = _download(client, reverse("customer_export"), {"renews_within": "30"})

    assert {row["customer"] for row in rows} == {"'" + EVIL}
    assert len(rows) == 2
    assert {row["subscription"] for row in rows} >= {"'+cmd|' /C calc'!A0"}
    assert _every_cell_quoted(text)
    event = AuditEvent.objects.filter(action="customers.exported").get()
    assert event.details["filters"] == "renews_within=30"


def test_the_customer_export_of_a_synced_sandbox_lists_every_subscription(
    sandbox: Any, viewer: Any, client: Client
) -> None:
    assert sync_run().status == "succeeded"
    client.force_login(viewer)

    _, rows = _download(client, reverse("customer_export"))

    exported = {row["subscription_id"] for row in rows if row["subscription_id"]}
    assert exported == set(
        Subscription.objects.values_list("subscription_id", flat=True)
    )
    listed = {s["id"].lower() for s in sandbox.state()["subscriptions"]}
    assert exported <= listed


def _migration(state: str, name: str) -> Migration:
    sub = SubscriptionFactory(customer=CustomerFactory(company_name=name))
    return Migration.objects.create(
        customer=sub.customer,
        source_subscription=sub,
        source_offer_id=sub.offer_id,
        target_offer_id="TARGET",
        target_offer_name="Dynamics 365 Sales",
        quantity=3,
        state=state,
        error_message="@SUM(1+1) refused" if state == MigrationState.FAILED else "",
    )


def test_the_migrations_export_keeps_the_state_filter(
    viewer: Any, client: Client
) -> None:
    failed = _migration(MigrationState.FAILED, "Failing Co")
    _migration(MigrationState.COMPLETED, "Done Co")
    client.force_login(viewer)

    text, rows = _download(client, reverse("migration_export"), {"state": "failed"})

    assert [int(row["id"]) for row in rows] == [failed.pk]
    assert rows[0]["state"] == "Failed"
    assert rows[0]["error"] == "'@SUM(1+1) refused"
    assert _every_cell_quoted(text)
    _, everything = _download(client, reverse("migration_export"))
    assert len(everything) == 2
    assert AuditEvent.objects.filter(action="migrations.exported").count() == 2


def test_the_desk_export_has_every_row_of_each_section(
    viewer: Any, client: Client
) -> None:
    now = timezone.now()
    for n in range(30):
        SubscriptionFactory(
            term_duration="P1Y", commitment_end_date=now + timedelta(days=n + 1)
        )
    SubscriptionFactory(
        friendly_name="-2+3",
        product_type="OnlineServicesNCE",
        cancellation_allowed_until=now + timedelta(hours=30, minutes=5),
    )
    SubscriptionFactory(
        status="suspended", suspended_by_partnerhub_at=now - timedelta(days=20)
    )
    client.force_login(viewer)

    text, rows = _download(client, reverse("desk_export"))

    sections = [row["section"] for row in rows]
    assert sections == ["renewal"] * 30 + ["cancellable", "suspended"]
    assert [row["days_left"] for row in rows[:3]] == ["1", "2", "3"]
    assert rows[30]["hours_left"] == "30"
    assert rows[30]["subscription"] == "'-2+3"
    assert rows[31]["days_left"] == "100"
    assert _every_cell_quoted(text)
    assert AuditEvent.objects.filter(action="desk.exported").count() == 1
