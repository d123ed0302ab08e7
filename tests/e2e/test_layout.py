"""No page is wider than the window: at a phone's 390 px and desktop 1366 and 1920 px,
tables scroll inside their card or wrap, and the page itself never scrolls sideways."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import Page

from migrations_app.models import Customer, MigrationSchedule, StartWhen
from migrations_app.services.sync import sync_run
from tests.migrations_app.migration_support import (
    CONTOSO,
    WIDE_WORLD,
    customer,
    drive,
    start,
)

WIDTHS = (390, 1366, 1920)
# Pages whose tables show every column at 390 px (rows stack) instead of scrolling:
# on the customer page the Quantity and Licences columns must stay in sight.
STACKED = {
    "customer": ("customer-subscriptions", "customer-licences", "customer-users"),
    # (a table without an id of its own is named by its class)
    "scheduled": ("schedule-rows", "table-wrap"),
}
# Pages whose screenshots at 390 and 1366 px are kept for review (docs/screenshots).
DOC_PAGES = {
    "audit": "audit-log",
    "migrations": "migrations-list",
    "plan": "plan",
    "customer": "customer",
    "migration": "migration",
    "scheduled": "scheduled",
}


@pytest.fixture
def world(sandbox: Any, transactional_db: Any, settings: Any, admin_user: Any) -> dict:
    """A synced sandbox, a completed migration, a customer that cannot start and a
    scheduled migration of the long-named customer."""
    settings.PARTNERHUB_PROVISIONING_POLL_SECONDS = 0.05
    run = sync_run()
    assert run.status == "succeeded", run.error
    [done] = start(CONTOSO, admin_user)
    done = drive(done)
    assert done.state == "completed", done.error_message
    later = (timezone.now() + timedelta(days=3)).replace(
        hour=6, minute=0, second=0, microsecond=0
    )
    MigrationSchedule.objects.create(
        customer=Customer.objects.get(company_name__startswith="Consolidated "),
        when=StartWhen.ON_DATE,
        start_on=later,
        start_at=later,
        created_by=admin_user,
    )
    return {
        "customer": customer(CONTOSO),
        "blocked": customer(WIDE_WORLD),
        "migration": done,
    }


def _pages(world: dict) -> dict[str, str]:
    contoso = world["customer"]
    return {
        "customers": "/customers/",
        "customer": f"/customers/{contoso.tenant_id}/",
        "plan": f"/customers/{world['blocked'].tenant_id}/migrate/",
        "migrations": "/migrations/",
        "migration": f"/migrations/{world['migration'].pk}/",
        "audit": "/audit/",
        "sku_mappings": "/sku-mappings/",
        "invitations": "/invitations/",
        "settings": "/settings/",
        "bulk_preview": "/bulk/preview/?all=1&retired=1",
        "bulk_runs": "/bulk/",
        "scheduled": "/migrations/scheduled/",
    }


def _tables_scrolling(page: Page) -> list[str]:
    """Return the ids of the sections whose table is wider than its card."""
    return page.evaluate(
        """() => [...document.querySelectorAll('.table-wrap')]
          .filter(w => w.scrollWidth > w.clientWidth + 1)
          .map(w => (w.closest('section') || w).id || w.className)"""
    )


def _overflow(page: Page) -> dict[str, Any]:
    """Return how far the page is wider than the window, and the widest culprits."""
    return page.evaluate(
        """() => {
        const width = document.documentElement.clientWidth;
        const over = document.documentElement.scrollWidth - width;
        const culprits = [];
        if (over > 0) {
          for (const el of document.querySelectorAll('body *')) {
            const r = el.getBoundingClientRect();
            if (r.right <= width + 1) continue;
            let clipped = false;
            for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
              if (getComputedStyle(p).overflowX !== 'visible') { clipped = true; break; }
            }
            if (!clipped) {
              culprits.push(el.tagName + '.' + el.className + ' ' + Math.round(r.right));
            }
            if (culprits.length > 5) break;
          }
        }
        return {over, width, culprits};
      }"""
    )


def test_no_main_page_overflows_horizontally(
    page: Page,
    login: Callable[[Page, str], None],
    world: dict,
    screenshot: Callable[[Page, str], Path],
) -> None:
    login(page, "admin")
    problems = []
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        for name, url in _pages(world).items():
            page.goto(url)
            page.wait_for_load_state("load")
            found = _overflow(page)
            if found["over"] > 1:
                problems.append((width, name, found))
            if name in STACKED and width == 390:
                hidden = set(_tables_scrolling(page)) & set(STACKED[name])
                if hidden:
                    problems.append((width, name, {"tables scroll": hidden}))
            if name in DOC_PAGES and width in (390, 1366):
                screenshot(page, f"{DOC_PAGES[name]}-{width}")
    assert not problems, problems


def test_shortened_ids_keep_the_full_value_on_hover(
    page: Page, login: Callable[[Page, str], None], world: dict
) -> None:
    login(page, "admin")
    page.goto("/audit/")
    ids = page.locator("table.audit-rows code.id")
    assert ids.count() > 0
    first = ids.first
    full = first.get_attribute("data-copy")
    assert full and first.get_attribute("title") == full
    assert len(first.inner_text()) < len(full) or len(full) <= 13
