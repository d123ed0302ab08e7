"""Migrate a new-commerce customer in Chromium: one licence becomes two (Teams unbundling)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from migrations_app.models import Customer, CustomerUser, Migration
from tests.e2e.worker import Worker

pytestmark = pytest.mark.e2e

Login = Callable[[Page, str], None]
Shot = Callable[[Page, str], Any]
PROSEWARE = "Proseware Inc"


def test_an_operator_moves_a_teams_unbundling_customer_to_two_licences_each(
    page: Page,
    login: Login,
    screenshot: Shot,
    operator: Any,
    synced_sandbox: Any,
    worker: Worker,
) -> None:
    proseware = Customer.objects.get(company_name=PROSEWARE)
    worker.pause()
    login(page, "operator")
    page.goto(f"/customers/{proseware.tenant_id}/migrate/")
    plan = page.locator("section.plan-item")
    expect(plan).to_have_count(1)
    expect(plan.locator("select option:checked")).to_have_text(
        re.compile(r"Microsoft 365 E3 \(no Teams\) \+ Microsoft Teams Enterprise")
    )
    expect(plan).not_to_contain_text("Suspend now")
    expect(plan).to_contain_text("Turn auto-renew off")
    screenshot(page, "migrate-nce-1-plan")

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Start migration").click()
    page.wait_for_url(f"**/customers/{proseware.tenant_id}/#migration-panel")
    worker.resume()

    panel = page.locator("#migration-panel")
    expect(panel.locator(".migration-state")).to_have_text("Completed", timeout=90_000)
    migration = Migration.objects.get(customer=proseware)
    names = [t.name for t in migration.targets.order_by("position")]
    assert len(names) == 2
    # Without a reload, every moved user shows both new licences.
    users = page.locator("#customer-users")
    moved = migration.license_moves.values_list("user_principal_name", flat=True)
    for upn in moved:
        row = users.locator("tr").filter(has_text=upn)
        for name in names:
            expect(row).to_contain_text(name, timeout=30_000)
    subscriptions = page.locator("#customer-subscriptions")
    expect(subscriptions).to_contain_text(
        re.compile(r"Expires on \w{3} \d{1,2}, \d{4}")
    )
    expect(subscriptions).not_to_contain_text("Suspended")
    screenshot(page, "migrate-nce-2-completed")
    assert CustomerUser.objects.filter(customer=proseware).exists()
