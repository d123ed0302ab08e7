"""The renewal desk at `/`: what needs a decision first, counted the way the
customer list filters, with a constant number of queries."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from html import unescape
from typing import Any

import pytest
from django.db.models import F
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from migrations_app.models import (
    Customer,
    Migration,
    MigrationState,
    SkuMapping,
    SubscribedSku,
    Subscription,
)
from migrations_app.models.catalog import ProductSku
from migrations_app.selectors.desk import ChartWeek, desk, desk_chart
from migrations_app.services.sync import sync_run
from tests.factories import CustomerFactory, OfferFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db

RETIRED_OFFER = "0A1B2C3D-0000-4000-8000-00000000AA01"


@pytest.fixture
def retired_mapping(db: Any) -> SkuMapping:
    return SkuMapping.objects.create(
        product_line="Test",
        retired_name="Retired Plan X",
        retired_offer_id=RETIRED_OFFER,
    )


def _migration(sub: Subscription, state: str, **extra: Any) -> Migration:
    return Migration.objects.create(
        customer=sub.customer,
        source_subscription=sub,
        source_offer_id=sub.offer_id,
        target_offer_id="TARGET",
        target_offer_name="Dynamics 365 Sales",
        quantity=sub.quantity,
        state=state,
        **extra,
    )


def _retired(customer: Customer | None = None, **extra: Any) -> Subscription:
    values = {"offer_id": RETIRED_OFFER, "offer_name": "Retired Plan X"}
    values.update(extra)
    if customer is not None:
        values["customer"] = customer
    return SubscriptionFactory(**values)


def _tiles(page: Any) -> dict[str, Any]:
    tiles = [*page.retired_tiles, *page.renewal_tiles]
    tiles += [page.cancellable_tile, page.suspended_tile]
    return {tile.key: tile for tile in tiles}


def test_retired_subscriptions_are_counted_by_where_their_migration_stands(
    retired_mapping: SkuMapping,
) -> None:
    untouched = _retired()
    after_cancel = _retired()
    _migration(after_cancel, MigrationState.CANCELLED)
    running = _retired()
    _migration(running, MigrationState.QUEUED)
    failed = _retired()
    _migration(failed, MigrationState.FAILED)
    customer_action = _retired()
    _migration(customer_action, MigrationState.NEEDS_CUSTOMER_ACTION)
    done = _retired(status="suspended")
    _migration(done, MigrationState.COMPLETED)
    # Nothing to decide: cancelled without a migration, or not on a retired SKU.
    _retired(status="deleted")
    SubscriptionFactory()

    tiles = _tiles(desk())

    assert tiles["to_migrate"].subscriptions == 2
    assert tiles["in_progress"].subscriptions == 1
    assert tiles["needs_action"].subscriptions == 2
    assert tiles["done"].subscriptions == 1
    assert tiles["to_migrate"].customers == len(
        {untouched.customer_id, after_cancel.customer_id}
    )


def test_renewals_are_anniversaries_of_annual_and_three_year_terms_only() -> None:
    now = timezone.now()
    annual = SubscriptionFactory(
        term_duration="P1Y", commitment_end_date=now + timedelta(days=5, hours=1)
    )
    three_year = SubscriptionFactory(
        term_duration="P3Y", commitment_end_date=now + timedelta(days=45)
    )
    # Monthly roll-overs, expiring ones, past and far ones are not renewals here.
    SubscriptionFactory(
        term_duration="P1M", commitment_end_date=now + timedelta(days=3)
    )
    SubscriptionFactory(
        term_duration="P1Y",
        auto_renew_enabled=False,
        commitment_end_date=now + timedelta(days=10),
    )
    SubscriptionFactory(
        term_duration="P1Y", commitment_end_date=now - timedelta(days=1)
    )
    SubscriptionFactory(
        term_duration="P1Y", commitment_end_date=now + timedelta(days=95)
    )
    SubscriptionFactory(
        term_duration="P1Y",
        status="suspended",
        commitment_end_date=now + timedelta(days=20),
    )

    page = desk(now=now)
    tiles = _tiles(page)

    assert [tiles[f"renew{d}"].subscriptions for d in (7, 30, 60, 90)] == [1, 1, 2, 2]
    assert [row.subscription.pk for row in page.renewals] == [annual.pk, three_year.pk]
    assert [row.in_days for row in page.renewals] == ["in 5 days", "in 45 days"]


def test_unused_seats_compare_the_quantity_with_the_units_assigned_in_the_tenant() -> (
    None
):
    now = timezone.now()
    customer = CustomerFactory()
    entra = str(uuid.uuid4())
    ProductSku.objects.create(
        key="CFQ7TTC0LH18:0001",
        product_id="CFQ7TTC0LH18",
        sku_id="0001",
        title="Microsoft 365 E3",
        entra_sku_id=entra,
    )
    SubscribedSku.objects.create(
        customer=customer,
        sku_id=entra,
        active_units=25,
        consumed_units=18,
        available_units=7,
    )
    nce = SubscriptionFactory(
        customer=customer,
        term_duration="P1Y",
        product_type="OnlineServicesNCE",
        product_id="CFQ7TTC0LH18",
        sku_id="0001",
        quantity=25,
        commitment_end_date=now + timedelta(days=20),
    )
    # 5 bought here, 7 more through another channel; 5 assigned: 7 spare, so all
    # 5 of this subscription could go.
    offer = OfferFactory(product_id=str(uuid.uuid4()))
    SubscribedSku.objects.create(
        customer=customer, sku_id=offer.product_id, active_units=12, consumed_units=5
    )
    legacy = SubscriptionFactory(
        customer=customer,
        term_duration="P1Y",
        offer_id=offer.offer_id,
        quantity=5,
        commitment_end_date=now + timedelta(days=21),
    )
    unknown = SubscriptionFactory(
        customer=customer,
        term_duration="P1Y",
        quantity=3,
        commitment_end_date=now + timedelta(days=22),
    )

    rows = {row.subscription.pk: row for row in desk(now=now).renewals}

    assert (rows[nce.pk].assigned, rows[nce.pk].unused) == (18, 7)
    assert (rows[legacy.pk].assigned, rows[legacy.pk].unused) == (5, 5)
    assert (rows[unknown.pk].assigned, rows[unknown.pk].unused) == (None, None)


def test_cancellable_lists_new_commerce_inside_its_window_with_the_hours_left() -> None:
    now = timezone.now()
    inside = SubscriptionFactory(
        product_type="OnlineServicesNCE",
        product_id="CFQ7TTC0LH18",
        sku_id="0001",
        cancellation_allowed_until=now + timedelta(hours=50, minutes=30),
    )
    # Closed windows, legacy rows and cancelled subscriptions are not listed.
    SubscriptionFactory(
        product_type="OnlineServicesNCE",
        cancellation_allowed_until=now - timedelta(minutes=1),
    )
    SubscriptionFactory(cancellation_allowed_until=now + timedelta(days=2))
    SubscriptionFactory(
        product_type="OnlineServicesNCE",
        status="deleted",
        cancellation_allowed_until=now + timedelta(days=2),
    )

    page = desk(now=now)

    assert [row.subscription.pk for row in page.cancellable] == [inside.pk]
    assert page.cancellable[0].hours_text == "50 hours left"
    assert _tiles(page)["cancellable"].subscriptions == 1


def test_suspended_legacy_subscriptions_show_the_days_before_deprovisioning() -> None:
    now = timezone.now()
    legacy = SubscriptionFactory(
        status="suspended", suspended_by_partnerhub_at=now - timedelta(days=100)
    )
    # Suspending new commerce deprovisions nothing; others suspended it elsewhere.
    SubscriptionFactory(
        status="suspended",
        product_type="OnlineServicesNCE",
        suspended_by_partnerhub_at=now - timedelta(days=10),
    )
    SubscriptionFactory(status="suspended")

    page = desk(now=now)

    assert [row.subscription.pk for row in page.suspended] == [legacy.pk]
    assert page.suspended[0].days_left == 20
    assert _tiles(page)["suspended"].subscriptions == 1


def test_the_chart_counts_renewals_and_expirations_in_each_of_26_weeks() -> None:
    now = timezone.now()
    monday = (now - timedelta(days=now.weekday())).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    in_week_3 = monday + timedelta(weeks=3, days=2)
    SubscriptionFactory(term_duration="P1Y", commitment_end_date=in_week_3)
    SubscriptionFactory(term_duration="P3Y", commitment_end_date=in_week_3)
    SubscriptionFactory(
        term_duration="P1M", auto_renew_enabled=False, commitment_end_date=in_week_3
    )
    SubscriptionFactory(term_duration="P1M", commitment_end_date=in_week_3)
    SubscriptionFactory(
        term_duration="P1Y", commitment_end_date=monday + timedelta(weeks=27)
    )

    weeks = desk_chart(now=now)

    assert len(weeks) == 26
    assert weeks[0].start == monday
    assert [(w.renewals, w.expirations) for w in weeks if w.total] == [(2, 1)]
    assert weeks[3].total == 3


def test_the_desk_page_draws_the_chart_as_svg_without_inline_style(
    viewer: Any, client: Client
) -> None:
    SubscriptionFactory(
        term_duration="P1Y", commitment_end_date=timezone.now() + timedelta(days=15)
    )
    client.force_login(viewer)

    html = client.get(reverse("home")).content.decode()

    assert '<svg class="chart"' in html
    assert html.count('class="chart-renew"') == 1
    assert "style=" not in html
    assert "in 15 days" in html


def _listed(client: Client, query: str) -> set[str]:
    response = client.get(f"{reverse('customer_list')}?{query}")
    assert response.status_code == 200
    assert not response.context["notices"], response.context["notices"]
    return {c.company_name for c in response.context["customers"]}


def test_each_tile_opens_the_customer_list_with_exactly_its_customers(
    retired_mapping: SkuMapping, viewer: Any, client: Client
) -> None:
    now = timezone.now()
    soon = CustomerFactory(company_name="Renews Soon")
    SubscriptionFactory(
        customer=soon, term_duration="P1Y", commitment_end_date=now + timedelta(days=6)
    )
    later = CustomerFactory(company_name="Renews Later")
    SubscriptionFactory(
        customer=later,
        term_duration="P3Y",
        commitment_end_date=now + timedelta(days=50),
    )
    window = CustomerFactory(company_name="In Window")
    SubscriptionFactory(
        customer=window,
        product_type="OnlineServicesNCE",
        cancellation_allowed_until=now + timedelta(days=3),
    )
    parked = CustomerFactory(company_name="Suspended Legacy")
    SubscriptionFactory(
        customer=parked,
        status="suspended",
        suspended_by_partnerhub_at=now - timedelta(days=3),
    )
    moving = CustomerFactory(company_name="Moving")
    _migration(_retired(moving), MigrationState.QUEUED)
    waiting = CustomerFactory(company_name="Waiting")
    _retired(waiting)
    CustomerFactory(company_name="Nothing To Decide")
    client.force_login(viewer)

    page = client.get(reverse("home"))
    hrefs = re.findall(r'href="/customers/\?([^"]+)"', page.content.decode())
    expected = {
        "renews_within=7": {"Renews Soon"},
        "renews_within=30": {"Renews Soon"},
        "renews_within=60": {"Renews Soon", "Renews Later"},
        "renews_within=90": {"Renews Soon", "Renews Later"},
        "cancellable=1": {"In Window"},
        "suspended=1": {"Suspended Legacy"},
        "migration=in_progress": {"Moving"},
        "migration=to_migrate": {"Waiting"},
        "migration=done": set(),
        "migration=needs_action": set(),
    }

    assert set(expected) <= set(hrefs)
    tiles = _tiles(page.context["desk"])
    for tile in tiles.values():
        assert _listed(client, tile.query) == expected[tile.query], tile.query
        assert tile.customers == len(expected[tile.query])


def _customer_world(count: int, mapping: SkuMapping) -> None:
    """`count` customers, each with one row for every section of the desk."""
    now = timezone.now()
    for n in range(count):
        customer = CustomerFactory()
        entra = f"00000000-0000-0000-0000-{n:012d}"
        SubscribedSku.objects.create(
            customer=customer, sku_id=entra, active_units=9, consumed_units=4
        )
        offer = OfferFactory(product_id=entra)
        SubscriptionFactory(
            customer=customer,
            offer_id=offer.offer_id,
            term_duration="P1Y",
            commitment_end_date=now + timedelta(days=n % 90 + 1),
        )
        SubscriptionFactory(
            customer=customer,
            product_type="OnlineServicesNCE",
            cancellation_allowed_until=now + timedelta(hours=n + 1),
        )
        SubscriptionFactory(
            customer=customer,
            status="suspended",
            suspended_by_partnerhub_at=now - timedelta(days=n),
        )
        _migration(_retired(customer), MigrationState.QUEUED)


@pytest.mark.parametrize("customers", [5, 50])
def test_the_desk_makes_the_same_number_of_queries_for_5_or_50_customers(
    customers: int,
    retired_mapping: SkuMapping,
    viewer: Any,
    client: Client,
    django_assert_max_num_queries: Any,
) -> None:
    _customer_world(customers, retired_mapping)
    client.force_login(viewer)

    # 14, and two for the scheduled migrations (their counts and the soonest).
    with django_assert_max_num_queries(16):
        response = client.get(reverse("home"))

    assert response.status_code == 200
    shown = min(customers, 25)
    assert len(response.context["desk"].renewals) == shown
    assert len(response.context["desk"].cancellable) == shown


@pytest.mark.parametrize("customers", [5, 50])
def test_the_customer_list_filtered_by_a_tile_keeps_its_query_count(
    customers: int,
    retired_mapping: SkuMapping,
    viewer: Any,
    client: Client,
    django_assert_max_num_queries: Any,
) -> None:
    _customer_world(customers, retired_mapping)
    client.force_login(viewer)
    query = "renews_within=90&cancellable=1&suspended=1&migration=in_progress"

    with django_assert_max_num_queries(18):
        response = client.get(f"{reverse('customer_list')}?{query}")

    assert response.context["paginator"].count == customers


def test_the_retired_tiles_poll_while_a_migration_runs_and_stop_once_none_does(
    retired_mapping: SkuMapping, viewer: Any, client: Client
) -> None:
    migration = _migration(_retired(), MigrationState.QUEUED)
    client.force_login(viewer)
    poll = reverse("desk_retired")

    page = client.get(reverse("home")).content.decode()
    assert page.count(f'hx-get="{poll}?v=') == 1
    assert page.count("hx-trigger") == 1

    Migration.objects.filter(pk=migration.pk).update(
        state=MigrationState.COMPLETED, finished_at=timezone.now()
    )
    answer = client.get(poll, HTTP_HX_REQUEST="true")

    html = answer.content.decode()
    assert answer.status_code == 200
    assert 'id="desk-retired"' in html
    assert "hx-trigger" not in html
    assert [t.subscriptions for t in answer.context["retired_tiles"]] == [0, 0, 1, 0]


def test_the_retired_tiles_poll_answers_204_until_a_migration_moves_on(
    retired_mapping: SkuMapping, viewer: Any, client: Client
) -> None:
    migration = _migration(_retired(), MigrationState.QUEUED)
    client.force_login(viewer)
    page = client.get(reverse("home")).content.decode()
    [poll] = re.findall(r'hx-get="([^"]*)" hx-trigger', page)
    poll = unescape(poll)

    assert client.get(poll, HTTP_HX_REQUEST="true").status_code == 204

    Migration.objects.filter(pk=migration.pk).update(
        state=MigrationState.COMPLETED, version=F("version") + 1
    )
    answer = client.get(poll, HTTP_HX_REQUEST="true")

    assert answer.status_code == 200
    assert [t.subscriptions for t in answer.context["retired_tiles"]] == [0, 0, 1, 0]


def test_the_retired_tiles_see_a_migration_end_even_if_its_version_stood_still(
    retired_mapping: SkuMapping, viewer: Any, client: Client
) -> None:
    migration = _migration(_retired(), MigrationState.QUEUED)
    client.force_login(viewer)
    page = client.get(reverse("home")).content.decode()
    [poll] = re.findall(r'hx-get="([^"]*)" hx-trigger', page)

    Migration.objects.filter(pk=migration.pk).update(state=MigrationState.COMPLETED)

    assert client.get(unescape(poll), HTTP_HX_REQUEST="true").status_code == 200


def test_the_desk_shows_a_synced_sandbox_renewal_with_its_tenants_seat_use(
    sandbox: Any, viewer: Any, client: Client
) -> None:
    state = sandbox.state()
    sub = next(
        s
        for s in state["subscriptions"]
        if s.get("termDuration") == "P1Y"
        and s.get("status") == "active"
        and s.get("productType", {}).get("id") == "OnlineServicesNCE"
    )
    end = (timezone.now() + timedelta(days=12)).replace(microsecond=0)
    sandbox.patch(
        f"/_sandbox/customers/{sub['customerId']}/subscriptions/{sub['id']}",
        {
            "commitmentEndDate": end.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "autoRenewEnabled": True,
        },
    )
    run = sync_run()
    assert run.status == "succeeded", run.error
    client.force_login(viewer)

    page = client.get(reverse("home"))

    rows = [
        row
        for row in page.context["desk"].renewals
        if row.subscription.subscription_id == sub["id"].lower()
    ]
    assert len(rows) == 1
    assert rows[0].in_days == "in 12 days"
    sku = SubscribedSku.objects.get(
        customer=rows[0].customer, sku_id__iexact=sub["skuId"]
    )
    assert rows[0].assigned == sku.consumed_units
    assert rows[0].unused == max(
        0, min(sub["quantity"], sku.active_units - sku.consumed_units)
    )
    assert "in 12 days" in page.content.decode()


def test_the_chart_scale_is_even_so_every_gridline_is_a_whole_number() -> None:
    from migrations_app.views.desk import chart_geometry

    monday = timezone.now()
    weeks = [
        ChartWeek(start=monday + timedelta(weeks=i), renewals=i % 4, expirations=1)
        for i in range(26)
    ]

    chart = chart_geometry(weeks)

    assert [line.value for line in chart["grid"]] == [0, 2, 4]
    tallest = max(chart["bars"], key=lambda b: b.week.total)
    assert tallest.renew_height + tallest.expire_height == pytest.approx(
        chart["base"] - chart["grid"][-1].y, abs=0.2
    )
    assert chart["renewals"] == sum(i % 4 for i in range(26))
