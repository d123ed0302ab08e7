"""A bulk migration in a real Chromium: tick customers on the list, preview, start,
and watch the run's page reach a result for every customer.

A background thread plays the Celery worker: it expands waiting bulk runs and runs
every migration step that is due, as workers fed by beat would.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.db import connection
from django.db.models import Q
from django.utils import timezone
from playwright.sync_api import Page, expect

from hub.models import (
    TERMINAL_STATES,
    BulkCustomerOutcome,
    BulkRunCustomer,
    Customer,
    Migration,
    SyncRun,
)
from hub.services.bulk import bulk_run_expand
from hub.services.sync import sync_run
from hub.tasks.migration import migration_advance

pytestmark = pytest.mark.e2e

Login = Callable[[Page, str], None]
Shot = Callable[[Page, str], Any]
CHOSEN = ("Contoso Ltd", "Fabrikam Inc", "Northwind Traders", "Wide World Importers")


@pytest.fixture
def synced_sandbox(sandbox: Any, transactional_db: Any, settings: Any) -> Iterator[Any]:
    settings.PARTNERHUB_PROVISIONING_POLL_SECONDS = 0.3
    run = sync_run()
    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    sandbox.settings(latency_ms=60)
    yield sandbox
    sandbox.settings(latency_ms=0)


@pytest.fixture
def worker() -> Iterator[threading.Event]:
    """Run waiting bulk runs and due migration steps until the test ends; set the
    returned event to pause it."""
    stop = threading.Event()
    paused = threading.Event()
    failures: list[BaseException] = []

    def loop() -> None:
        try:
            while not stop.is_set():
                if paused.is_set():
                    stop.wait(0.1)
                    continue
                runs = set(
                    BulkRunCustomer.objects.filter(
                        outcome=BulkCustomerOutcome.PENDING
                    ).values_list("bulk_run_id", flat=True)
                )
                for pk in runs:
                    bulk_run_expand(bulk_run_id=pk)
                due = list(
                    Migration.objects.exclude(state__in=TERMINAL_STATES)
                    .filter(
                        Q(next_attempt_at__isnull=True)
                        | Q(next_attempt_at__lte=timezone.now())
                    )
                    .values_list("pk", flat=True)
                )
                for pk in due:
                    migration_advance(pk)
                if not due and not runs:
                    stop.wait(0.1)
        except BaseException as exc:  # reported at teardown
            failures.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=loop, name="bulk-worker", daemon=True)
    thread.start()
    yield paused
    stop.set()
    thread.join(timeout=30)
    assert not failures, failures


def test_an_operator_migrates_four_customers_at_once_and_watches_each_result(
    page: Page,
    login: Login,
    screenshot: Shot,
    operator: Any,
    synced_sandbox: Any,
    worker: threading.Event,
) -> None:
    worker.set()  # paused until the run's page shows it waiting
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

    worker.clear()
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
