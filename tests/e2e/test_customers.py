"""The customer pages in a real Chromium, against data synced from the sandbox."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from migrations_app.models import Customer, SkuMapping, Subscription, SyncRun
from migrations_app.models.catalog import catalogue_key
from migrations_app.services.sync import sync_run

pytestmark = pytest.mark.e2e

Login = Callable[[Page, str], None]
Shot = Callable[[Page, str], Any]


def _label(text: str) -> str:
    end = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return f"{end:%b} {end.day}, {end:%Y}"


def _row_names(page: Page) -> list[str]:
    return page.locator("table.customers tbody td.name strong").all_inner_texts()


@pytest.fixture
def dump(sandbox: Any, transactional_db: Any) -> dict[str, Any]:
    """Sync the sandbox into the database; return its state dump."""
    run = sync_run()
    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    return sandbox.state()


def test_a_viewer_searches_filters_and_opens_a_customer(
    page: Page,
    login: Login,
    screenshot: Shot,
    viewer: Any,
    dump: dict[str, Any],
) -> None:
    login(page, "viewer")
    customers = dump["customers"]
    listed = {c["id"] for c in customers}
    subs = [s for s in dump["subscriptions"] if s["customerId"] in listed]

    expect(page.locator("table.customers tbody tr")).to_have_count(len(customers))
    assert _row_names(page) == sorted(c["companyName"] for c in customers)
    expect(page.locator(".stat").first).to_contain_text(str(len(customers)))
    screenshot(page, "customers-list")

    contoso = next(c for c in customers if c["companyName"] == "Contoso Ltd")
    contoso_sub = next(s for s in subs if s["customerId"] == contoso["id"])
    page.fill("#f-q", "contoso")
    page.press("#f-q", "Enter")
    page.wait_for_url(re.compile(r"q=contoso"))
    expect(page.locator("table.customers tbody tr")).to_have_count(1)
    row = page.locator("table.customers tbody tr").first
    expect(row).to_contain_text("Contoso Ltd")
    expect(row).to_contain_text(
        f"Expires on {_label(contoso_sub['commitmentEndDate'])}"
    )
    expect(row.locator(".tag-retired")).to_have_count(1)

    # The checkbox submits the form by itself (data-autosubmit).
    page.click("a:text('Clear filters')")
    page.check("#f-retired")
    page.wait_for_url(re.compile(r"retired=1"))
    retired_offers = {
        catalogue_key(m.retired_offer_id)
        for m in SkuMapping.objects.exclude(retired_offer_id="")
    }
    with_retired = {
        c["companyName"]
        for c in customers
        if any(
            s["customerId"] == c["id"] and catalogue_key(s["offerId"]) in retired_offers
            for s in subs
        )
    }
    assert with_retired
    expect(page.locator("table.customers tbody tr")).to_have_count(len(with_retired))
    assert set(_row_names(page)) == with_retired
    screenshot(page, "customers-retired")

    page.click("a:text('Clear filters')")
    page.select_option("#f-status", "expired")
    page.wait_for_url(re.compile(r"status=expired"))
    expired = {
        c["companyName"]
        for c in customers
        if any(s["customerId"] == c["id"] and s["status"] == "expired" for s in subs)
    }
    assert set(_row_names(page)) == expired
    expect(
        page.locator("table.customers tbody").get_by_text("expired").first
    ).to_be_visible()

    page.click("a:text('Clear filters')")
    page.click("table.customers >> text=Contoso Ltd")
    page.wait_for_url(f"**/customers/{contoso['id']}/")
    expect(page.locator("h1")).to_have_text("Contoso Ltd")
    expect(page.locator("#customer-head")).to_contain_text(contoso["domain"])
    expect(page.locator("#customer-head")).to_contain_text(contoso["id"])
    expect(page.locator("main")).to_contain_text(
        f"Expires on {_label(contoso_sub['commitmentEndDate'])}"
    )
    users = [u for u in dump["users"] if u["customerId"] == contoso["id"]]
    for user in users:
        expect(page.locator("main")).to_contain_text(user["userPrincipalName"])
    holders = sum(1 for u in users if contoso_sub["skuId"] in u["licenses"])
    seats = page.locator("section", has_text="Licences in the tenant").locator(
        "tbody tr", has_text=contoso_sub["offerName"]
    )
    expect(seats).to_contain_text(str(contoso_sub["quantity"]))
    expect(seats.locator("td").nth(2)).to_have_text(str(holders))
    screenshot(page, "customer-detail")


def test_the_customer_page_flags_users_without_a_usage_location(
    page: Page, login: Login, screenshot: Shot, viewer: Any, dump: dict[str, Any]
) -> None:
    wide = next(
        c for c in dump["customers"] if c["companyName"] == "Wide World Importers"
    )
    missing = [
        u
        for u in dump["users"]
        if u["customerId"] == wide["id"] and not u["usageLocation"]
    ]
    assert missing
    login(page, "viewer")

    page.goto(f"/customers/{wide['id']}/")

    expect(page.locator("main .pill-warn", has_text="No usage location")).to_have_count(
        len(missing)
    )
    screenshot(page, "customer-detail-usage-location")


def test_a_subscriptions_reseller_of_record_is_shown_in_the_browser(
    page: Page, login: Login, viewer: Any, dump: dict[str, Any]
) -> None:
    northwind = next(
        c for c in dump["customers"] if c["companyName"] == "Northwind Traders"
    )
    login(page, "viewer")

    page.goto(f"/customers/{northwind['id']}/")

    expect(page.locator("main")).to_contain_text("Reseller 9988776")


def test_an_operators_refresh_shows_that_a_sync_was_requested(
    page: Page, login: Login, operator: Any, dump: dict[str, Any]
) -> None:
    login(page, "operator")

    page.click("button:text('Refresh from Partner Center')")

    expect(page.locator("#sync-status")).to_contain_text("Refresh requested…")
    assert page.url.endswith("/customers/")


def test_a_viewer_sees_no_refresh_button(
    page: Page, login: Login, viewer: Any, dump: dict[str, Any]
) -> None:
    login(page, "viewer")

    expect(page.locator("#sync-status")).to_contain_text("Last sync")
    expect(page.locator("button", has_text="Refresh")).to_have_count(0)


def _many_customers(count: int) -> None:
    now = timezone.now()
    words = ("Northern", "Harbor", "Logistics", "Dental", "Consolidated", "Group")
    rows = [
        Customer(
            tenant_id=uuid.uuid4(),
            company_name=f"{words[n % 6]} {words[(n // 6) % 6]} {n:05d}"
            + (
                " International Holdings and Subsidiaries of the Pacific"
                if n % 97 == 0
                else ""
            ),
            domain=f"tenant{n:05d}.onmicrosoft.com",
            relationship_to_partner="reseller",
            synced_at=now,
        )
        for n in range(count)
    ]
    Customer.objects.bulk_create(rows, batch_size=1000)
    subs = []
    for n, customer in enumerate(Customer.objects.order_by("pk")):
        subs.append(
            Subscription(
                customer=customer,
                subscription_id=str(uuid.uuid4()),
                offer_id=str(uuid.uuid4()).upper(),
                offer_name="Office 365 E3",
                quantity=10 + n % 40,
                status="active",
                auto_renew_enabled=n % 3 != 0,
                commitment_end_date=now + timedelta(days=n % 365),
            )
        )
    Subscription.objects.bulk_create(subs, batch_size=1000)


def test_the_list_stays_fast_and_readable_with_five_thousand_customers(
    page: Page, login: Login, screenshot: Shot, viewer: Any, transactional_db: Any
) -> None:
    _many_customers(5000)
    login(page, "viewer")

    started = time.monotonic()
    page.goto("/customers/?sort=expiry")
    loaded = time.monotonic() - started

    expect(page.locator("table.customers tbody tr")).to_have_count(50)
    expect(page.locator("nav.pager").last).to_contain_text("page 1 of 100")
    expect(page.locator(".stat").first).to_contain_text("5,000")
    screenshot(page, "customers-5000")
    page.click("a[rel=next]")
    page.wait_for_url(re.compile(r"page=2"))
    expect(page.locator("nav.pager").last).to_contain_text("page 2 of 100")
    page.fill("#f-q", "00097")
    page.press("#f-q", "Enter")
    expect(page.locator("table.customers tbody tr")).to_have_count(1)
    expect(page.locator("table.customers tbody")).to_contain_text(
        "International Holdings"
    )
    # Generous: this guards against a page that degrades with the table size.
    assert loaded < 5, f"the list took {loaded:.2f} s with 5,000 customers"
