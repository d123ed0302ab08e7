"""The customer list and its CSV export."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.urls import URLPattern, path, reverse
from django.views.decorators.http import require_GET

from migrations_app.domain.catalogue import CatalogueIndex
from migrations_app.models import Customer
from migrations_app.roles import VIEWER, role_required
from migrations_app.selectors.customers import (
    EXPIRING_SOON_DAYS,
    CustomerFilters,
    customer_list_counts,
    customer_retired_index,
    customer_search,
    customer_subscription_statuses,
    customer_tag_rows,
)
from migrations_app.selectors.desk import RETIRED_STATES
from migrations_app.selectors.migrations import customer_migration_summaries
from migrations_app.services.audit import audit_record, client_ip
from migrations_app.views.csv_export import csv_lines, csv_response
from migrations_app.views.customers.filters import (
    CustomerFilterForm,
    filter_query,
    form_filters,
    known_status,
)
from migrations_app.views.customers.sync import sync_context

PAGE_SIZE = 50


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


@role_required(VIEWER)
@require_GET
def customer_list(request: HttpRequest) -> HttpResponse:
    """Show every customer with its subscriptions, filtered, sorted and paged."""
    notices: list[str] = []
    filters = form_filters(CustomerFilterForm(request.GET), notices)
    statuses = customer_subscription_statuses()
    filters = known_status(filters, statuses, notices)
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
        "counts": customer_list_counts(),
        "expiring_soon_days": EXPIRING_SOON_DAYS,
        "statuses": statuses,
        "has_mappings": retired.has_retired,
        "clear_url": reverse("customer_list"),
        "first_url": filter_query(filters, page=1),
        "prev_url": filter_query(filters, page=page.previous_page_number())
        if page.has_previous()
        else "",
        "next_url": filter_query(filters, page=page.next_page_number())
        if page.has_next()
        else "",
        "last_url": filter_query(filters, page=paginator.num_pages),
        "desk_filters": _desk_filter_labels(filters),
        "export_url": reverse("customer_export") + filter_query(filters),
        # "All N matching": the preview gets the filter, not thousands of ids.
        "bulk_all_url": reverse("bulk_preview")
        + "?"
        + "&".join(
            part for part in ("all=1", filter_query(filters).lstrip("?")) if part
        ),
        "retired_url": filter_query(CustomerFilters(retired=True)),
        "expiring_url": filter_query(
            CustomerFilters(expires_within=EXPIRING_SOON_DAYS)
        ),
        **sync_context(since=None),
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
            customer.user_count,
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
    filters = form_filters(CustomerFilterForm(request.GET), notices)
    filters = known_status(filters, customer_subscription_statuses(), notices)
    retired = customer_retired_index()
    audit_record(
        action="customers.exported",
        actor=request.user,
        ip_address=client_ip(request),
        message="Exported the customer list as CSV.",
        details={"filters": filter_query(filters).lstrip("?")},
    )
    rows = _export_rows(customer_search(filters=filters, retired=retired), retired)
    return csv_response(csv_lines(EXPORT_COLUMNS, rows), name="customers")


urlpatterns: list[URLPattern] = [
    path("customers/", customer_list, name="customer_list"),
    path("customers/export.csv", customer_export, name="customer_export"),
]
