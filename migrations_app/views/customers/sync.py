"""Refreshes from Partner Center: a full sync requested from the list (and its status,
which the list polls) and the re-read of one customer.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from migrations_app.models import Customer, SyncRun
from migrations_app.roles import OPERATOR, VIEWER, role_required
from migrations_app.selectors.customers import (
    customer_latest_sync,
    customer_running_sync,
    customer_sync_pending,
)
from migrations_app.services.audit import audit_record, client_ip
from migrations_app.services.sync import SYNC_LOCK_SECONDS, sync_enqueue
from migrations_app.views.navigation import next_url
from migrations_app.views.types import HtmxRequest
from migrations_app.workflow.enqueue import CUSTOMER_SYNC_TASK, send_on_commit

# A requested refresh that no worker has started after this long is reported
# as stuck instead of being polled for ever.
PENDING_SYNC_PATIENCE = timedelta(minutes=10)

SINCE_WINDOW = timedelta(days=1)


def sync_context(*, since: datetime | None) -> dict[str, Any]:
    """Return what the sync status fragment shows, and whether it keeps polling.

    Whether a run exists since the request is read before the latest run: a
    run committing between the two reads is then seen by the second one, never
    taken for a refresh no worker picked up.
    """
    started = since is not None and not customer_sync_pending(since=since)
    latest = customer_latest_sync()
    if (
        since is not None
        and latest is not None
        and latest.started_at >= since - timedelta(seconds=1)
    ):
        started = True
    waiting = since is not None and not started
    patient = since is not None and timezone.now() - since < PENDING_SYNC_PATIENCE
    pending = waiting and patient
    # Reported, but still followed: a worker started late is picked up.
    stuck = waiting and not patient
    # A run marked running for longer than its lock lives was left by a killed
    # worker: it is shown as interrupted, and the next run closes it.
    running = (
        latest is not None
        and latest.status == SyncRun.Status.RUNNING
        and latest.started_at > timezone.now() - timedelta(seconds=SYNC_LOCK_SECONDS)
    )
    refreshed = since is not None and not (pending or running or stuck)
    return {
        "latest_sync": latest,
        "sync_pending": pending,
        "sync_stuck": stuck,
        "sync_running": running,
        "sync_polling": pending or running or stuck,
        "sync_since": since.isoformat() if since is not None else "",
        "sync_refreshed": refreshed,
    }


def _parse_since(raw: str | None) -> datetime | None:
    if not raw:
        return None
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        return None
    if timezone.is_naive(moment):
        return None
    # A poll only ever sends the moment its refresh was requested: anything more
    # than a day away is junk, and dropping it keeps `since - 1 second` and every
    # comparison inside datetime's range (years 1 to 9999).
    try:
        if abs(moment - timezone.now()) > SINCE_WINDOW:
            return None
    except OverflowError:
        return None
    return moment


@role_required(OPERATOR)
@require_POST
def sync_request(request: HtmxRequest) -> HttpResponse:
    """Queue a sync from Partner Center (the worker runs it, never this request).

    While a sync is already running nothing is queued: the page follows that run.
    """
    running = customer_running_sync(
        started_after=timezone.now() - timedelta(seconds=SYNC_LOCK_SECONDS)
    )
    if running is None:
        message = "Refresh from Partner Center requested."
        sync_enqueue(requested_by=request.user)
        notice = "Refresh requested… the list updates when the sync finishes."
    else:
        message = "Refresh requested while a sync was already running; none queued."
        notice = "A sync is already running; the list updates when it finishes."
    audit_record(
        action="sync.requested",
        actor=request.user,
        ip_address=client_ip(request),
        message=message,
    )
    if request.htmx:
        since = timezone.now() if running is None else None
        return render(
            request, "customers/list.html#sync_status", sync_context(since=since)
        )
    messages.success(request, notice)
    return redirect("customer_list")


@role_required(OPERATOR)
@require_POST
def customer_refresh(request: HttpRequest, tenant_id: UUID) -> HttpResponse:
    """Queue a re-read of one customer from Partner Center (a worker does it).

    Subscriptions, licence counts and users come back as Partner Center has them
    now, e.g. after a usage location was set in the Microsoft 365 admin center.
    """
    customer = get_object_or_404(Customer, tenant_id=tenant_id)
    back = next_url(request, reverse("customer_detail", args=[customer.tenant_id]))
    send_on_commit(CUSTOMER_SYNC_TASK, customer.pk)
    audit_record(
        action="sync.requested",
        actor=request.user,
        ip_address=client_ip(request),
        customer_tenant_id=str(customer.tenant_id),
        customer_name=customer.company_name,
        message=f"Refresh of {customer.company_name} from Partner Center requested.",
    )
    messages.success(
        request,
        f"Refresh requested: a worker is reading {customer.company_name} from "
        "Partner Center. Reload this page in a few seconds to see the result.",
    )
    return redirect(back)


@role_required(VIEWER)
@require_GET
def sync_status(request: HttpRequest) -> HttpResponse:
    """Return the sync status fragment; it polls while a sync is queued or running."""
    context = sync_context(since=_parse_since(request.GET.get("since")))
    return render(request, "customers/list.html#sync_status", context)


urlpatterns: list[URLPattern] = [
    path("sync/", sync_request, name="sync_request"),
    path("sync/status/", sync_status, name="sync_status"),
    path(
        "customers/<uuid:tenant_id>/refresh/",
        customer_refresh,
        name="customer_refresh",
    ),
]
