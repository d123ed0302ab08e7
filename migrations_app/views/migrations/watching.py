"""Watching migrations: the customer list's progress poll and one migration's
timeline (which polls its panel).
"""

from __future__ import annotations

from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.urls import URLPattern, path
from django.views.decorators.http import require_GET

from migrations_app.converters import BIGINT_MAX
from migrations_app.models import Customer
from migrations_app.roles import VIEWER, role_required
from migrations_app.selectors.customers import customer_subscription_rows
from migrations_app.selectors.migrations import (
    customer_migration_summaries,
    migration_card,
    migration_changes,
    poll_query,
)
from migrations_app.views.navigation import safe_next
from migrations_app.views.types import HtmxRequest

MAX_POLL_IDS = 200


def poll_versions(raw: str) -> dict[int, int | None]:
    """Return the migrations a poll names, each with the version its page shows.

    `raw` is `id.version,…` (at most MAX_POLL_IDS); an id without a valid
    version maps to None (always answered). Parts that are not ids are ignored.
    """
    known: dict[int, int | None] = {}
    for part in raw.split(",")[:MAX_POLL_IDS]:
        pk_text, _, version_text = part.strip().partition(".")
        pk = _bigint(pk_text)
        if pk is not None:
            known[pk] = _bigint(version_text)
    return known


def _bigint(text: str) -> int | None:
    # Length first: int() refuses text past 4,300 digits with a ValueError.
    if text.isascii() and text.isdigit() and len(text) <= 19:
        number = int(text)
        if number <= BIGINT_MAX:
            return number
    return None


@require_GET
@role_required(VIEWER)
def migration_progress(request: HtmxRequest) -> HttpResponse:
    """Return the customer list's poller and the status cells that changed.

    The page names each running migration with the version it shows; only rows
    with a migration whose version moved on come back (out of band), with a
    poller that knows the new versions. Nothing changed: 204, which htmx leaves
    alone, and the poller keeps its place. Rows whose migration has ended also get
    their Subscriptions cell, from the database as it is now. The query count does
    not grow with the rows.
    """
    known = poll_versions(request.GET.get("ids", ""))
    changes = migration_changes(known=known)
    if not changes and known and None not in known.values():
        return HttpResponse(status=204)
    customer_ids = list(dict.fromkeys(change.customer_id for change in changes))
    summaries = customer_migration_summaries(
        customer_ids=customer_ids, counts_while_running=False
    )
    customers = Customer.objects.in_bulk(customer_ids)
    rows = [
        (customers[cid], summaries[cid]) for cid in customer_ids if cid in customers
    ]
    # A row whose migration ended gets its Subscriptions cell again too: the old
    # subscription's label changed and the new subscription appeared.
    customer_subscription_rows(
        customers=[customer for customer, summary in rows if not summary.running]
    )
    watching = {pk: v for pk, v in known.items() if v is not None}
    for change in changes:
        if change.running:
            watching[change.pk] = change.version
        else:
            watching.pop(change.pk, None)
    return render(
        request,
        "migrations/_customer_status.html#progress",
        {
            "rows": rows,
            "poll_query": poll_query(watching),
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
