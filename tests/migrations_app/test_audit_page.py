"""/audit/: newest first, filters, keyset pages, streamed CSV, the customer's events."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.template.loader import render_to_string
from django.urls import reverse

from migrations_app.models import AuditEvent, AuditVerification, Outcome
from migrations_app.selectors.activity import customer_activity
from migrations_app.selectors.audit import AuditFilters, audit_events_filtered
from migrations_app.services.audit import audit_chain_verify, audit_record
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

CONTOSO = "4f7c1a52-93a4-4e2a-9d0e-5a1c3d3b0c11"
FABRIKAM = "0b9e2d6c-1111-4c4c-8888-aaaaaaaaaaaa"


class FakeCall:
    """A Partner Center call as the client reports it (method, path, ids...)."""

    def __init__(self, **values: Any) -> None:
        self.method = values.get("method", "PATCH")
        self.path = values.get("path", "/customers/c/subscriptions/s")
        self.status = values.get("status", 200)
        self.request_id = values.get(
            "request_id", "11111111-2222-3333-4444-555555555555"
        )
        self.correlation_id = values.get("correlation_id", "corr-1")
        self.duration_ms = values.get("duration_ms", 123.4)
        self.error_code = values.get("error_code")


def page_ids(response: Any) -> list[int]:
    return [event.pk for event in response.context["page"].events]


def test_anonymous_visitors_are_sent_to_sign_in(client: Any) -> None:
    response = client.get(reverse("audit_list"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_it_lists_events_newest_first_with_the_partner_center_request(
    client: Any, viewer: Any
) -> None:
    client.force_login(viewer)
    audit_record(action="login", actor=viewer, message="viewer signed in.")
    write = audit_record(
        action="partner_center.write",
        customer_tenant_id=CONTOSO,
        customer_name="Contoso",
        migration_id=7,
        message="PATCH /customers/c/subscriptions/s → 200",
        call=FakeCall(request_id="aaaaaaaa-0000-0000-0000-000000000001"),
    )

    response = client.get(reverse("audit_list"))

    assert response.status_code == 200
    ids = page_ids(response)
    assert ids == sorted(ids, reverse=True)
    assert ids[0] == write.pk
    html = response.content.decode()
    assert "PATCH /customers/c/subscriptions/s" in html
    assert "aaaaaaaa-0000-0000-0000-000000000001" in html
    assert "corr-1" in html
    assert "123 ms" in html


def test_it_filters_by_customer_tenant_id_or_name(client: Any, viewer: Any) -> None:
    client.force_login(viewer)
    CustomerFactory(tenant_id=CONTOSO, company_name="Contoso Pharmaceuticals")
    CustomerFactory(tenant_id=FABRIKAM, company_name="Fabrikam")
    ours = audit_record(action="sync.requested", customer_tenant_id=CONTOSO.upper())
    audit_record(action="sync.requested", customer_tenant_id=FABRIKAM)

    by_id = client.get(reverse("audit_list"), {"customer": CONTOSO})
    by_name = client.get(reverse("audit_list"), {"customer": "pharma"})

    assert page_ids(by_id) == [ours.pk]
    assert page_ids(by_name) == [ours.pk]


def test_it_filters_by_actor_action_migration_outcome_and_request_id(
    client: Any, viewer: Any
) -> None:
    client.force_login(viewer)
    target = audit_record(
        action="migration.cancelled",
        actor_label="operator",
        outcome=Outcome.FAILURE,
        migration_id=42,
        call=FakeCall(request_id="req-42"),
    )
    audit_record(action="migration.cancelled", actor_label="other", migration_id=42)
    audit_record(action="migration.started", actor_label="operator", migration_id=42)
    audit_record(action="migration.cancelled", actor_label="operator", migration_id=1)

    response = client.get(
        reverse("audit_list"),
        {
            "actor": "operator",
            "action": "migration.cancelled",
            "migration": "42",
            "outcome": "failure",
            "request_id": "req-42",
        },
    )

    assert page_ids(response) == [target.pk]


def test_the_date_range_is_inclusive_in_utc() -> None:
    AuditEvent.objects.bulk_create(
        [
            AuditEvent(
                created_at=datetime(2026, 3, day, 23, 59, 59, tzinfo=UTC),
                actor="system",
                action="sync.completed",
                prev_hash="0" * 64,
                hash=f"{day:064d}",
            )
            for day in (1, 2, 3, 4)
        ]
    )
    filters = AuditFilters(
        date_from=datetime(2026, 3, 2).date(), date_to=datetime(2026, 3, 3).date()
    )

    days = [event.created_at.day for event in audit_events_filtered(filters=filters)]

    assert days == [3, 2]


def test_pages_are_keyed_on_the_event_id(client: Any, viewer: Any) -> None:
    client.force_login(viewer)
    for n in range(120):
        audit_record(action="login", actor_label=f"u{n}")
    newest_first = list(AuditEvent.objects.order_by("-id").values_list("pk", flat=True))

    first = client.get(reverse("audit_list"))
    page = first.context["page"]
    second = client.get(reverse("audit_list"), {"before": page.older_before})
    third = client.get(
        reverse("audit_list"), {"before": second.context["page"].older_before}
    )
    back = client.get(
        reverse("audit_list"), {"after": third.context["page"].newer_after}
    )

    assert page_ids(first) == newest_first[:50]
    assert page.newer_after is None
    assert page_ids(second) == newest_first[50:100]
    assert page_ids(third) == newest_first[100:]
    assert third.context["page"].older_before is None
    assert page_ids(back) == newest_first[50:100]
    assert f"before={page.older_before}" in first.content.decode()


def test_the_page_query_count_does_not_grow_with_the_rows(
    client: Any, viewer: Any, django_assert_max_num_queries: Any
) -> None:
    client.force_login(viewer)
    for n in range(60):
        audit_record(action="login", actor_label=f"u{n}", customer_tenant_id=CONTOSO)
    client.get(reverse("audit_list"))

    with django_assert_max_num_queries(8):
        client.get(reverse("audit_list"), {"customer": CONTOSO})


def _plan(queryset: Any) -> str:
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("EXPLAIN " + sql, params)
        else:
            cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
        return "\n".join(str(row) for row in cursor.fetchall())


@pytest.mark.parametrize(
    "filters",
    [
        AuditFilters(),
        AuditFilters(customer=CONTOSO),
        AuditFilters(actor="operator"),
        AuditFilters(action="login"),
        AuditFilters(migration_id=3),
        AuditFilters(outcome="failure"),
    ],
    ids=["none", "customer", "actor", "action", "migration", "outcome"],
)
def test_each_filtered_page_reads_an_index_not_the_whole_table(
    filters: AuditFilters,
) -> None:
    audit_record(action="login")
    page = audit_events_filtered(filters=filters).filter(id__lt=10**9)[:50]

    plan = _plan(page)

    if connection.vendor == "postgresql":
        assert "Index" in plan, plan
        assert "Seq Scan" not in plan, plan
    else:
        # SEARCH = an index range; SCAN <table> = every row; TEMP B-TREE = a sort.
        assert "SEARCH migrations_app_auditevent USING" in plan, plan
        assert "SCAN migrations_app_auditevent" not in plan, plan
        assert "TEMP B-TREE" not in plan, plan


def test_bad_filters_are_explained_not_crashed(client: Any, viewer: Any) -> None:
    client.force_login(viewer)

    response = client.get(
        reverse("audit_list"),
        {
            "migration": "nine",
            "outcome": "maybe",
            "date_from": "2026-03-05",
            "date_to": "2026-03-01",
            "before": "-3",
            "action": "drop table;",
        },
    )

    # Each bad filter is ignored with a notice; the page still lists events.
    assert response.status_code == 200
    html = response.content.decode()
    assert "Migration id was ignored: Enter a whole number." in html
    assert "Select a valid choice." in html
    assert "The end date is before the start date." in html
    assert "The page link was ignored" in html
    assert "An action is letters, digits" in html


def test_the_page_shows_the_last_verification(client: Any, viewer: Any) -> None:
    client.force_login(viewer)
    audit_record(action="login")

    before = client.get(reverse("audit_list")).content.decode()
    audit_chain_verify()
    after = client.get(reverse("audit_list")).content.decode()
    result = AuditVerification(
        ok=False, events_checked=3, first_broken_event_id=2, message="Broken at 2."
    )
    result.seal = result.compute_seal()
    result.save()
    broken = client.get(reverse("audit_list")).content.decode()

    assert "has not been verified yet" in before
    assert "intact" in after
    assert "The audit chain is broken." in broken
    assert "Broken at 2." in broken


def _csv(response: Any) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(body)))


def test_the_export_streams_the_current_filter_as_csv(client: Any, viewer: Any) -> None:
    client.force_login(viewer)
    wanted = audit_record(
        action="partner_center.write",
        customer_tenant_id=CONTOSO,
        call=FakeCall(method="POST", path="/customers/c/orders", status=201),
    )
    audit_record(action="login", actor_label="someone")

    response = client.get(reverse("audit_export"), {"action": "partner_center.write"})

    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment;" in response["Content-Disposition"]
    rows = _csv(response)
    header = rows[0]
    assert header[:6] == [
        "id",
        "time_utc",
        "actor",
        "actor_user_id",
        "action",
        "outcome",
    ]
    assert [row[0] for row in rows[1:]] == [str(wanted.pk)]
    record = dict(zip(header, rows[1]))
    assert record["pc_method"] == "POST"
    assert record["pc_path"] == "/customers/c/orders"
    assert record["pc_status"] == "201"
    assert record["pc_request_id"] == "11111111-2222-3333-4444-555555555555"
    assert record["hash"] == wanted.hash


def test_the_export_lists_every_match_newest_first(client: Any, viewer: Any) -> None:
    client.force_login(viewer)
    events = [audit_record(action="sync.completed", message=f"{n}") for n in range(130)]

    rows = _csv(client.get(reverse("audit_export"), {"action": "sync.completed"}))

    assert [int(row[0]) for row in rows[1:]] == [e.pk for e in reversed(events)]


def test_the_export_defuses_spreadsheet_formulas(client: Any, viewer: Any) -> None:
    client.force_login(viewer)
    audit_record(
        action="login_failed",
        actor_label='=HYPERLINK("http://evil")',
        customer_name="+cmd|' /C calc'!A0",
        message="@SUM(1+1)",
        details={"x": 1},
    )
    audit_record(action="login_failed", actor_label="-2+3")

    rows = _csv(client.get(reverse("audit_export"), {"action": "login_failed"}))

    cells = [cell for row in rows[1:] for cell in row]
    assert '\'=HYPERLINK("http://evil")' in cells
    assert "'+cmd|' /C calc'!A0" in cells
    assert "'@SUM(1+1)" in cells
    assert "'-2+3" in cells
    assert not any(re.match(r"^[=+\-@]", cell) for cell in cells)


def test_the_export_refuses_bad_filters_with_a_message(
    client: Any, viewer: Any
) -> None:
    client.force_login(viewer)

    response = client.get(reverse("audit_export"), {"migration": "x"})

    assert response.status_code == 400
    assert b"migration: Enter a whole number." in response.content


def test_exporting_is_itself_recorded(client: Any, viewer: Any) -> None:
    client.force_login(viewer)

    b"".join(client.get(reverse("audit_export"), {"actor": "x"}).streaming_content)

    event = AuditEvent.objects.order_by("-id").first()
    assert event.action == "audit.exported"
    assert event.actor == "viewer"
    assert event.details == {"filters": "actor=x"}


def test_the_customer_page_fragment_shows_that_customers_latest_events() -> None:
    customer = CustomerFactory(tenant_id=CONTOSO, company_name="Contoso")
    for n in range(25):
        audit_record(
            action="partner_center.write",
            customer_tenant_id=CONTOSO,
            message=f"write {n}",
            call=FakeCall(request_id=f"req-{n}"),
        )
    audit_record(action="sync.requested", customer_tenant_id=FABRIKAM, message="other")

    html = render_to_string(
        "customers/detail.html#activity",
        {"customer": customer, "activity": customer_activity(tenant_id=CONTOSO)},
    )

    assert "Subscription updated" in html and "req-24<" in html
    assert "req-5<" in html
    assert "req-4<" not in html  # only the latest 20
    assert "other" not in html
    assert f"?customer={CONTOSO}" in html


def test_times_older_than_a_day_still_render_in_utc(client: Any, viewer: Any) -> None:
    client.force_login(viewer)
    AuditEvent.objects.bulk_create(
        [
            AuditEvent(
                created_at=datetime.now(UTC) - timedelta(days=3),
                actor="system",
                action="sync.completed",
                prev_hash="0" * 64,
                hash="f" * 64,
            )
        ]
    )

    response = client.get(reverse("audit_list"))

    assert (datetime.now(UTC) - timedelta(days=3)).strftime("%Y-%m-%d") in (
        response.content.decode()
    )


def test_a_date_range_with_no_events_is_empty_not_everything() -> None:
    audit_record(action="login")
    future = datetime.now(UTC).date() + timedelta(days=30)
    past = datetime(2001, 1, 1).date()

    after = audit_events_filtered(filters=AuditFilters(date_from=future))
    before = audit_events_filtered(filters=AuditFilters(date_to=past))

    assert list(after) == [] and list(before) == []


def test_the_customer_page_includes_the_customers_activity(
    client: Any, viewer: Any
) -> None:
    client.force_login(viewer)
    customer = CustomerFactory(tenant_id=CONTOSO, company_name="Contoso")
    audit_record(
        action="migration.cancelled",
        customer_tenant_id=CONTOSO,
        message="Cancelled the move of Contoso's AX licences.",
    )

    response = client.get(reverse("customer_detail", args=[customer.tenant_id]))

    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="customer-audit"' in html
    assert "Cancelled the move of Contoso&#x27;s AX licences." in html
