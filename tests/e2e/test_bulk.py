"""A bulk migration in a real Chromium: tick customers on the list, preview, start,
and watch the run's page reach a result for every customer.

The `worker` fixture's background thread plays the Celery worker: it expands
waiting bulk runs and runs every migration step that is due, as workers fed by
beat would.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from migrations_app.models import Customer, Migration
from tests.e2e.worker import (
    Job,
    Worker,
    advance_due_migrations,
    expand_waiting_bulk_runs,
)

pytestmark = pytest.mark.e2e

Login = Callable[[Page, str], None]
Shot = Callable[[Page, str], Any]
CHOSEN = ("Contoso Ltd", "Fabrikam Inc", "Northwind Traders", "Wide World Importers")


@pytest.fixture
def worker_jobs() -> list[Job]:
    """Expand waiting bulk runs, then run due migration steps."""
    return [expand_waiting_bulk_runs, advance_due_migrations]


def test_an_operator_migrates_four_customers_at_once_and_watches_each_result(
    page: Page,
    login: Login,
    screenshot: Shot,
    operator: Any,
    synced_sandbox: Any,
    worker: Worker,
) -> None:
    worker.pause()  # until the run's page shows it waiting
    login(page, "operator")
    page.goto("/customers/?retired=1")
    expect(page.locator("#bulk-all")).to_contain_text("matching this filter")
    for name in CHOSEN:
        row = page.locator("table.customers tbody tr").filter(has_text=name)
        row.get_by_role("checkbox").check()
    page.get_by_role(
        "button", name="Preview bulk migration of ticked customers"
    ).click()

    page.wait_for_url("**/bulk/preview/**")
    expect(page.locator("h1")).to_have_text("Migrate 4 customers")
    totals = page.locator("#bulk-totals")
    expect(totals).to_contain_text("4customers")
    expect(totals).to_contain_text("1cannot start")
    table = page.locator("table.bulk-preview")
    expect(table).to_contain_text("Dynamics AX Enterprise")
    expect(table).to_contain_text("Dynamics 365 for Unified Operations")
    wide_world = table.locator("tr").filter(has_text="Wide World Importers")
    expect(wide_world).to_contain_text("Cannot start")
    expect(wide_world).to_contain_text("no usage location")
    screenshot(page, "bulk-preview-1366")
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "bulk-preview-390")
    page.set_viewport_size({"width": 1366, "height": 900})

    asked: list[str] = []

    def accept(dialog: Any) -> None:
        asked.append(dialog.message)
        dialog.accept()

    page.once("dialog", accept)
    page.get_by_role("button", name="Start bulk migration").click()
    page.wait_for_url(re.compile(r".*/bulk/\d+/$"))
    assert asked and "migrations of 3 customers?" in asked[0]
    assert "1 of the 4 chosen cannot start and is left out." in asked[0]
    progress = page.locator("#bulk-progress")
    expect(progress).to_have_attribute("hx-trigger", "every 2s")
    expect(page.locator("[hx-trigger]")).to_have_count(1)
    expect(page.locator('tr[data-status="waiting"]')).to_have_count(4)

    worker.resume()
    expect(page.locator('tr[data-status="running"]')).to_have_count(3, timeout=20_000)
    expect(page.locator('tr[data-status="not_started"]')).to_have_count(1)
    screenshot(page, "bulk-running-1366")
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "bulk-running-390")
    page.set_viewport_size({"width": 1366, "height": 900})

    # No reload: the page's one poll brings every customer to its result.
    expect(page.locator("[hx-trigger]")).to_have_count(0, timeout=90_000)
    expect(page.locator('tr[data-status="done"]')).to_have_count(2)
    # Northwind bought its old subscription elsewhere: its customer must act.
    northwind = page.locator("tr").filter(has_text="Northwind Traders")
    expect(northwind).to_have_attribute("data-status", "needs_action")
    expect(northwind).to_contain_text("must cancel Dynamics CRM Online Basic")
    blocked = page.locator("tr").filter(has_text="Wide World Importers")
    expect(blocked).to_contain_text("Could not start")
    expect(blocked).to_contain_text("no usage location")
    expect(page.locator("#bulk-counts")).to_contain_text("2done")
    expect(page.locator("#bulk-counts")).to_contain_text("1need customer action")
    screenshot(page, "bulk-done-1366")

    started = Migration.objects.filter(bulk_run__isnull=False)
    assert {m.customer.company_name for m in started} == set(CHOSEN[:3])
    assert sorted(m.state for m in started) == [
        "completed",
        "completed",
        "needs_customer_action",
    ]
    assert not Migration.objects.filter(
        customer=Customer.objects.get(company_name="Wide World Importers")
    ).exists()
