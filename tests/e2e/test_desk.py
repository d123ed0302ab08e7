"""The renewal desk in a real Chromium, against data synced from the sandbox."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from migrations_app.models import Migration, MigrationState, Subscription
from migrations_app.selectors.desk import desk_retired_index
from migrations_app.services.sync import sync_run

pytestmark = pytest.mark.e2e

Login = Callable[[Page, str], None]
Shot = Callable[[Page, str], Any]


def _iso(moment: Any) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
def desk_world(sandbox: Any, transactional_db: Any) -> dict[str, Any]:
    """Sync the sandbox after giving it renewals, a cancellation window and a
    suspended legacy subscription in the weeks ahead; start one migration."""
    now = timezone.now()
    state = sandbox.state()
    annual = [
        s
        for s in state["subscriptions"]
        if s.get("status") == "active" and s.get("termDuration") == "P1Y"
    ]
    for n, sub in enumerate(annual[:6]):
        sandbox.patch(
            f"/_sandbox/customers/{sub['customerId']}/subscriptions/{sub['id']}",
            {
                "commitmentEndDate": _iso(now + timedelta(days=4 + n * 13)),
                "autoRenewEnabled": n % 3 != 2,
            },
        )
    nce = next(
        s for s in annual if s.get("productType", {}).get("id") == "OnlineServicesNCE"
    )
    sandbox.patch(
        f"/_sandbox/customers/{nce['customerId']}/subscriptions/{nce['id']}",
        {"cancellationAllowedUntilDate": _iso(now + timedelta(hours=61))},
    )
    run = sync_run()
    assert run.status == "succeeded", run.error
    retired = list(
        Subscription.objects.filter(desk_retired_index().retired_q(), status="active")
        .select_related("customer")
        .order_by("pk")
    )
    assert len(retired) >= 2, "the seed has subscriptions on retired SKUs"
    legacy = next(s for s in reversed(retired) if not s.is_nce)
    Subscription.objects.filter(pk=legacy.pk).update(
        status="suspended", suspended_by_partnerhub_at=now - timedelta(days=97)
    )
    moving = next(s for s in retired if s.pk != legacy.pk)
    migration = Migration.objects.create(
        customer=moving.customer,
        source_subscription=moving,
        source_offer_id=moving.offer_id,
        target_offer_id="TARGET",
        target_offer_name="Dynamics 365 Sales",
        quantity=moving.quantity,
        state=MigrationState.QUEUED,
        # Far ahead, so no worker or beat would touch it during the test.
        next_attempt_at=now + timedelta(days=1),
    )
    return {"migration": migration, "moving": moving}


_LEGEND_KEYS_APART = """() => [...document.querySelectorAll('.chart-legend .key')]
  .filter(key => {
    const words = document.createRange();
    words.selectNodeContents(key.nextSibling);
    const first = words.getClientRects()[0];
    const box = key.getBoundingClientRect();
    return !first || Math.abs(first.top + first.height / 2 - (box.top + box.height / 2)) > 8;
  })
  .map(key => key.className)"""


_HEADING_OFFSETS = """() => [...document.querySelectorAll('section.card.desk-section')]
  .map(card => Math.round(card.querySelector('h2').getBoundingClientRect().top
                          - card.getBoundingClientRect().top))"""


def _tile(page: Page, key: str) -> Any:
    return page.locator(f'[data-tile="{key}"]')


def test_a_viewer_reads_the_desk_watches_a_migration_finish_and_opens_a_tile(
    page: Page,
    login: Login,
    screenshot: Shot,
    viewer: Any,
    desk_world: dict[str, Any],
) -> None:
    login(page, "viewer")
    page.goto("/")

    expect(page.locator("h1")).to_have_text("Renewal desk")
    expect(_tile(page, "in_progress").locator("b")).to_have_text("1")
    expect(page.locator("#desk-retired[hx-trigger]")).to_have_count(1)
    expect(page.locator("#desk-renewals tbody tr").first).to_contain_text(
        re.compile(r"in \d+ days")
    )
    expect(page.locator("#desk-cancellable tbody tr")).to_have_count(1)
    expect(page.locator("#desk-cancellable")).to_contain_text("hours left")
    expect(page.locator("#desk-suspended")).to_contain_text("23 days left")
    expect(page.locator("svg.chart rect.chart-renew").first).to_be_visible()
    page.wait_for_load_state("networkidle")
    screenshot(page, "desk-1366")
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "desk-390")
    # Each colour key of the chart's legend stays on the line of its words.
    assert page.evaluate(_LEGEND_KEYS_APART) == []
    # Every card's heading sits as far below the card's top edge.
    assert len(set(page.evaluate(_HEADING_OFFSETS))) == 1
    page.set_viewport_size({"width": 1366, "height": 900})

    done_before = int(_tile(page, "done").locator("b").inner_text())
    Migration.objects.filter(pk=desk_world["migration"].pk).update(
        state=MigrationState.COMPLETED, finished_at=timezone.now()
    )
    expect(_tile(page, "done").locator("b")).to_have_text(
        str(done_before + 1), timeout=15_000
    )
    expect(_tile(page, "in_progress").locator("b")).to_have_text("0")
    expect(page.locator("#desk-retired[hx-trigger]")).to_have_count(0)

    renewing = _tile(page, "renew90")
    count = int(renewing.locator(".tile-sub").inner_text().split("·")[1].split()[0])
    renewing.click()
    page.wait_for_url(re.compile(r"/customers/\?renews_within=90"))
    expect(page.locator("table.customers tbody tr")).to_have_count(count)
    expect(page.locator(".desk-filter")).to_contain_text("renewing within 90 days")
