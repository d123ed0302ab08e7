"""The customer list, the customer page and the Refresh button."""

from __future__ import annotations

import json
import re
import uuid
from datetime import timedelta
from typing import Any

import pytest
import redis
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from migrations_app.models import (
    AuditEvent,
    Customer,
    SkuMapping,
    SubscribedSku,
    Subscription,
    SyncRun,
    UserLicense,
)
from migrations_app.services.audit import audit_record
from tests.factories import (
    CustomerFactory,
    CustomerUserFactory,
    OfferFactory,
    SubscriptionFactory,
)

RETIRED_OFFER = "AAAA0000-RETIRED-OFFER"
LIST = "/customers/"


def _label_date(days: int) -> str:
    moment = timezone.now() + timedelta(days=days)
    return f"{moment:%b} {moment.day}, {moment:%Y}"


def _names(response: Any) -> list[str]:
    """Return the customer names of the list's rows, in order."""
    html = response.content.decode()
    return re.findall(
        r'<td class="name">\s*<a href="[^"]+"><strong>([^<]+)</strong>', html
    )


@pytest.fixture
def retired_mapping(db: Any) -> SkuMapping:
    mapping = SkuMapping.objects.order_by("position").first()
    assert mapping is not None, "the SKU catalogue migration seeds the mappings"
    mapping.retired_offer_id = RETIRED_OFFER
    mapping.save()
    return mapping


@pytest.fixture
def estate(db: Any, retired_mapping: SkuMapping) -> dict[str, Customer]:
    """Three customers: one expiring on a retired SKU, one renewing, one odd."""
    contoso = CustomerFactory(company_name="Contoso Ltd", domain="contoso.example")
    SubscriptionFactory(
        customer=contoso,
        offer_id=RETIRED_OFFER,
        offer_name="Dynamics AX Enterprise",
        auto_renew_enabled=False,
        commitment_end_date=timezone.now() + timedelta(days=20),
    )
    fabrikam = CustomerFactory(company_name="Fabrikam Inc", domain="fabrikam.example")
    SubscriptionFactory(
        customer=fabrikam,
        offer_name="Office 365 E3",
        auto_renew_enabled=True,
        commitment_end_date=timezone.now() + timedelta(days=5),
    )
    SubscriptionFactory(
        customer=fabrikam,
        offer_name="Office 365 E1",
        auto_renew_enabled=False,
        commitment_end_date=timezone.now() + timedelta(days=200),
    )
    odd = CustomerFactory(
        company_name="Adventure Works",
        domain="adventureworks.example",
        sync_error="Partner Center sent an unreadable answer.",
    )
    SubscriptionFactory(customer=odd, offer_name="Office 365 E1", status="quarantined")
    return {"contoso": contoso, "fabrikam": fabrikam, "odd": odd}


# ----------------------------------------------------------------------- access


@pytest.mark.parametrize(
    "url",
    # A fixed id: every xdist worker must collect the same test ids.
    [LIST, f"/customers/{uuid.UUID(int=0x5EED)}/", "/sync/status/"],
)
def test_anonymous_visitors_are_sent_to_the_login_page(client: Any, url: str) -> None:
    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_an_anonymous_refresh_is_sent_to_the_login_page(client: Any, db: Any) -> None:
    response = client.post("/sync/")

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert not AuditEvent.objects.exists()


def test_a_user_without_a_role_is_refused(client: Any, django_user_model: Any) -> None:
    user = django_user_model.objects.create_user("nobody", password="x")
    client.force_login(user)

    assert client.get(LIST).status_code == 403


# ----------------------------------------------------------------------- list


def test_a_viewer_sees_every_customer_with_its_subscription_labels(
    client: Any, viewer: Any, estate: dict[str, Customer]
) -> None:
    client.force_login(viewer)

    response = client.get(LIST)

    assert response.status_code == 200
    html = response.content.decode()
    assert _names(response) == ["Adventure Works", "Contoso Ltd", "Fabrikam Inc"]
    assert f"Expires on {_label_date(20)}" in html
    assert f"Auto renews on {_label_date(5)}" in html
    assert f"Expires on {_label_date(200)}" in html
    assert ">quarantined<" in html
    assert 'class="pill pill-bad"' in html


def test_a_subscription_on_a_retired_offer_is_tagged_retired(
    client: Any, viewer: Any, estate: dict[str, Customer]
) -> None:
    client.force_login(viewer)

    html = client.get(LIST).content.decode()

    assert html.count('class="tag-retired"') == 1
    assert re.search(r"Dynamics AX Enterprise</span><span class=\"tag-retired\">", html)


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("contoso", ["Contoso Ltd"]),
        ("FABRIKAM.EXAMPLE", ["Fabrikam Inc"]),
        ("works", ["Adventure Works"]),
        (".example", ["Adventure Works", "Contoso Ltd", "Fabrikam Inc"]),
        ("nothing-like-this", []),
    ],
)
def test_search_matches_the_name_or_the_domain(
    client: Any, viewer: Any, estate: dict[str, Customer], q: str, expected: list[str]
) -> None:
    client.force_login(viewer)

    assert _names(client.get(LIST, {"q": q})) == expected


def test_search_finds_a_customer_by_tenant_id(
    client: Any, viewer: Any, estate: dict[str, Customer]
) -> None:
    client.force_login(viewer)
    tenant = str(estate["fabrikam"].tenant_id)

    assert _names(client.get(LIST, {"q": tenant.upper()})) == ["Fabrikam Inc"]


def test_the_retired_filter_keeps_customers_with_a_retired_sku_subscription(
    client: Any, viewer: Any, estate: dict[str, Customer]
) -> None:
    client.force_login(viewer)

    assert _names(client.get(LIST, {"retired": "1"})) == ["Contoso Ltd"]


def test_expires_within_keeps_active_subscriptions_with_auto_renew_off_ending_in_time(
    client: Any, viewer: Any, estate: dict[str, Customer]
) -> None:
    client.force_login(viewer)

    # Fabrikam's E3 ends in 5 days but renews; its E1 ends in 200 days.
    assert _names(client.get(LIST, {"expires_within": "30"})) == ["Contoso Ltd"]
    assert _names(client.get(LIST, {"expires_within": "10"})) == []
    assert _names(client.get(LIST, {"expires_within": "365"})) == [
        "Contoso Ltd",
        "Fabrikam Inc",
    ]


def test_an_expiring_subscription_that_is_not_active_does_not_count(
    client: Any, viewer: Any, db: Any
) -> None:
    SubscriptionFactory(
        customer__company_name="Suspended Co",
        status="suspended",
        auto_renew_enabled=False,
        commitment_end_date=timezone.now() + timedelta(days=3),
    )
    client.force_login(viewer)

    assert _names(client.get(LIST, {"expires_within": "30"})) == []


def test_the_status_filter_offers_and_applies_unknown_statuses(
    client: Any, viewer: Any, estate: dict[str, Customer]
) -> None:
    client.force_login(viewer)

    html = client.get(LIST).content.decode()
    assert '<option value="quarantined">Quarantined</option>' in html
    assert '<option value="active">Active</option>' in html
    assert _names(client.get(LIST, {"status": "quarantined"})) == ["Adventure Works"]
    assert _names(client.get(LIST, {"status": "active"})) == [
        "Contoso Ltd",
        "Fabrikam Inc",
    ]


def test_filters_combine(client: Any, viewer: Any, estate: dict[str, Customer]) -> None:
    client.force_login(viewer)

    response = client.get(LIST, {"retired": "1", "q": "fabrikam"})

    assert _names(response) == []
    assert "No customers match these filters" in response.content.decode()


def test_sort_by_expiry_puts_the_soonest_end_first_and_customers_without_one_last(
    client: Any, viewer: Any, estate: dict[str, Customer]
) -> None:
    CustomerFactory(company_name="Aaa No Subscriptions")
    client.force_login(viewer)

    names = _names(client.get(LIST, {"sort": "expiry"}))

    # Fabrikam's soonest active end is in 5 days, Contoso's in 20; Adventure
    # Works has only a quarantined subscription and the last has none.
    assert names == [
        "Fabrikam Inc",
        "Contoso Ltd",
        "Aaa No Subscriptions",
        "Adventure Works",
    ]


def test_the_list_pages_by_fifty_and_the_pager_keeps_the_filters(
    client: Any, viewer: Any, db: Any
) -> None:
    CustomerFactory.create_batch(120)
    CustomerFactory(company_name="Zeta Outlier")
    client.force_login(viewer)

    first = client.get(LIST, {"q": "Ltd"})
    third = client.get(LIST, {"q": "Ltd", "page": "3"})

    assert len(_names(first)) == 50
    assert len(_names(third)) == 20
    html = first.content.decode()
    assert 'href="?q=Ltd&amp;page=2" rel="next"' in html
    assert "page 1 of 3" in html
    assert "Customers 101–120 of 120" in third.content.decode()
    assert 'rel="next"' not in third.content.decode()


def test_the_counts_cover_all_customers_and_the_matching_ones(
    client: Any, viewer: Any, estate: dict[str, Customer]
) -> None:
    client.force_login(viewer)

    response = client.get(LIST, {"q": "contoso"})

    counts = response.context["counts"]
    assert counts == {"total": 3, "expiring": 1, "sync_errors": 1, "retired": 1}
    assert response.context["paginator"].count == 1
    html = response.content.decode()
    assert "<b>3</b><span>customers</span>" in html
    assert "<b>1</b><span>match these filters</span>" in html
    assert "<b>1</b><span>with retired SKUs</span>" in html
    assert "<b>1</b><span>expiring within 30 days</span>" in html
    assert "<b>1</b><span>with sync errors</span>" in html


def test_a_customer_with_a_sync_error_is_flagged_in_its_row(
    client: Any, viewer: Any, estate: dict[str, Customer]
) -> None:
    client.force_login(viewer)

    html = client.get(LIST, {"q": "adventure"}).content.decode()

    assert "Sync error" in html
    assert "Partner Center sent an unreadable answer." in html


def test_with_no_customers_the_list_says_to_run_a_sync(
    client: Any, viewer: Any, db: Any
) -> None:
    client.force_login(viewer)

    html = client.get(LIST).content.decode()

    assert "No customers yet" in html
    assert "Run a sync" in html


def test_when_nothing_matches_the_list_says_so_and_offers_to_clear(
    client: Any, viewer: Any, estate: dict[str, Customer]
) -> None:
    client.force_login(viewer)

    html = client.get(LIST, {"q": "zzz"}).content.decode()

    assert "No customers match these filters" in html
    assert 'href="/customers/">Clear the filters</a>' in html


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"page": "abc"}, "is not a page number"),
        ({"page": "0"}, "Pages start at 1"),
        ({"page": "-3"}, "Pages start at 1"),
        ({"page": "9" * 40}, "There are only 1 pages"),
        ({"expires_within": "-5"}, "Expires within was ignored"),
        ({"expires_within": "soon"}, "Expires within was ignored"),
        ({"expires_within": "9" * 40}, "Expires within was ignored"),
        ({"expires_within": "1e9"}, "Expires within was ignored"),
        ({"sort": "evil"}, "Sort was ignored"),
        ({"sort": "name; DROP TABLE"}, "Sort was ignored"),
        ({"q": "x" * 500}, "Search was ignored"),
        ({"q": "nul\x00byte"}, "Search was ignored"),
        ({"status": "s" * 100}, "Status was ignored"),
    ],
)
def test_a_bad_query_string_answers_200_with_a_plain_message(
    client: Any,
    viewer: Any,
    estate: dict[str, Customer],
    params: dict[str, str],
    message: str,
) -> None:
    client.force_login(viewer)

    response = client.get(LIST, params)

    assert response.status_code == 200
    assert message in response.content.decode()
    assert len(_names(response)) == 3 or "page" in params


def test_a_valid_filter_still_applies_when_another_is_ignored(
    client: Any, viewer: Any, estate: dict[str, Customer]
) -> None:
    client.force_login(viewer)

    response = client.get(LIST, {"q": "contoso", "expires_within": "-5"})

    assert _names(response) == ["Contoso Ltd"]
    assert "Expires within was ignored" in response.content.decode()


def _populate(count: int, retired_offer: str) -> None:
    for n in range(count):
        customer = CustomerFactory()
        SubscriptionFactory(customer=customer, offer_id=retired_offer)
        SubscriptionFactory(customer=customer, auto_renew_enabled=False)
        CustomerUserFactory.create_batch(2, customer=customer)
        if n % 2:
            customer.sync_error = "broken"
            customer.save()


def _list_queries(client: Any) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(LIST, {"sort": "expiry", "retired": "1"})
    assert response.status_code == 200
    return len(captured.captured_queries)


def test_the_list_query_count_does_not_grow_with_its_rows(
    client: Any,
    viewer: Any,
    retired_mapping: SkuMapping,
    django_assert_max_num_queries: Any,
) -> None:
    client.force_login(viewer)
    _populate(5, RETIRED_OFFER)
    with django_assert_max_num_queries(20):
        assert len(_names(client.get(LIST, {"sort": "expiry", "retired": "1"}))) == 5
    small = _list_queries(client)

    _populate(45, RETIRED_OFFER)
    with django_assert_max_num_queries(20):
        assert len(_names(client.get(LIST, {"sort": "expiry", "retired": "1"}))) == 50
    large = _list_queries(client)

    assert small == large


# ----------------------------------------------------------------------- refresh


def test_the_list_shows_the_last_syncs_time_and_status(
    client: Any, viewer: Any, db: Any
) -> None:
    SyncRun.objects.create(
        status=SyncRun.Status.PARTIAL,
        started_at=timezone.now() - timedelta(hours=2),
        finished_at=timezone.now() - timedelta(hours=2),
        customers_seen=200,
        customers_failed=3,
        error="3 customers could not be read.",
    )
    client.force_login(viewer)

    html = client.get(LIST).content.decode()

    assert "Last sync" in html
    assert "2\xa0hours ago" in html
    assert "Finished with errors" in html
    assert "200 customers, 3 failed" in html


def test_a_list_that_was_never_synced_says_so(
    client: Any, viewer: Any, db: Any
) -> None:
    client.force_login(viewer)

    assert "Never synced" in client.get(LIST).content.decode()


def test_a_viewer_has_no_refresh_button_and_cannot_post_one(
    client: Any, viewer: Any, db: Any
) -> None:
    client.force_login(viewer)

    assert 'action="/sync/"' not in client.get(LIST).content.decode()
    assert client.post("/sync/").status_code == 403
    assert not AuditEvent.objects.filter(action="sync.requested").exists()


def _queued_tasks() -> list[str]:
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    return [
        json.loads(raw)["headers"]["task"] for raw in broker.lrange("celery", 0, -1)
    ]


def test_an_operators_refresh_is_audited_and_queued_after_commit(
    client: Any, operator: Any, django_capture_on_commit_callbacks: Any
) -> None:
    client.force_login(operator)
    assert 'action="/sync/"' in client.get(LIST).content.decode()

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post("/sync/")
    assert _queued_tasks() == []
    for callback in callbacks:
        callback()

    assert response.status_code == 302
    assert response["Location"] == LIST
    assert _queued_tasks() == ["migrations_app.tasks.sync_partner_center"]
    event = AuditEvent.objects.get(action="sync.requested")
    assert event.actor == "operator"
    assert event.ip_address == "127.0.0.1"
    assert not SyncRun.objects.exists()
    followed = client.get(LIST)
    assert "Refresh requested…" in followed.content.decode()


def test_an_htmx_refresh_answers_with_a_polling_fragment(
    client: Any, operator: Any, django_capture_on_commit_callbacks: Any
) -> None:
    client.force_login(operator)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/sync/", headers={"HX-Request": "true"})

    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html
    assert 'id="sync-status"' in html
    assert "Refresh requested…" in html
    assert 'hx-trigger="every 3s"' in html
    assert _queued_tasks() == ["migrations_app.tasks.sync_partner_center"]


def test_the_sync_status_stops_polling_once_the_requested_run_finished(
    client: Any, viewer: Any, db: Any
) -> None:
    client.force_login(viewer)
    since = timezone.now()
    waiting = client.get("/sync/status/", {"since": since.isoformat()})
    assert 'hx-trigger="every 3s"' in waiting.content.decode()

    run = SyncRun.objects.create(status=SyncRun.Status.RUNNING, customers_seen=12)
    running = client.get("/sync/status/", {"since": since.isoformat()})
    assert "Syncing…" in running.content.decode()
    assert 'hx-trigger="every 3s"' in running.content.decode()

    run.status = SyncRun.Status.SUCCEEDED
    run.finished_at = timezone.now()
    run.save()
    done = client.get("/sync/status/", {"since": since.isoformat()}).content.decode()
    assert "hx-trigger" not in done
    assert "Refresh finished" in done
    assert "Succeeded" in done


def test_a_refresh_no_worker_picked_up_is_reported_and_still_followed(
    client: Any, viewer: Any, db: Any
) -> None:
    client.force_login(viewer)
    since = timezone.now() - timedelta(minutes=11)

    html = client.get("/sync/status/", {"since": since.isoformat()}).content.decode()

    assert "Is the Celery worker running?" in html
    assert 'hx-trigger="every 3s"' in html


def test_a_late_worker_clears_the_refresh_not_started_report(
    client: Any, viewer: Any, db: Any
) -> None:
    client.force_login(viewer)
    since = timezone.now() - timedelta(minutes=11)
    SyncRun.objects.create(status=SyncRun.Status.RUNNING, customers_seen=3)

    html = client.get("/sync/status/", {"since": since.isoformat()}).content.decode()

    assert "Syncing…" in html
    assert "Refresh not started" not in html


def test_a_run_that_started_after_the_request_is_never_reported_as_not_started(
    client: Any, viewer: Any, db: Any
) -> None:
    """Even when the patience has elapsed and the run is the only one."""
    client.force_login(viewer)
    since = timezone.now() - timedelta(minutes=11)
    SyncRun.objects.create(status=SyncRun.Status.SUCCEEDED, finished_at=timezone.now())

    html = client.get("/sync/status/", {"since": since.isoformat()}).content.decode()

    assert "Refresh not started" not in html
    assert "Refresh finished" in html
    assert "hx-trigger" not in html


@pytest.mark.parametrize("since", ["yesterday", "2024-01-01T00:00:00", "", "\x00"])
def test_a_bad_since_is_ignored(client: Any, viewer: Any, db: Any, since: str) -> None:
    client.force_login(viewer)

    response = client.get("/sync/status/", {"since": since})

    assert response.status_code == 200
    assert "Never synced" in response.content.decode()


# ----------------------------------------------------------------------- detail


def test_the_customer_page_shows_header_subscriptions_seats_and_users(
    client: Any, viewer: Any, estate: dict[str, Customer]
) -> None:
    customer = estate["contoso"]
    customer.relationship_to_partner = "reseller"
    customer.save()
    offer = OfferFactory(offer_id=RETIRED_OFFER, product_id="sku-ax-enterprise")
    SubscribedSku.objects.create(
        customer=customer,
        sku_id=offer.product_id,
        name="Dynamics AX Enterprise",
        sku_part_number="AX_ENTERPRISE_USER",
        total_units=15,
        consumed_units=12,
        available_units=3,
        suspended_units=0,
    )
    alice = CustomerUserFactory(customer=customer, display_name="Alice Anders")
    UserLicense.objects.create(
        user=alice, sku_id=offer.product_id, sku_name="Dynamics AX Enterprise"
    )
    CustomerUserFactory(customer=customer, display_name="Bob Brown", usage_location="")
    client.force_login(viewer)

    response = client.get(f"/customers/{customer.tenant_id}/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "<h1>Contoso Ltd</h1>" in html
    assert "contoso.example" in html
    assert str(customer.tenant_id) in html
    assert "relationship: reseller" in html
    assert "Last synced" in html
    assert f"Expires on {_label_date(20)}" in html
    assert ">15</td>" in html and ">12</td>" in html and ">3</td>" in html
    assert "Alice Anders" in html
    assert re.search(r"Dynamics AX Enterprise<span class=\"tag-retired\">", html)
    assert "Bob Brown" in html
    assert "No usage location" in html
    assert "1 user without a usage location" in html


def test_a_subscriptions_reseller_of_record_is_shown_on_the_customer_page(
    client: Any, viewer: Any, db: Any
) -> None:
    sub = SubscriptionFactory(partner_id="9988776")
    own = SubscriptionFactory(customer=sub.customer, partner_id="4847383")
    client.force_login(viewer)

    html = client.get(f"/customers/{sub.customer.tenant_id}/").content.decode()

    assert html.count("Reseller 9988776") == 1
    assert "Another partner or channel" not in html
    assert own.subscription_id in html


def test_a_customers_sync_error_is_shown_in_an_error_box(
    client: Any, viewer: Any, estate: dict[str, Customer]
) -> None:
    client.force_login(viewer)

    html = client.get(f"/customers/{estate['odd'].tenant_id}/").content.decode()

    assert 'class="error-box"' in html
    assert "Partner Center sent an unreadable answer." in html
    assert ">quarantined<" in html


def test_an_unknown_tenant_answers_404(client: Any, viewer: Any, db: Any) -> None:
    client.force_login(viewer)

    response = client.get(f"/customers/{uuid.uuid4()}/")

    assert response.status_code == 404
    assert "Not found" in response.content.decode()


def test_a_malformed_tenant_id_answers_404(client: Any, viewer: Any, db: Any) -> None:
    client.force_login(viewer)

    assert client.get("/customers/not-a-tenant/").status_code == 404


def _detail_queries(client: Any, customer: Customer) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(f"/customers/{customer.tenant_id}/")
    assert response.status_code == 200
    return len(captured.captured_queries)


def test_the_customer_page_query_count_does_not_grow_with_users_or_subscriptions(
    client: Any, viewer: Any, db: Any
) -> None:
    client.force_login(viewer)
    customer = CustomerFactory()

    def add(n: int) -> None:
        for _ in range(n):
            user = CustomerUserFactory(customer=customer)
            UserLicense.objects.create(user=user, sku_id=str(uuid.uuid4()))
            SubscriptionFactory(customer=customer)

    add(3)
    small = _detail_queries(client, customer)
    add(30)
    large = _detail_queries(client, customer)

    assert small == large


def _panel_redraw_queries(client: Any, customer: Customer) -> int:
    url = reverse("migration_customer_panel", args=[customer.tenant_id])
    with CaptureQueriesContext(connection) as captured:
        # Without the `synced` the page drew, the answer redraws every section.
        response = client.get(url)
    assert response.status_code == 200
    assert 'id="customer-users" hx-swap-oob="true"' in response.content.decode()
    return len(captured.captured_queries)


def test_the_panel_poll_redraws_the_page_in_as_many_queries_for_many_rows(
    client: Any, viewer: Any, db: Any
) -> None:
    client.force_login(viewer)
    customer = CustomerFactory()

    def add(n: int) -> None:
        for _ in range(n):
            user = CustomerUserFactory(customer=customer)
            UserLicense.objects.create(user=user, sku_id=str(uuid.uuid4()))
            SubscriptionFactory(customer=customer)
            audit_record(
                action="partner_center.write",
                customer_tenant_id=str(customer.tenant_id),
                target_user_id=user.user_id,
                message="POST licenseupdates",
            )

    add(3)
    small = _panel_redraw_queries(client, customer)
    add(30)
    large = _panel_redraw_queries(client, customer)

    assert small == large
    assert small <= _detail_queries(client, customer) + 2


# ----------------------------------------------------------------------- sandbox


def test_the_pages_match_the_synced_sandbox(
    client: Any, viewer: Any, synced: SyncRun, sandbox_dump: dict[str, Any]
) -> None:
    client.force_login(viewer)
    html = client.get(LIST, {"q": "Contoso"}).content.decode()
    contoso = next(
        c for c in sandbox_dump["customers"] if c["companyName"] == "Contoso Ltd"
    )
    sub = next(
        s for s in sandbox_dump["subscriptions"] if s["customerId"] == contoso["id"]
    )
    end = Subscription.objects.get(subscription_id=sub["id"]).commitment_end_date
    assert end is not None

    assert f"Expires on {end:%b} {end.day}, {end:%Y}" in html
    assert 'class="tag-retired"' in html
    detail = client.get(f"/customers/{contoso['id']}/").content.decode()
    users = [u for u in sandbox_dump["users"] if u["customerId"] == contoso["id"]]
    for user in users:
        assert user["userPrincipalName"] in detail
    assert detail.count('Dynamics AX Enterprise<span class="tag-retired">') >= len(
        users
    )


def test_a_refresh_while_a_sync_runs_queues_nothing_and_follows_that_run(
    client: Any, operator: Any, django_capture_on_commit_callbacks: Any
) -> None:
    SyncRun.objects.create(status=SyncRun.Status.RUNNING, customers_seen=200)
    client.force_login(operator)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/sync/", headers={"HX-Request": "true"})

    html = response.content.decode()
    assert "Syncing…" in html
    assert 'hx-trigger="every 3s"' in html
    assert _queued_tasks() == []
    event = AuditEvent.objects.get(action="sync.requested")
    assert "already running" in event.message


def test_a_run_left_running_by_a_killed_worker_does_not_block_a_refresh(
    client: Any, operator: Any, django_capture_on_commit_callbacks: Any
) -> None:
    SyncRun.objects.create(
        status=SyncRun.Status.RUNNING, started_at=timezone.now() - timedelta(hours=3)
    )
    client.force_login(operator)

    with django_capture_on_commit_callbacks(execute=True):
        client.post("/sync/")

    assert _queued_tasks() == ["migrations_app.tasks.sync_partner_center"]


def test_a_run_left_running_by_a_killed_worker_shows_as_interrupted(
    client: Any, viewer: Any, db: Any
) -> None:
    SyncRun.objects.create(
        status=SyncRun.Status.RUNNING, started_at=timezone.now() - timedelta(hours=3)
    )
    client.force_login(viewer)

    html = client.get(LIST).content.decode()

    assert "Interrupted" in html
    assert "Syncing…" not in html
    assert 'hx-trigger="every 3s"' not in html


def test_the_migration_panel_comes_right_after_the_header_so_progress_is_in_sight(
    client: Any, viewer: Any, estate: dict[str, Customer]
) -> None:
    client.force_login(viewer)

    html = client.get(f"/customers/{estate['odd'].tenant_id}/").content.decode()

    panel = html.index('id="migration-panel"')
    assert html.count('id="migration-panel"') == 1
    assert html.index('class="error-box"') < panel
    assert panel < html.index("<h2>Subscriptions</h2>")


def test_a_status_no_subscription_has_is_ignored_with_a_notice(
    client: Any, viewer: Any, estate: dict[str, Customer]
) -> None:
    client.force_login(viewer)

    response = client.get(LIST, {"status": "bogus"})

    html = response.content.decode()
    assert response.status_code == 200
    assert "Status was ignored: no subscription has the status “bogus”." in html
    assert 'value="bogus"' not in html
    assert len(_names(response)) == 3


def test_a_status_matches_whatever_its_case(
    client: Any, viewer: Any, estate: dict[str, Customer]
) -> None:
    client.force_login(viewer)

    response = client.get(LIST, {"status": "Quarantined"})

    assert _names(response) == ["Adventure Works"]
    assert '<option value="quarantined" selected>' in response.content.decode()


def test_the_search_box_says_what_it_searches(
    client: Any, viewer: Any, db: Any
) -> None:
    client.force_login(viewer)

    html = client.get(LIST).content.decode()

    assert '<label for="f-q">Search</label>' in html
    assert 'placeholder="Name, domain or tenant id"' in html
