"""The migrations list, filtered by state, and its CSV export."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.urls import URLPattern, path
from django.views.decorators.http import require_GET

from migrations_app.models import Migration, MigrationState
from migrations_app.roles import VIEWER, role_required
from migrations_app.selectors.migrations import migration_list, migration_state_counts
from migrations_app.services.audit import audit_record, client_ip
from migrations_app.views.csv_export import csv_lines, csv_response
from migrations_app.views.types import HtmxRequest
from migrations_app.workflow import registry

PAGE_SIZE = 50


STATE_FILTERS: list[tuple[str, str]] = [
    ("", "All states"),
    ("running", "Running"),
    *[(value, label) for value, label in MigrationState.choices],
]


@require_GET
@role_required(VIEWER)
def migration_list_page(request: HtmxRequest) -> HttpResponse:
    """List every migration, newest first, filtered by state."""
    state = request.GET.get("state", "")
    if state not in dict(STATE_FILTERS):
        messages.warning(request, "Unknown state filter; showing all migrations.")
        state = ""
    paginator = Paginator(migration_list(state=state), PAGE_SIZE)
    page = paginator.get_page(request.GET.get("page"))
    return render(
        request,
        "migrations/list.html",
        {
            "page": page,
            "paginator": paginator,
            "state": state,
            "state_filters": STATE_FILTERS,
            "counts": migration_state_counts(),
            "export_query": f"?state={state}" if state else "",
        },
    )


EXPORT_COLUMNS = [
    "id",
    "customer",
    "tenant_id",
    "source_subscription_id",
    "from",
    "to",
    "seats",
    "state",
    "stopped_at",
    "error",
    "error_code",
    "customer_action",
    "users_moved",
    "users_total",
    "started_by",
    "created_utc",
    "finished_utc",
]
EXPORT_CHUNK = 500
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


def _export_rows(migrations: QuerySet[Migration]) -> Iterator[list[Any]]:
    for m in migrations.iterator(chunk_size=EXPORT_CHUNK):
        yield [
            m.pk,
            m.customer.company_name,
            m.customer.tenant_id,
            m.source_subscription_code,
            m.source_name,
            m.target_offer_name,
            m.quantity,
            registry.state_label(m.state),
            m.stopped_step,
            m.error_message,
            m.error_code,
            m.customer_action,
            m.users_moved,  # type: ignore[attr-defined]
            m.users_total,  # type: ignore[attr-defined]
            m.created_by.get_username() if m.created_by else "",
            m.created_at.strftime(TIME_FORMAT),
            m.finished_at.strftime(TIME_FORMAT) if m.finished_at else "",
        ]


@require_GET
@role_required(VIEWER)
def migration_export(request: HttpRequest) -> HttpResponseBase:
    """Stream the migrations the list's state filter matches as CSV, newest first."""
    state = request.GET.get("state", "")
    if state not in dict(STATE_FILTERS):
        state = ""
    audit_record(
        action="migrations.exported",
        actor=request.user,
        ip_address=client_ip(request),
        message="Exported the migrations as CSV.",
        details={"state": state},
    )
    rows = _export_rows(migration_list(state=state))
    return csv_response(csv_lines(EXPORT_COLUMNS, rows), name="migrations")


urlpatterns: list[URLPattern] = [
    path("migrations/", migration_list_page, name="migration_list"),
    path("migrations/export.csv", migration_export, name="migration_export"),
]
