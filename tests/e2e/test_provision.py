"""Provision an invited customer in a real Chromium: invite, accept, sync, plan, Start,
watch the worker buy the same SKU, and find no licence moved (seed 2)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from migrations_app.models import Customer, Migration, MigrationState, SyncRun
from migrations_app.services.invitations import invitation_record
from migrations_app.services.sync import sync_run
from sandbox import products, seed
from tests.conftest import SANDBOX_SEED
from tests.e2e.worker import Worker

pytestmark = pytest.mark.e2e

Login = Callable[[Page, str], None]
Shot = Callable[[Page, str], Any]
O365_E3 = "6fd2c87f-b296-42f0-b197-1e91e994b900"


def licences_of(sandbox: Any, tenant_id: str) -> dict[str, list[str]]:
    """Return every user's licences in the sandbox tenant, by user id."""
    return {
        u["id"]: sorted(u["licenses"])
        for u in sandbox.state()["users"]
        if u["customerId"].lower() == tenant_id
    }


def test_an_operator_provisions_an_invited_customer_with_no_licence_moved(
    page: Page,
    login: Login,
    screenshot: Shot,
    operator: Any,
    synced_sandbox: Any,
    worker: Worker,
) -> None:
    tenant_id = seed.scenario_tenant_id(seed.TREY_RESEARCH, SANDBOX_SEED)
    invitation_record(
        company_name=seed.TREY_RESEARCH,
        domain="treyresearch.onmicrosoft.com",
        actor=operator,
    )
    synced_sandbox.post(f"/_sandbox/invitations/{tenant_id}/accept", {})
    run = sync_run()
    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    trey = Customer.objects.get(tenant_id=tenant_id)
    before = licences_of(synced_sandbox, tenant_id)
    worker.pause()

    login(page, "operator")
    page.goto("/invitations/")
    row = page.locator("table.invitations tbody tr").filter(has_text="Trey Research")
    expect(row).to_contain_text("Accepted")
    row.get_by_role("link", name="Provisioning plan").click()

    page.wait_for_url(f"**/customers/{tenant_id}/provision/**")
    expect(page.locator("h1")).to_have_text("Provision Trey Research in CSP")
    facts = page.locator("#provision-facts")
    expect(facts).to_contain_text("No licence is reassigned")
    expect(facts).to_contain_text("not refunded")
    lines = page.locator("section.provision-line")
    expect(lines).to_have_count(2)
    e3 = page.locator(f"#provision-{O365_E3}")
    expect(e3.locator(".held")).to_have_text("8")
    expect(e3.locator(".offer")).to_contain_text("Office 365 E3")
    expect(e3.locator(".offer")).to_contain_text(
        products.sku(products.O365_E3).catalog_item_id
    )
    expect(e3.locator("input[type=number]")).to_have_value("8")
    expect(e3.locator("select option:checked")).to_have_text("One year, billed monthly")
    page.set_viewport_size({"width": 1366, "height": 900})
    screenshot(page, "provision-plan-1366")
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "provision-plan-390")
    page.set_viewport_size({"width": 1366, "height": 900})

    # Bad input comes back on the page, nothing started (the browser itself
    # refuses fewer than the minimum, so send no number at all).
    e3.locator("input[type=number]").fill("")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Start provisioning").click()
    expect(page.locator(f"#provision-{O365_E3} .errorlist")).to_contain_text(
        "Enter a whole number of seats."
    )
    assert not Migration.objects.exists()

    # Only E3: Exchange is left out.
    page.locator(f"#provision-{O365_E3} input[type=number]").fill("8")
    exchange = page.locator("section.provision-line").filter(has_text="Exchange")
    exchange.get_by_label("Provision in CSP").uncheck()
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Start provisioning").click()
    page.wait_for_url(f"**/customers/{tenant_id}/#migration-panel")
    expect(page.locator(".msg-success")).to_contain_text(
        "Provisioning started for Trey Research: 1 SKU"
    )
    worker.resume()

    panel = page.locator("#migration-panel")
    card = panel.locator("article.migration")
    expect(card.locator(".migration-state")).to_have_attribute(
        "data-state", "completed", timeout=30_000
    )
    expect(card).to_contain_text("Office 365 E3 bought through another channel")
    expect(card).to_contain_text("no licence was moved")
    expect(card.locator(".no-moves")).to_be_visible()
    expect(card.locator(".other-channels")).to_contain_text("not refunded")
    page.reload()
    expect(page.locator("#customer-subscriptions")).to_contain_text("Office 365 E3")
    expect(page.locator("#customer-subscriptions")).to_contain_text("Auto renews on")

    [migration] = Migration.objects.filter(customer=trey)
    assert migration.state == MigrationState.COMPLETED
    assert licences_of(synced_sandbox, tenant_id) == before
    bought = [
        s
        for s in synced_sandbox.state()["subscriptions"]
        if s["customerId"].lower() == tenant_id
    ]
    assert [(s["skuId"], s["quantity"]) for s in bought] == [(O365_E3, 8)]
