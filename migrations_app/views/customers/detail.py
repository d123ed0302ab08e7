"""One customer's page, and its migration panel (which the page polls)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode
from uuid import UUID

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import URLPattern, path
from django.utils import timezone
from django.views.decorators.http import require_GET

from migrations_app.models import Customer, MigrationState
from migrations_app.roles import VIEWER, role_required
from migrations_app.selectors.activity import customer_activity
from migrations_app.selectors.bulk import customer_scheduling
from migrations_app.selectors.customers import customer_detail as select_customer_detail
from migrations_app.selectors.migrations import CustomerPanel, customer_panel

MAX_POLL_IDS = 200

# When a migration ends, the worker asks for its customer to be read again from
# Partner Center (`enqueue_customer_sync`): that brings the tenant's licence counts
# and every user's licences as Partner Center now has them. Until then the page
# shows what the worker mirrored locally as it went (the new subscription, the
# moved licences). So the customer page's panel keeps polling after a migration
# it shows has ended, while the customer's `synced_at` is older than that end, and
# the answer that sees `synced_at` move redraws the other sections and stops. A
# re-read may never come (a failed migration sends none; Partner Center may be
# down; no worker runs): polling then stops this long after the end.
REREAD_PATIENCE = timedelta(minutes=2)


def _stamp(moment: datetime | None) -> str:
    return moment.isoformat() if moment is not None else ""


def _poll_ids(raw: str) -> set[int]:
    """Return the migration ids of a poll's `running` parameter (junk is dropped).

    They are only compared with the panel's, never sent to the database.
    """
    parts = (part.strip() for part in raw.split(",")[:MAX_POLL_IDS])
    return {int(p) for p in parts if p.isascii() and p.isdigit() and len(p) <= 20}


def _awaiting_reread(panel: CustomerPanel, customer: Customer) -> bool:
    """Return True if a migration shown ended recently and the customer was not
    re-read since (see REREAD_PATIENCE)."""
    now = timezone.now()
    synced = customer.synced_at
    for card in panel.cards:
        finished = card.migration.finished_at
        if card.running or finished is None or now - finished > REREAD_PATIENCE:
            continue
        if synced is None or synced < finished:
            return True
    return False


def _panel_context(customer: Customer, panel: CustomerPanel) -> dict[str, Any]:
    """Return what the migration panel needs, with whether and what it polls.

    The poll says which migrations the page shows running and when the customer
    it shows was synced, so the answer knows whether the rest of the page is out
    of date.
    """
    running = [card.migration.pk for card in panel.cards if card.running]
    polling = bool(running) or _awaiting_reread(panel, customer)
    query = urlencode(
        {
            "running": ",".join(str(pk) for pk in running),
            "synced": _stamp(customer.synced_at),
        }
    )
    # A cancelled migration's subscription is migratable again: it is the card
    # shown, not one "more" to migrate.
    again = {
        card.migration.source_subscription_id: card.migration.source_subscription
        for card in panel.cards
        if card.migration.state == MigrationState.CANCELLED
        and card.migration.source_subscription_id is not None
    }
    return {
        "panel": panel,
        "panel_polling": polling,
        "panel_poll_query": query,
        # The page's "Migration started" message goes once nothing runs.
        "panel_running": bool(running),
        "panel_more": max(panel.migratable_count - len(again), 0),
        "panel_again": [sub.display_name for sub in again.values() if sub is not None],
    }


def _detail(tenant_id: UUID) -> Customer:
    customer = select_customer_detail(tenant_id=tenant_id)
    if customer is None:
        raise Http404("No customer with this tenant id.")
    return customer


@role_required(VIEWER)
@require_GET
def customer_detail(request: HttpRequest, tenant_id: UUID) -> HttpResponse:
    """Show one customer: migrations, subscriptions, seat counts, users, activity."""
    customer = _detail(tenant_id)
    context = {
        "customer": customer,
        "activity": customer_activity(tenant_id=customer.tenant_id),
        "scheduling": customer_scheduling(customer=customer),
        **_panel_context(customer, customer_panel(customer=customer)),
    }
    return render(request, "customers/detail.html", context)


def customer_panel_update(
    request: HttpRequest,
    customer: Customer,
    *,
    refresh: bool,
    panel: CustomerPanel | None = None,
    extra: dict[str, Any] | None = None,
) -> HttpResponse:
    """Return the customer page's migration panel; with `refresh`, every other
    section of the page too, as out-of-band swaps.

    The query count does not depend on the customer's rows.
    """
    if panel is None:
        panel = customer_panel(customer=customer)
    context: dict[str, Any] = {"refresh": refresh, **(extra or {})}
    if refresh:
        # Read after the panel: the sections are at least as new as the poll's
        # `synced` says, so a re-read landing in between is drawn or polled again.
        customer = _detail(customer.tenant_id)
        context["activity"] = customer_activity(tenant_id=customer.tenant_id)
        context["scheduling"] = customer_scheduling(customer=customer)
    context |= {"customer": customer, **_panel_context(customer, panel)}
    return render(request, "customers/detail.html#panel_update", context)


@require_GET
@role_required(VIEWER)
def customer_migration_panel(request: HttpRequest, tenant_id: UUID) -> HttpResponse:
    """Return the customer page's migration panel (the page polls it).

    The other sections come too when a migration the page showed running has
    ended, or the customer was synced since the page drew them.
    """
    customer = get_object_or_404(Customer, tenant_id=tenant_id)
    panel = customer_panel(customer=customer)
    still_running = {card.migration.pk for card in panel.cards if card.running}
    ended = bool(_poll_ids(request.GET.get("running", "")) - still_running)
    resynced = request.GET.get("synced", "") != _stamp(customer.synced_at)
    return customer_panel_update(
        request, customer, panel=panel, refresh=ended or resynced
    )


urlpatterns: list[URLPattern] = [
    path("customers/<uuid:tenant_id>/", customer_detail, name="customer_detail"),
    path(
        "customers/<uuid:tenant_id>/migrations/panel/",
        customer_migration_panel,
        name="migration_customer_panel",
    ),
]
