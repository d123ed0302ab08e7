"""Customer pages: the list, one customer (and its migration panel's poll), and the
Partner Center refresh."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode
from uuid import UUID

from django import forms
from django.contrib import messages
from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from hub.models import Customer, MigrationState, SyncRun
from hub.roles import OPERATOR, VIEWER, role_required
from hub.selectors.activity import customer_activity
from hub.selectors.customers import (
    EXPIRING_SOON_DAYS,
    SORT_EXPIRY,
    SORT_NAME,
    CustomerFilters,
    customer_latest_sync,
    customer_list_counts,
    customer_retired_index,
    customer_running_sync,
    customer_search,
    customer_subscription_statuses,
    customer_sync_pending,
    customer_tag_rows,
)
from hub.selectors.customers import (
    customer_detail as select_customer_detail,
)
from hub.selectors.desk import RETIRED_STATES
from hub.selectors.migrations import (
    CustomerPanel,
    customer_migration_summaries,
    customer_panel,
)
from hub.services.audit import audit_record, client_ip
from hub.services.sync import SYNC_LOCK_SECONDS, sync_enqueue
from hub.views.csv_export import csv_lines, csv_response
from hub.views.navigation import next_url
from hub.workflow.catalogue import CatalogueIndex
from hub.workflow.enqueue import CUSTOMER_SYNC_TASK, send_on_commit

PAGE_SIZE = 50
MAX_DAYS = 3650
MAX_POLL_IDS = 200
# A requested refresh that no worker has started after this long is reported
# as stuck instead of being polled for ever.
PENDING_SYNC_PATIENCE = timedelta(minutes=10)
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

SINCE_WINDOW = timedelta(days=1)

_DAYS_MESSAGE = f"Use a whole number of days from 0 to {MAX_DAYS}."


class CustomerFilterForm(forms.Form):
    """The list's GET parameters; invalid ones are ignored with a notice."""

    q = forms.CharField(required=False, max_length=200)
    retired = forms.BooleanField(required=False)
    expires_within = forms.IntegerField(
        required=False,
        min_value=0,
        max_value=MAX_DAYS,
        error_messages={
            "invalid": _DAYS_MESSAGE,
            "min_value": _DAYS_MESSAGE,
            "max_value": _DAYS_MESSAGE,
        },
    )
    status = forms.CharField(required=False, max_length=32)
    sort = forms.ChoiceField(
        required=False,
        choices=[(SORT_NAME, "Name"), (SORT_EXPIRY, "Soonest expiry")],
        error_messages={"invalid_choice": "Sort by name or by soonest expiry."},
    )
    # The renewal desk's tiles link here with these.
    renews_within = forms.IntegerField(
        required=False,
        min_value=0,
        max_value=MAX_DAYS,
        error_messages={
            "invalid": _DAYS_MESSAGE,
            "min_value": _DAYS_MESSAGE,
            "max_value": _DAYS_MESSAGE,
        },
    )
    cancellable = forms.BooleanField(required=False)
    suspended = forms.BooleanField(required=False)
    migration = forms.ChoiceField(
        required=False,
        choices=[("", "Any"), *RETIRED_STATES.items()],
        error_messages={"invalid_choice": "Not a migration state of the desk."},
    )

    LABELS = {
        "q": "Search",
        "retired": "Retired SKUs",
        "expires_within": "Expires within",
        "status": "Status",
        "sort": "Sort",
        "renews_within": "Renews within",
        "cancellable": "Cancellable now",
        "suspended": "Suspended",
        "migration": "Retired SKU migration",
    }


def _filters(form: CustomerFilterForm, notices: list[str]) -> CustomerFilters:
    """Return the filters from the valid fields; note why the others were ignored."""
    form.is_valid()
    for name, errors in form.errors.items():
        label = CustomerFilterForm.LABELS.get(name, name)
        notices.append(f"{label} was ignored: {' '.join(str(e) for e in errors)}")
    data = form.cleaned_data
    return CustomerFilters(
        q=(data.get("q") or "").strip(),
        retired=bool(data.get("retired")),
        expires_within=data.get("expires_within"),
        status=(data.get("status") or "").strip(),
        sort=data.get("sort") or SORT_NAME,
        renews_within=data.get("renews_within"),
        cancellable=bool(data.get("cancellable")),
        suspended=bool(data.get("suspended")),
        migration=data.get("migration") or "",
    )


def _known_status(
    filters: CustomerFilters, statuses: list[str], notices: list[str]
) -> CustomerFilters:
    """Return the filters with the status as stored, or without it if none has it."""
    if not filters.status:
        return filters
    stored = {status.casefold(): status for status in statuses}
    status = stored.get(filters.status.casefold())
    if status is None:
        label = CustomerFilterForm.LABELS["status"]
        notices.append(
            f"{label} was ignored: no subscription has the status "
            f"“{filters.status[:32]}”."
        )
        return replace(filters, status="")
    return replace(filters, status=status)


def _page(paginator: Paginator, raw: str | None, notices: list[str]) -> Page:
    """Return the requested page, or the nearest one with a notice."""
    if raw in (None, ""):
        return paginator.page(1)
    try:
        number = int(raw)
    except ValueError:
        notices.append(f"“{raw[:40]}” is not a page number; showing page 1.")
        return paginator.page(1)
    if number < 1:
        notices.append("Pages start at 1; showing page 1.")
        return paginator.page(1)
    if number > paginator.num_pages:
        notices.append(
            f"There are only {paginator.num_pages} pages; showing the last one."
        )
        return paginator.page(paginator.num_pages)
    return paginator.page(number)


def _query(filters: CustomerFilters, **extra: Any) -> str:
    """Return the query string for these filters (valid values only)."""
    params: dict[str, Any] = {}
    if filters.q:
        params["q"] = filters.q
    if filters.retired:
        params["retired"] = "1"
    if filters.expires_within is not None:
        params["expires_within"] = filters.expires_within
    if filters.status:
        params["status"] = filters.status
    if filters.sort != SORT_NAME:
        params["sort"] = filters.sort
    if filters.renews_within is not None:
        params["renews_within"] = filters.renews_within
    if filters.cancellable:
        params["cancellable"] = "1"
    if filters.suspended:
        params["suspended"] = "1"
    if filters.migration:
        params["migration"] = filters.migration
    params.update({k: v for k, v in extra.items() if v is not None})
    return "?" + urlencode(params) if params else ""


def _sync_context(*, since: datetime | None) -> dict[str, Any]:
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


@role_required(VIEWER)
@require_GET
def customer_list(request: HttpRequest) -> HttpResponse:
    """Show every customer with its subscriptions, filtered, sorted and paged."""
    notices: list[str] = []
    filters = _filters(CustomerFilterForm(request.GET), notices)
    statuses = customer_subscription_statuses()
    filters = _known_status(filters, statuses, notices)
    retired = customer_retired_index()
    paginator = Paginator(
        customer_search(filters=filters, retired=retired),
        PAGE_SIZE,
    )
    page = _page(paginator, request.GET.get("page"), notices)
    customers = customer_tag_rows(customers=list(page.object_list), retired=retired)
    summaries = customer_migration_summaries(customer_ids=[c.pk for c in customers])
    for customer in customers:
        customer.migration_summary = summaries.get(customer.pk)  # type: ignore[attr-defined]
    context = {
        "customers": customers,
        "page": page,
        "paginator": paginator,
        "filters": filters,
        "notices": notices,
        "counts": customer_list_counts(retired=retired),
        "expiring_soon_days": EXPIRING_SOON_DAYS,
        "statuses": statuses,
        "has_mappings": retired.has_retired,
        "clear_url": reverse("customer_list"),
        "first_url": _query(filters, page=1),
        "prev_url": _query(filters, page=page.previous_page_number())
        if page.has_previous()
        else "",
        "next_url": _query(filters, page=page.next_page_number())
        if page.has_next()
        else "",
        "last_url": _query(filters, page=paginator.num_pages),
        "desk_filters": _desk_filter_labels(filters),
        "export_url": reverse("customer_export") + _query(filters),
        "retired_url": _query(CustomerFilters(retired=True)),
        "expiring_url": _query(CustomerFilters(expires_within=EXPIRING_SOON_DAYS)),
        **_sync_context(since=None),
    }
    return render(request, "customers/list.html", context)


def _desk_filter_labels(filters: CustomerFilters) -> list[str]:
    """Return the renewal desk filters in force, in words, for the list's header."""
    labels = []
    if filters.renews_within is not None:
        labels.append(
            f"an annual or multi-year subscription renewing within "
            f"{filters.renews_within} days"
        )
    if filters.cancellable:
        labels.append("a new-commerce subscription inside its cancellation window")
    if filters.suspended:
        labels.append("a legacy subscription suspended by PartnerHub")
    if filters.migration:
        state = RETIRED_STATES[filters.migration].lower()
        labels.append(f"a retired-SKU subscription: {state}")
    return labels


EXPORT_COLUMNS = [
    "customer",
    "domain",
    "tenant_id",
    "users",
    "sync_error",
    "subscription_id",
    "subscription",
    "offer_id",
    "status",
    "label",
    "term",
    "quantity",
    "commitment_end_date_utc",
    "auto_renew",
    "on_retired_sku",
]
EXPORT_CHUNK = 200


def _export_rows(
    customers: QuerySet[Customer], retired: CatalogueIndex
) -> Iterator[list[Any]]:
    """Yield one row per subscription of each customer (one bare row if none)."""
    for customer in customers.iterator(chunk_size=EXPORT_CHUNK):
        head = [
            customer.company_name,
            customer.domain,
            customer.tenant_id,
            customer.user_count or 0,  # type: ignore[attr-defined]
            customer.sync_error,
        ]
        subscriptions = list(customer.subscriptions.all())
        if not subscriptions:
            yield head
        for sub in subscriptions:
            end = sub.ends_on
            yield [
                *head,
                sub.subscription_id,
                sub.display_name,
                sub.offer_id,
                sub.status,
                sub.label,
                sub.term,
                sub.quantity,
                end.strftime("%Y-%m-%d %H:%M:%S") if end else "",
                "yes" if sub.auto_renew_enabled else "no",
                "yes" if retired.is_retired(sub) else "no",
            ]


@role_required(VIEWER)
@require_GET
def customer_export(request: HttpRequest) -> HttpResponseBase:
    """Stream the customers the list's current filters match as CSV: one row per
    subscription, in the list's order."""
    notices: list[str] = []
    filters = _filters(CustomerFilterForm(request.GET), notices)
    filters = _known_status(filters, customer_subscription_statuses(), notices)
    retired = customer_retired_index()
    audit_record(
        action="customers.exported",
        actor=request.user,
        ip_address=client_ip(request),
        message="Exported the customer list as CSV.",
        details={"filters": _query(filters).lstrip("?")},
    )
    rows = _export_rows(customer_search(filters=filters, retired=retired), retired)
    return csv_response(csv_lines(EXPORT_COLUMNS, rows), name="customers")


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


@role_required(OPERATOR)
@require_POST
def sync_request(request: HttpRequest) -> HttpResponse:
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
    if request.htmx:  # type: ignore[attr-defined]
        since = timezone.now() if running is None else None
        return render(
            request, "customers/list.html#sync_status", _sync_context(since=since)
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
    context = _sync_context(since=_parse_since(request.GET.get("since")))
    return render(request, "customers/list.html#sync_status", context)


urlpatterns: list[URLPattern] = [
    path("customers/", customer_list, name="customer_list"),
    path("customers/export.csv", customer_export, name="customer_export"),
    path("customers/<uuid:tenant_id>/", customer_detail, name="customer_detail"),
    path(
        "customers/<uuid:tenant_id>/migrations/panel/",
        customer_migration_panel,
        name="migration_customer_panel",
    ),
    path("sync/", sync_request, name="sync_request"),
    path("sync/status/", sync_status, name="sync_status"),
    path(
        "customers/<uuid:tenant_id>/refresh/",
        customer_refresh,
        name="customer_refresh",
    ),
]
