"""The customer page follows a migration to its end without a reload.

The `worker` fixture's background thread plays the Celery worker: it runs every
migration step that is due and, a few seconds after a migration completes, the
re-sync of its customer that the migration asks for, as a busy worker would.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.db.models import F, Q
from django.utils import timezone
from playwright.sync_api import Locator, Page, expect

from migrations_app.models import Customer, Migration, MigrationState
from migrations_app.tasks.sync import sync_customer
from tests.e2e.worker import Job, Worker, advance_due_migrations
from tests.migrations_app.migration_support import CONTOSO, start

pytestmark = pytest.mark.e2e

Login = Callable[[Page, str], None]
Shot = Callable[[Page, str], Any]

OLD = "Dynamics AX Enterprise"
NEW = "Dynamics 365 for Unified Operations"
NEW_SKU_PART = "DYN365_UNIFIED_OPERATIONS"
# How long after a migration completes the worker gets to its customer's re-sync.
RESYNC_LAG_SECONDS = 3.0


@pytest.fixture
def resynced() -> list[int]:
    """Return the migrations whose customer's re-sync the worker ran, in order."""
    return []


@pytest.fixture
def worker_jobs(resynced: list[int]) -> list[Job]:
    """Run due migration steps, then the customer re-syncs that are due.

    The re-sync a completed migration sends is found in the database (its customer
    was not synced since it finished) rather than in the broker, which other test
    runs may flush.
    """

    def resync_due() -> bool:
        lagging = timezone.now() - timedelta(seconds=RESYNC_LAG_SECONDS)
        ended = Migration.objects.filter(
            state=MigrationState.COMPLETED, finished_at__lte=lagging
        ).filter(
            Q(customer__synced_at__isnull=True)
            | Q(customer__synced_at__lt=F("finished_at"))
        )
        found = False
        for migration in ended:
            result = sync_customer.apply(
                args=[migration.customer_id], kwargs={"migration_id": migration.pk}
            )
            assert result.get() == "synced", result.get()
            resynced.append(migration.pk)
            found = True
        return found

    return [advance_due_migrations, resync_due]


def _section(page: Page, heading: str) -> Locator:
    """Return the card whose title starts with `heading`."""
    title = page.locator("h2", has_text=re.compile(rf"^\s*{re.escape(heading)}"))
    return page.locator("section.card").filter(has=title)


def test_the_customer_page_shows_the_end_state_everywhere_without_a_reload(
    page: Page,
    login: Login,
    screenshot: Shot,
    operator: Any,
    synced_sandbox: Any,
    worker: Worker,
    resynced: list[int],
) -> None:
    contoso = Customer.objects.get(company_name=CONTOSO)
    users_total = contoso.users.count()
    assert users_total == 12
    worker.pause()  # until the page shows the migration waiting to run
    [migration] = start(CONTOSO, operator)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    login(page, "operator")
    page.goto(f"/customers/{contoso.tenant_id}/")
    # A reload would lose this mark.
    page.evaluate("window.notReloaded = true")

    panel = page.locator("#migration-panel")
    subscriptions = _section(page, "Subscriptions")
    licences = _section(page, "Licences in the tenant")
    users = _section(page, "Users").locator("tbody tr")
    expect(panel.locator(".migration-state")).to_have_text("Waiting to start")
    expect(subscriptions.locator("tbody tr")).to_have_count(1)
    expect(subscriptions).to_contain_text(OLD)
    expect(users.filter(has_text=OLD)).to_have_count(users_total)
    expect(licences).not_to_contain_text(NEW_SKU_PART)
    screenshot(page, "customer-live-1-waiting")

    worker.resume()
    expect(panel.locator(".migration-state")).to_have_text(
        re.compile("Moving licences|Reading back|Verifying|Retiring"), timeout=60_000
    )
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "customer-live-2-running-390")
    page.set_viewport_size({"width": 1366, "height": 900})
    expect(panel.locator(".migration-state")).to_have_text("Completed", timeout=60_000)

    # No reload: the sections below the panel say what the panel says.
    new_row = subscriptions.locator("tbody tr", has_text=NEW)
    expect(new_row).to_have_count(1)
    expect(new_row).to_contain_text(re.compile(r"Auto renews on \w{3} \d{1,2}, \d{4}"))
    expect(subscriptions.locator("tbody tr", has_text=OLD)).to_contain_text(
        re.compile(r"Suspended · deprovisioned after \w{3} \d{1,2}, \d{4}")
    )
    expect(users.filter(has_text=NEW)).to_have_count(users_total)
    expect(users.filter(has_text=OLD)).to_have_count(0)

    # The tenant's licence counts only come from re-reading the customer: the
    # page keeps polling until the worker has done so, then stops.
    seats = licences.locator("tbody tr", has_text=NEW_SKU_PART).locator("td")
    expect(seats.nth(1)).to_have_text(str(migration.quantity), timeout=30_000)
    expect(seats.nth(2)).to_have_text(str(users_total))
    assert resynced == [migration.pk]
    expect(page.locator("#migration-panel[hx-get]")).to_have_count(0)
    expect(_section(page, "Activity")).to_contain_text(
        f"Licences moved for {users_total} users"
    )
    # Once polling has stopped the page still agrees with itself.
    expect(subscriptions.locator("tbody tr", has_text=NEW)).to_have_count(1)
    expect(users.filter(has_text=OLD)).to_have_count(0)
    assert page.evaluate("window.notReloaded") is True
    # Every answer the page swapped in found its target.
    assert errors == []
    screenshot(page, "customer-live-3-completed")
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "customer-live-4-completed-390")
