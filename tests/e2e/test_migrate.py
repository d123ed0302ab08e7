"""Migrate a customer in a real Chromium: plan, Start, watch it finish, retry a failure.

The `worker` fixture's background thread plays the Celery worker: it calls the
`migration_advance` task function for every migration that has work due, as a
worker fed by beat would.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from migrations_app.models import Customer, CustomerUser, Migration
from tests.e2e.conftest import SHOTS
from tests.e2e.worker import Worker

pytestmark = pytest.mark.e2e

Login = Callable[[Page, str], None]
Shot = Callable[[Page, str], Any]


@pytest.fixture
def sandbox_latency_ms() -> int:
    """Return 120: the page is photographed while the migration runs."""
    return 120


def _row(page: Page, company: str) -> Any:
    return page.locator("table.customers tbody tr").filter(has_text=company)


def test_an_operator_migrates_contoso_and_watches_it_complete(
    page: Page,
    login: Login,
    screenshot: Shot,
    operator: Any,
    synced_sandbox: Any,
    worker: Worker,
) -> None:
    contoso = Customer.objects.get(company_name="Contoso Ltd")
    worker.pause()  # until the page shows the migration waiting to run
    login(page, "operator")
    row = _row(page, "Contoso Ltd")
    expect(row.locator(".tag-retired")).to_have_count(1)
    subscriptions = page.locator(f"#subs-{contoso.pk}")
    expect(subscriptions).to_contain_text("Dynamics AX Enterprise")
    expect(subscriptions).to_contain_text("Expires on")
    list_url = page.url
    row.get_by_role("link", name="Migrate").click()

    page.wait_for_url(f"**/customers/{contoso.tenant_id}/migrate/**")
    expect(page.locator("h1")).to_have_text("Migrate Contoso Ltd")
    plan = page.locator("section.plan-item")
    expect(plan).to_have_count(1)
    expect(plan.locator("select").first).to_have_value(
        re.compile(r"^[0-9A-Fa-f-]{36}$")
    )
    expect(plan.locator("select option:checked")).to_have_text(
        "Dynamics 365 for Unified Operations"
    )
    expect(plan.locator("input[type=number]")).to_have_value("15")
    expect(plan.locator(".user-list li")).to_have_count(12)
    expect(plan.get_by_label("Suspend now")).to_be_checked()
    expect(plan).to_contain_text(re.compile(r"Let it expire on \w{3} \d{1,2}, \d{4}"))
    screenshot(page, "migrate-1-plan")

    # Start asks before placing the billable order, then opens the customer page.
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Start migration").click()
    page.wait_for_url(f"**/customers/{contoso.tenant_id}/#migration-panel")
    expect(page.locator(".msg-success")).to_contain_text(
        "Migration started for Contoso Ltd"
    )
    page.goto(list_url)
    status = page.locator(f"#migration-status-{contoso.pk}")
    expect(status.locator("progress")).to_be_visible()
    expect(page.locator("#migration-poller[hx-get]")).to_have_count(1)
    worker.resume()
    expect(status).to_contain_text(re.compile(r"\d+/12 users"))
    expect(status).to_contain_text(
        re.compile("Moving licences|Verifying licences|Checking seats"), timeout=30_000
    )
    screenshot(page, "migrate-2-running")

    # No reload: the single poller swaps the row until the migration is terminal.
    expect(status.locator(".pill")).to_have_text("Completed", timeout=60_000)
    expect(status).to_contain_text("12/12 users moved · old subscription suspended")
    expect(page.locator("#migration-poller[hx-get]")).to_have_count(0)
    # The same poll swapped the row's Subscriptions cell: new labels, no reload.
    expect(subscriptions.locator("li")).to_have_count(2)
    expect(subscriptions).to_contain_text(
        re.compile(r"Suspended · deprovisioned after \w{3} \d{1,2}, \d{4}")
    )
    expect(subscriptions).to_contain_text("Dynamics 365 for Unified Operations")
    expect(subscriptions).to_contain_text(
        re.compile(r"Auto renews on \w{3} \d{1,2}, \d{4}")
    )
    expect(subscriptions).not_to_contain_text("Expires on")
    screenshot(page, "migrate-3-completed-list")

    page.goto(f"/customers/{contoso.tenant_id}/")
    panel = page.locator("#migration-panel")
    expect(panel.locator(".migration-state")).to_have_text("Completed")
    expect(panel.locator(".new-label")).to_have_text(
        re.compile(r"^Auto renews on \w{3} \d{1,2}, \d{4}( · .+)?$")
    )
    expect(panel.locator(".old-label")).to_have_text(
        re.compile(r"^Suspended · deprovisioned after \w{3} \d{1,2}, \d{4}$")
    )
    expect(panel.locator(".timeline li.done")).to_have_count(6)
    subscriptions = page.locator("section.card").filter(has_text="Subscriptions").first
    expect(subscriptions).to_contain_text("Suspended · deprovisioned after")
    expect(subscriptions).to_contain_text("Auto renews on")
    screenshot(page, "migrate-4-completed-customer")
    panel.screenshot(path=str(SHOTS / "migrate-4b-completed-panel.png"))

    migration = Migration.objects.get(customer=contoso)
    dump = synced_sandbox.state()
    old = next(
        s
        for s in dump["subscriptions"]
        if s["id"] == migration.source_subscription.subscription_id
    )
    assert old["status"] == "suspended"


def test_a_stopped_step_reads_plainly_and_retry_finishes_the_job(
    page: Page,
    login: Login,
    screenshot: Shot,
    operator: Any,
    synced_sandbox: Any,
    worker: Worker,
) -> None:
    wide = Customer.objects.get(company_name="Wide World Importers")
    login(page, "operator")
    page.goto(f"/customers/{wide.tenant_id}/migrate/")
    expect(page.locator("section.plan-item")).to_have_count(2)
    # The plan refuses to buy seats for users no licence can be assigned to:
    # one reason, and Start disabled.
    reasons = page.locator(".error-box.blocker").first
    expect(reasons).to_contain_text("no usage location")
    expect(reasons).to_contain_text(
        "Set their usage location in the Microsoft 365 admin center"
    )
    expect(page.get_by_role("button", name="Start migration")).to_be_disabled()
    assert not Migration.objects.filter(customer=wide).exists()
    # As if the synced users had a location that Partner Center no longer has:
    # the seat check reads Partner Center and stops there.
    CustomerUser.objects.filter(customer=wide, usage_location="").update(
        usage_location="US"
    )
    page.goto(f"/customers/{wide.tenant_id}/migrate/")
    # Leave the add-on out: only the AX Enterprise subscription moves.
    page.locator("section.plan-item").nth(1).get_by_label(
        "Include in this migration"
    ).uncheck()
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Start migration").click()
    page.wait_for_url(f"**/customers/{wide.tenant_id}/#migration-panel")

    panel = page.locator("#migration-panel")
    expect(panel.locator(".migration-state")).to_have_text(
        "Failed at: checking seats and users", timeout=60_000
    )
    expect(panel.locator(".error-box")).to_contain_text(
        "2 users have no usage location"
    )
    expect(panel.locator(".timeline li.failed")).to_have_count(1)
    expect(panel.get_by_role("button", name="Retry")).to_be_visible()
    screenshot(page, "migrate-5-failed-step")
    panel.screenshot(path=str(SHOTS / "migrate-5b-failed-panel.png"))

    tenant = str(wide.tenant_id)
    for user in synced_sandbox.state()["users"]:
        if user["customerId"].lower() == tenant and not user["usageLocation"]:
            synced_sandbox.patch(
                f"/_sandbox/customers/{tenant}/users/{user['id']}",
                {"usageLocation": "US"},
            )
    panel.get_by_role("button", name="Retry").click()
    expect(panel.locator(".migration-state")).to_have_text("Completed", timeout=60_000)
    expect(panel.locator(".old-label")).to_contain_text(
        "Suspended · deprovisioned after"
    )
    assert Migration.objects.get(customer=wide).state == "completed"
