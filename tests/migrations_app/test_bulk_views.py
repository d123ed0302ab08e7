"""The bulk pages: choosing customers on the list, the preview (its totals and its
constant query count), Start, a run's live page and the scheduled migrations."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db.models import F
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from migrations_app.models import (
    AuditEvent,
    BulkCustomerOutcome,
    BulkRun,
    BulkRunCustomer,
    Customer,
    Migration,
    MigrationSchedule,
    MigrationState,
    ScheduleState,
    SkuMapping,
    SkuMappingTarget,
    StartWhen,
    UserLicense,
)
from migrations_app.selectors.bulk import bulk_preview, customer_scheduling
from tests.factories import (
    CustomerFactory,
    CustomerUserFactory,
    OfferFactory,
    SubscriptionFactory,
)

pytestmark = pytest.mark.django_db

RETIRED_SKU = "aaaaaaaa-0000-0000-0000-000000000001"


@pytest.fixture
def mapping(db: Any) -> SkuMapping:
    """A retired legacy offer mapped to a target the catalogue sells."""
    retired = OfferFactory(name="Retired Plan X", product_id=RETIRED_SKU)
    target = OfferFactory(name="Successor Plan Y")
    found = SkuMapping.objects.create(
        product_line="Test",
        retired_name="Retired Plan X",
        retired_offer_id=retired.offer_id,
    )
    SkuMappingTarget.objects.create(
        mapping=found, target_name="Successor Plan Y", target_offer_id=target.offer_id
    )
    return found


def _customers(
    count: int, mapping: SkuMapping, *, prefix: str = "Bulk"
) -> list[Customer]:
    """`count` customers, each with one retired subscription and two users on it."""
    made = []
    for n in range(count):
        customer = CustomerFactory(company_name=f"{prefix} Customer {n:04d}")
        SubscriptionFactory(
            customer=customer,
            offer_id=mapping.retired_offer_id,
            offer_name="Retired Plan X",
            quantity=5,
        )
        for _ in range(2):
            user = CustomerUserFactory(customer=customer)
            UserLicense.objects.create(user=user, sku_id=RETIRED_SKU)
        made.append(customer)
    return made


def test_the_customer_list_has_a_checkbox_per_row_and_carries_its_filter_to_the_preview(
    mapping: SkuMapping, viewer: Any, client: Client
) -> None:
    made = _customers(3, mapping)
    client.force_login(viewer)

    page = client.get(reverse("customer_list") + "?retired=1&q=bulk").content.decode()

    for customer in made:
        assert f'name="customer" value="{customer.pk}" form="bulk-select"' in page
    assert f'action="{reverse("bulk_preview")}"' in page
    assert f'href="{reverse("bulk_preview")}?all=1&amp;q=bulk&amp;retired=1"' in page
    assert "Select all 3 matching this filter" in page
    one = client.get(reverse("customer_list") + "?q=bulk customer 0001")
    assert "Select the 1 customer matching this filter" in one.content.decode()


def test_the_preview_of_all_matching_resolves_the_filter_and_counts_in_sql(
    mapping: SkuMapping, viewer: Any, client: Client
) -> None:
    _customers(4, mapping)
    _customers(2, mapping, prefix="Other")
    gdap = _customers(1, mapping, prefix="Locked")[0]
    Customer.objects.filter(pk=gdap.pk).update(gdap_missing="License Administrator")
    client.force_login(viewer)

    response = client.get(reverse("bulk_preview") + "?all=1&q=bulk")
    assert response.status_code == 200
    totals = response.context["totals"]
    assert (totals.customers, totals.subscriptions, totals.seats, totals.users) == (
        4,
        4,
        20,
        8,
    )
    assert totals.cannot_start == 0
    page = response.content.decode()
    assert page.count("Successor Plan Y") >= 4
    assert '<input type="hidden" name="all" value="1">' in page
    assert '<input type="hidden" name="q" value="bulk">' in page

    everyone = client.get(reverse("bulk_preview") + "?all=1").context["totals"]
    assert everyone.customers == 7 and everyone.cannot_start == 1


def test_the_preview_of_ticked_customers_shows_why_one_cannot_start(
    mapping: SkuMapping, viewer: Any, client: Client
) -> None:
    first, second = _customers(2, mapping)
    CustomerUserFactory(customer=second, usage_location="")
    user = second.users.filter(usage_location="").get()
    UserLicense.objects.create(user=user, sku_id=RETIRED_SKU)
    client.force_login(viewer)

    response = client.get(
        reverse("bulk_preview")
        + f"?customer={first.pk}&customer={second.pk}&customer=x"
    )

    page = response.content.decode()
    assert response.context["totals"].customers == 2
    assert response.context["totals"].cannot_start == 1
    assert "Cannot start" in page and "no usage location" in page
    assert page.count('name="customer"') == 2


@pytest.mark.parametrize("count", [3, 40])
def test_the_preview_makes_the_same_number_of_queries_for_3_or_40_customers(
    count: int,
    mapping: SkuMapping,
    viewer: Any,
    client: Client,
    django_assert_max_num_queries: Any,
) -> None:
    _customers(count, mapping)
    client.force_login(viewer)

    with django_assert_max_num_queries(22):
        response = client.get(reverse("bulk_preview") + "?all=1&retired=1")

    assert response.status_code == 200
    assert response.context["totals"].customers == count
    assert len(response.context["preview"].rows) == min(count, 25)


@pytest.mark.parametrize("count", [3, 40])
def test_the_preview_selector_keeps_its_query_count(
    count: int, mapping: SkuMapping, django_assert_max_num_queries: Any
) -> None:
    _customers(count, mapping)

    with django_assert_max_num_queries(15):
        found = bulk_preview(
            customers=Customer.objects.all(),
            page_number=1,
            when="now",
            retire="plan",
            path="safest",
        )
        assert all(not row.problem for row in found.rows)


def test_an_operator_starts_a_bulk_run_and_lands_on_its_page(
    mapping: SkuMapping, operator: Any, client: Client
) -> None:
    made = _customers(3, mapping)
    client.force_login(operator)

    response = client.post(
        reverse("bulk_start"),
        {
            "customer": [c.pk for c in made],
            "when": "now",
            "retire": "plan",
            "path": "safest",
        },
    )

    run = BulkRun.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("bulk_detail", args=[run.pk])
    assert run.customers_total == 3 and run.created_by == operator
    assert (
        BulkRunCustomer.objects.filter(
            bulk_run=run, outcome=BulkCustomerOutcome.PENDING
        ).count()
        == 3
    )
    # Starting only writes rows and sends a message: no migration yet.
    assert not Migration.objects.exists()
    assert AuditEvent.objects.filter(action="bulk.started", actor=operator).count() == 1


def test_a_run_page_says_who_scheduled_it_and_when_it_starts(
    mapping: SkuMapping, operator: Any, client: Client
) -> None:
    customer = _customers(1, mapping)[0]
    start_on = (timezone.now() + timedelta(days=2)).replace(
        hour=6, minute=30, second=0, microsecond=0
    )
    scheduled = BulkRun.objects.create(
        created_by=operator,
        when=StartWhen.ON_DATE,
        start_on=start_on,
        customers_total=1,
    )
    BulkRunCustomer.objects.create(
        bulk_run=scheduled,
        customer=customer,
        outcome=BulkCustomerOutcome.NOT_STARTED,
        reason="Nothing left to migrate.",
    )
    now = BulkRun.objects.create(created_by=operator, customers_total=2)
    client.force_login(operator)
    made = f"{scheduled.created_at:%b} {scheduled.created_at.day}, "

    page = client.get(reverse("bulk_detail", args=[scheduled.pk])).content.decode()

    assert f"1 customer, scheduled by operator on {made}" in page
    assert (
        f"UTC to start on {start_on:%b} {start_on.day}, {start_on:%Y} at 06:30 UTC"
        in page
    )
    assert "1 of 1 customer has a result" in page
    page = client.get(reverse("bulk_detail", args=[now.pk])).content.decode()
    assert f"2 customers, started by operator on {made}" in page


def test_start_refuses_bad_options_with_a_message_and_writes_nothing(
    mapping: SkuMapping, operator: Any, viewer: Any, client: Client
) -> None:
    made = _customers(1, mapping)
    client.force_login(operator)

    past = (timezone.now() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(
        reverse("bulk_start"),
        {
            "customer": made[0].pk,
            "when": "on_date",
            "start_on": past,
            "retire": "plan",
            "path": "safest",
        },
    )
    assert response.status_code == 200
    assert "The start date must be in the future." in response.content.decode()
    response = client.post(
        reverse("bulk_start"),
        {"when": "now", "retire": "plan", "path": "safest"},
    )
    assert "Choose at least one customer." in response.content.decode()
    assert not BulkRun.objects.exists()

    client.force_login(viewer)
    response = client.post(
        reverse("bulk_start"),
        {"customer": made[0].pk, "when": "now", "retire": "plan", "path": "safest"},
    )
    assert response.status_code == 403
    assert not BulkRun.objects.exists()


def test_the_run_page_polls_once_for_the_page_and_stops_when_everything_has_a_result(
    mapping: SkuMapping, operator: Any, viewer: Any, client: Client
) -> None:
    from migrations_app.services.bulk import (
        BulkOptions,
        bulk_run_create,
        bulk_run_expand,
    )

    made = _customers(3, mapping)
    run = bulk_run_create(
        customers=Customer.objects.filter(pk__in=[c.pk for c in made]),
        options=BulkOptions(),
        actor=operator,
    )
    client.force_login(viewer)
    url = reverse("bulk_detail", args=[run.pk])

    page = client.get(url).content.decode()
    assert page.count("hx-trigger") == 1 and "Waiting to start" in page

    bulk_run_expand(bulk_run_id=run.pk)
    fragment = client.get(url, headers={"HX-Request": "true"}).content.decode()
    assert fragment.count("hx-trigger") == 1
    assert fragment.count('data-status="running"') == 3

    Migration.objects.filter(bulk_run=run).update(state=MigrationState.COMPLETED)
    first = Migration.objects.filter(bulk_run=run).order_by("pk").first()
    Migration.objects.filter(pk=first.pk).update(
        state=MigrationState.FAILED, error_message="The order was refused."
    )
    fragment = client.get(url, headers={"HX-Request": "true"}).content.decode()
    assert "hx-trigger" not in fragment
    assert fragment.count('data-status="done"') == 2
    assert fragment.count('data-status="failed"') == 1
    assert "The order was refused." in fragment


def test_scheduled_migrations_are_listed_moved_and_cancelled_by_operators_only(
    mapping: SkuMapping, operator: Any, viewer: Any, client: Client
) -> None:
    customer = _customers(1, mapping)[0]
    later = timezone.now() + timedelta(days=5)
    schedule = MigrationSchedule.objects.create(
        customer=customer, when=StartWhen.ON_DATE, start_on=later, start_at=later
    )
    client.force_login(viewer)
    page = client.get(reverse("schedule_list")).content.decode()
    assert customer.company_name in page and "schedule_edit" not in page
    assert (
        client.post(reverse("schedule_cancel", args=[schedule.pk])).status_code == 403
    )

    client.force_login(operator)
    moved = (later + timedelta(days=2)).replace(second=0, microsecond=0)
    response = client.post(
        reverse("schedule_edit", args=[schedule.pk]),
        {"start_at": moved.strftime("%Y-%m-%dT%H:%M")},
    )
    assert response.status_code == 302
    schedule.refresh_from_db()
    assert schedule.start_at == moved
    response = client.post(
        reverse("schedule_edit", args=[schedule.pk]), {"start_at": "2026-02-30T10:00"}
    )
    schedule.refresh_from_db()
    assert schedule.start_at == moved

    client.post(reverse("schedule_cancel", args=[schedule.pk]))
    schedule.refresh_from_db()
    assert schedule.state == ScheduleState.CANCELLED
    follow = client.post(reverse("schedule_cancel", args=[schedule.pk]), follow=True)
    assert "no longer waiting" in follow.content.decode()
    actions = list(
        AuditEvent.objects.filter(action__startswith="schedule.")
        .order_by("pk")
        .values_list("action", flat=True)
    )
    assert actions == ["schedule.changed", "schedule.cancelled"]


def test_the_desk_shows_what_is_scheduled(
    mapping: SkuMapping, viewer: Any, client: Client
) -> None:
    customer = _customers(1, mapping)[0]
    soon = timezone.now() + timedelta(hours=3)
    MigrationSchedule.objects.create(
        customer=customer, when=StartWhen.ON_DATE, start_on=soon, start_at=soon
    )
    client.force_login(viewer)

    page = client.get(reverse("home")).content.decode()

    assert 'id="desk-scheduled"' in page
    assert (
        "<strong>1</strong> customer waits for a scheduled start; 1 starts within a day."
        in page
    )
    assert customer.company_name in page


def test_a_second_message_does_nothing_while_a_worker_holds_the_run(
    mapping: SkuMapping, operator: Any
) -> None:
    from migrations_app.services.bulk import (
        EXPAND_PATIENCE,
        BulkOptions,
        bulk_run_create,
        bulk_run_expand,
        bulk_runs_resend_waiting,
    )

    made = _customers(2, mapping)
    run = bulk_run_create(
        customers=Customer.objects.filter(pk__in=[c.pk for c in made]),
        options=BulkOptions(),
        actor=operator,
    )
    later = timezone.now() + EXPAND_PATIENCE + timedelta(seconds=1)
    # A worker holds it (as while it works through its customers).
    BulkRun.objects.filter(pk=run.pk).update(
        expanding_until=timezone.now() + timedelta(minutes=5)
    )

    assert bulk_run_expand(bulk_run_id=run.pk) == 0
    assert bulk_runs_resend_waiting(now=later) == []
    assert not Migration.objects.exists()

    # Its worker died: once the hold runs out, beat sends the run again.
    BulkRun.objects.filter(pk=run.pk).update(
        expanding_until=timezone.now() - timedelta(seconds=1)
    )
    assert bulk_runs_resend_waiting(now=later) == [run.pk]
    assert bulk_run_expand(bulk_run_id=run.pk) == 2
    assert bulk_runs_resend_waiting(now=later) == []
    run.refresh_from_db()
    assert run.expanding_until is None


def test_the_preview_at_renewal_says_which_subscriptions_have_no_change_at_renewal(
    mapping: SkuMapping, viewer: Any, client: Client
) -> None:
    made = _customers(1, mapping)
    client.force_login(viewer)

    response = client.get(
        reverse("bulk_preview")
        + f"?customer={made[0].pk}&when=at_renewal&retire=plan&path=safest"
    )

    page = response.content.decode()
    assert "Cannot start" in page
    assert "offers no change to Successor Plan Y at this subscription" in page
    assert 'value="at_renewal" checked' in page


def test_the_run_page_poll_answers_204_until_something_of_the_run_changes(
    mapping: SkuMapping, operator: Any, viewer: Any, client: Client
) -> None:
    from urllib.parse import parse_qs, urlsplit

    from migrations_app.services.bulk import (
        BulkOptions,
        bulk_run_create,
        bulk_run_expand,
    )

    made = _customers(3, mapping)
    run = bulk_run_create(
        customers=Customer.objects.filter(pk__in=[c.pk for c in made]),
        options=BulkOptions(),
        actor=operator,
    )
    bulk_run_expand(bulk_run_id=run.pk)
    client.force_login(viewer)
    url = reverse("bulk_detail", args=[run.pk])
    htmx = {"HX-Request": "true"}

    def poll_stamp(body: str) -> str:
        poll_url = body.split('hx-get="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
        return parse_qs(urlsplit(poll_url).query)["v"][0]

    stamp = poll_stamp(client.get(url).content.decode())
    assert client.get(url, {"v": stamp}, headers=htmx).status_code == 204

    first = Migration.objects.filter(bulk_run=run).order_by("pk").first()
    Migration.objects.filter(pk=first.pk).update(version=F("version") + 1)
    moved = client.get(url, {"v": stamp}, headers=htmx)
    assert moved.status_code == 200
    stamp = poll_stamp(moved.content.decode())
    assert client.get(url, {"v": stamp}, headers=htmx).status_code == 204

    # An end written without a version bump still changes what the page shows.
    Migration.objects.filter(pk=first.pk).update(state=MigrationState.FAILED)
    assert client.get(url, {"v": stamp}, headers=htmx).status_code == 200
    # A full page load always renders, whatever `v` says.
    assert client.get(url, {"v": stamp}).status_code == 200


def test_the_preview_says_in_a_sentence_why_nothing_is_left_to_migrate(
    mapping: SkuMapping, viewer: Any, client: Client
) -> None:
    customer = _customers(1, mapping)[0]
    customer.subscriptions.update(status="expired")
    client.force_login(viewer)

    page = client.get(reverse("bulk_preview") + f"?customer={customer.pk}")

    assert (
        "Nothing left to migrate. Retired Plan X: Its status is expired, so there is "
        "nothing to move."
    ) in page.content.decode()


def test_start_asks_about_the_customers_that_can_start_not_all_those_chosen(
    mapping: SkuMapping, operator: Any, client: Client
) -> None:
    first, second, third = _customers(3, mapping)
    Customer.objects.filter(pk__in=[second.pk, third.pk]).update(
        gdap_missing="License Administrator"
    )
    client.force_login(operator)
    chosen = f"?customer={first.pk}&customer={second.pk}&customer={third.pk}"

    page = client.get(reverse("bulk_preview") + chosen).content.decode()

    assert (
        'data-confirm="Start or schedule the migrations of 1 customer? 2 of the 3 '
        "chosen cannot start and are left out. Purchases are billed" in page
    )
    Customer.objects.filter(pk__in=[second.pk, third.pk]).update(gdap_missing="")
    page = client.get(reverse("bulk_preview") + chosen).content.decode()
    assert (
        'data-confirm="Start or schedule the migrations of 3 customers? Purchases'
        in page
    )


def test_the_customer_page_shows_its_waiting_schedule_and_its_bulk_run(
    mapping: SkuMapping, operator: Any, client: Client
) -> None:
    customer = _customers(1, mapping)[0]
    start_on = timezone.now().replace(microsecond=0) + timedelta(days=3)
    run = BulkRun.objects.create(
        created_by=operator,
        when=StartWhen.ON_DATE,
        start_on=start_on,
        customers_total=1,
    )
    BulkRunCustomer.objects.create(
        bulk_run=run, customer=customer, outcome=BulkCustomerOutcome.SCHEDULED
    )
    schedule = MigrationSchedule.objects.create(
        customer=customer,
        bulk_run=run,
        when=StartWhen.BEFORE_END,
        days_before=30,
        start_at=start_on,
        created_by=operator,
    )
    client.force_login(operator)
    url = reverse("customer_detail", args=[customer.tenant_id])

    page = client.get(url).content.decode()

    assert 'id="customer-schedule"' in page
    assert f"{start_on:%b} {start_on.day}, {start_on:%Y} {start_on:%H:%M} UTC" in page
    assert "(30 days before the end date)" in page
    assert "The 1 subscription on a retired SKU then starts" in page
    assert "The safest path Partner Center offers for each; the plan" in page
    assert f'href="{reverse("schedule_list")}#schedule-{schedule.pk}"' in page
    assert f'href="{reverse("bulk_detail", args=[run.pk])}"' in page
    assert f"bulk run #{run.pk}</a> of 1 customer, by operator" in page

    MigrationSchedule.objects.filter(pk=schedule.pk).update(
        state=ScheduleState.CANCELLED
    )
    page = client.get(url).content.decode()
    assert 'id="customer-schedule"' not in page
    assert 'id="customer-bulk-run"' in page
    assert f'href="{reverse("bulk_list")}">All bulk runs</a>' in page


def test_the_customer_page_without_a_schedule_or_bulk_run_shows_neither(
    mapping: SkuMapping, viewer: Any, client: Client
) -> None:
    customer = _customers(1, mapping)[0]
    client.force_login(viewer)

    page = client.get(reverse("customer_detail", args=[customer.tenant_id]))

    html = page.content.decode()
    assert '<section id="customer-scheduling" hidden>' in html
    assert "Scheduled migration" not in html


def test_the_customer_scheduling_selector_reads_two_queries_at_any_size(
    mapping: SkuMapping, operator: Any, django_assert_max_num_queries: Any
) -> None:
    customer = _customers(1, mapping)[0]
    for runs in (1, 6):
        while BulkRun.objects.count() < runs:
            run = BulkRun.objects.create(created_by=operator, customers_total=1)
            BulkRunCustomer.objects.create(bulk_run=run, customer=customer)
        with django_assert_max_num_queries(2):
            found = customer_scheduling(customer=customer)
            assert found.bulk_row is not None
            assert found.bulk_row.bulk_run.created_by == operator
        newest = BulkRun.objects.first()
        assert newest is not None and found.bulk_row.bulk_run_id == newest.pk
