"""Watching migrations: the customer list's progress poll and one migration's
timeline (which polls its panel).
"""

from __future__ import annotations

from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.urls import URLPattern, path
from django.views.decorators.http import require_GET

from hub.converters import BIGINT_MAX
from hub.models import Customer
from hub.roles import VIEWER, role_required
from hub.selectors.customers import customer_subscription_rows
from hub.selectors.migrations import (
    customer_ids_of_migrations,
    customer_migration_summaries,
    migration_card,
)
from hub.views.migrations.htmx import HtmxRequest
from hub.views.navigation import safe_next

MAX_POLL_IDS = 200


@require_GET
@role_required(VIEWER)
def migration_progress(request: HtmxRequest) -> HttpResponse:
    """Return the customer list's poller and fresh status cells (out of band).

    Rows whose migration has ended also get their Subscriptions cell, from the
    database as it is now. The query count does not grow with the rows.
    """
    ids: list[int] = []
    for part in request.GET.get("ids", "").split(",")[:MAX_POLL_IDS]:
        part = part.strip()
        # Length first: int() refuses text past 4,300 digits with a ValueError.
        if (
            part.isascii()
            and part.isdigit()
            and len(part) <= 19
            and int(part) <= BIGINT_MAX
        ):
            ids.append(int(part))
    customer_ids = customer_ids_of_migrations(migration_ids=ids)
    summaries = customer_migration_summaries(customer_ids=customer_ids)
    customers = Customer.objects.in_bulk(customer_ids)
    rows = [
        (customers[cid], summaries[cid]) for cid in customer_ids if cid in customers
    ]
    # A row whose migration ended gets its Subscriptions cell again too: the old
    # subscription's label changed and the new subscription appeared.
    customer_subscription_rows(
        customers=[customer for customer, summary in rows if not summary.running]
    )
    still_running = [
        pk for _, summary in rows for pk in summary.running_ids if pk in set(ids)
    ]
    return render(
        request,
        "migrations/_customer_status.html#progress",
        {
            "rows": rows,
            "poll_query": ",".join(str(pk) for pk in still_running),
            "next": safe_next(request, request.GET.get("next")),
        },
    )


@require_GET
@role_required(VIEWER)
def migration_detail(request: HtmxRequest, pk: int) -> HttpResponse:
    """Show one migration's timeline; an htmx poll gets just the panel back."""
    card = migration_card(migration_id=pk)
    if card is None:
        raise Http404("No such migration.")
    context = {"card": card, "migration": card.migration}
    if request.htmx:
        return render(request, "migrations/detail.html#panel", context)
    return render(request, "migrations/detail.html", context)


urlpatterns: list[URLPattern] = [
    path("migrations/progress/", migration_progress, name="migration_progress"),
    path("migrations/<bigint:pk>/", migration_detail, name="migration_detail"),
]
