"""The invitations page in a real Chromium: fetch the link, record, see it accepted.

The browser runs in a thread of its own: Playwright's sync API refuses a thread
whose event loop is already running, which the e2e folder's session-wide browser
leaves behind when both folders run in one session.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.db import connections
from playwright.sync_api import Page, expect, sync_playwright

from migrations_app.models import SyncRun
from migrations_app.services.sync import sync_run
from migrations_app.tasks.invitations import fetch_invitation_link
from sandbox import seed
from tests.e2e.conftest import CHROMIUM_ARGS, PASSWORD, SHOTS
from tests.migrations_app.migration_support import restore_migration_data
from tests.migrations_app.test_invitations import SANDBOX_LINK, pending_tenant

pytestmark = pytest.mark.e2e

# The ORM is called from the browser's thread, where Playwright runs an event loop.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

Scenario = Callable[[Page], None]


@pytest.fixture
def in_chromium(
    chromium_path: str, live_server: Any, transactional_db: Any
) -> Callable[[Scenario], None]:
    """Return `run(scenario)`, which calls scenario(page) in a fresh Chromium.

    The data migrations' rows are written first: an earlier transactional test
    may have emptied every table.
    """
    restore_migration_data()

    def play(scenario: Scenario) -> None:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(
                executable_path=chromium_path, args=CHROMIUM_ARGS
            )
            context = chromium.new_context(
                base_url=live_server.url, viewport={"width": 1366, "height": 900}
            )
            context.set_default_timeout(10_000)
            try:
                scenario(context.new_page())
            finally:
                # Here, not after the `with`: the scenario runs in a greenlet
                # with its own context, where its database connection lives.
                connections.close_all()
                context.close()
                chromium.close()

    def run(scenario: Scenario) -> None:
        with ThreadPoolExecutor(max_workers=1) as pool:
            pool.submit(play, scenario).result(timeout=180)

    return run


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_an_operator_fetches_the_link_records_an_invitation_and_sees_it_accepted(
    in_chromium: Callable[[Scenario], None], sandbox: Any, operator: Any
) -> None:
    run = sync_run()
    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    trey = pending_tenant(sandbox, seed.TREY_RESEARCH)

    def scenario(page: Page) -> None:
        page.goto("/accounts/login/")
        page.fill("#id_username", "operator")
        page.fill("#id_password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url("**/customers/**")
        page.click("nav.mainnav >> text=Invitations")
        expect(page.locator("nav.mainnav a.active")).to_have_text("Invitations")
        expect(page.locator("text=No invitations yet.")).to_be_visible()
        shot(page, "invitations-empty")

        page.click("button:has-text('Get invitation link')")
        link_box = page.locator("#invitation-link")
        expect(link_box).to_contain_text("Fetching…")
        assert link_box.get_attribute("data-poll") is not None
        # The worker's part, run here: the page's poll picks the result up.
        fetch_invitation_link(requested_by_id=operator.pk)
        expect(page.locator("#invitation-url")).to_have_value(SANDBOX_LINK)
        assert page.locator("#invitation-link").get_attribute("hx-trigger") is None
        expect(page.locator("#invitation-text")).to_have_value(
            re.compile(r"Global Administrator.*partner-invitation", re.DOTALL)
        )

        page.fill("#id_company_name", trey["companyName"])
        page.fill("#id_domain", trey["domain"].upper())
        page.fill("#id_contact_email", "it@treyresearch.com")
        page.fill("#id_note", "Office 365 E3 from another partner; renews in 40 days.")
        page.click("button:has-text('Record invitation')")
        row = page.locator("table.invitations tbody tr").first
        expect(row).to_contain_text(trey["domain"])
        expect(row).to_contain_text("Waiting for the customer")

        page.fill("#id_company_name", "Trey again")
        page.fill("#id_domain", trey["domain"])
        page.click("button:has-text('Record invitation')")
        expect(page.locator(".errorlist")).to_contain_text("is already pending")
        shot(page, "invitations-pending")

        sandbox.post(f"/_sandbox/invitations/{trey['id']}/accept", {})
        sync_run()
        page.goto("/invitations/")
        expect(row).to_contain_text("Accepted")
        shot(page, "invitations-accepted")
        row.locator(f"a:has-text('{seed.TREY_RESEARCH}')").click()
        expect(page.locator("h1")).to_contain_text(seed.TREY_RESEARCH)

    in_chromium(scenario)
