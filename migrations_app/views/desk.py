"""The renewal desk (`/`): what needs a decision first, across all customers; its
retired-SKU tiles' poll; and the CSV of its rows."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.urls import URLPattern, path
from django.views.decorators.http import require_GET

from migrations_app.roles import VIEWER, role_required
from migrations_app.selectors.bulk import schedule_summary
from migrations_app.selectors.desk import (
    IN_PROGRESS,
    RENEWAL_WINDOWS,
    ChartWeek,
    DeskRow,
    Tile,
    desk,
    desk_export_rows,
    desk_retired_index,
    desk_retired_stamp,
    desk_retired_tiles,
)
from migrations_app.services.audit import audit_record, client_ip
from migrations_app.views.csv_export import csv_lines, csv_response

# The chart's drawing area, in SVG user units (it scales to the page's width).
CHART_WIDTH = 760
CHART_HEIGHT = 210
CHART_LEFT = 34
CHART_TOP = 12
CHART_BOTTOM = 30
CHART_GAP = 0.28
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


@dataclass(frozen=True)
class Bar:
    """One week of the chart: where its two stacked bars go, and what they say."""

    week: ChartWeek
    x: float
    width: float
    renew_y: float
    renew_height: float
    expire_y: float
    expire_height: float
    label: str

    @property
    def title(self) -> str:
        start = self.week.start
        return (
            f"Week of {start:%b} {start.day}: {self.week.renewals} renewing, "
            f"{self.week.expirations} expiring"
        )


@dataclass(frozen=True)
class Gridline:
    y: float
    value: int


def _nice_ceiling(value: int) -> int:
    """Return a round even number at least `value` (4, 6, 10, 20, 40, 60, 100, …),
    so the middle gridline is a whole number too."""
    step = 1
    while True:
        for factor in (1, 2, 4, 6):
            if step * factor >= max(value, 4):
                return step * factor
        step *= 10


def chart_geometry(weeks: Sequence[ChartWeek]) -> dict[str, Any]:
    """Return the bars, gridlines and size of the renewals-per-week SVG."""
    plot_width = CHART_WIDTH - CHART_LEFT - 4
    plot_height = CHART_HEIGHT - CHART_TOP - CHART_BOTTOM
    base = CHART_TOP + plot_height
    top = _nice_ceiling(max((w.total for w in weeks), default=0))
    slot = plot_width / max(len(weeks), 1)
    width = slot * (1 - CHART_GAP)
    bars = []
    month = None
    for i, week in enumerate(weeks):
        renew = plot_height * week.renewals / top
        expire = plot_height * week.expirations / top
        label = ""
        if week.start.month != month:
            month = week.start.month
            label = f"{week.start:%b}"
        x = CHART_LEFT + i * slot + (slot - width) / 2
        bars.append(
            Bar(
                week=week,
                x=round(x, 1),
                width=round(width, 1),
                renew_y=round(base - renew, 1),
                renew_height=round(renew, 1),
                expire_y=round(base - renew - expire, 1),
                expire_height=round(expire, 1),
                label=label,
            )
        )
    grid = [
        Gridline(y=round(base - plot_height * f, 1), value=round(top * f))
        for f in (0, 0.5, 1)
    ]
    return {
        "bars": bars,
        "grid": grid,
        "width": CHART_WIDTH,
        "height": CHART_HEIGHT,
        "left": CHART_LEFT,
        "right": CHART_WIDTH - 4,
        "base": base,
        "label_y": base + 18,
        "renewals": sum(w.renewals for w in weeks),
        "expirations": sum(w.expirations for w in weeks),
    }


def _retired_context(tiles: list[Tile], has_mappings: bool) -> dict[str, Any]:
    running = next(t.subscriptions for t in tiles if t.key == IN_PROGRESS)
    return {
        "retired_tiles": tiles,
        "retired_running": running,
        "has_mappings": has_mappings,
    }


@role_required(VIEWER)
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """Show the renewal desk: retired SKUs, renewals, cancellation windows,
    suspended legacy subscriptions and the weeks ahead."""
    stamp = desk_retired_stamp()
    page = desk()
    context = {
        "retired_stamp": stamp,
        "desk": page,
        "renewal_days": max(RENEWAL_WINDOWS),
        "chart": chart_geometry(page.chart),
        "scheduled": schedule_summary(),
        **_retired_context(page.retired_tiles, page.has_mappings),
    }
    return render(request, "desk/home.html", context)


@role_required(VIEWER)
@require_GET
def desk_retired(request: HttpRequest) -> HttpResponse:
    """Return the retired-SKU tiles; they poll this while a migration runs.

    The poll sends the stamp of the tiles it shows (`v`): while nothing they count
    changed, the answer is 204 and the tiles stay as they are.
    """
    stamp = desk_retired_stamp()
    if request.GET.get("v") == stamp:
        return HttpResponse(status=204)
    retired = desk_retired_index()
    context = _retired_context(desk_retired_tiles(retired=retired), retired.has_retired)
    context["retired_stamp"] = stamp
    return render(request, "desk/home.html#retired", context)


EXPORT_COLUMNS = [
    "section",
    "customer",
    "tenant_id",
    "subscription_id",
    "subscription",
    "term",
    "status",
    "label",
    "date_utc",
    "days_left",
    "hours_left",
    "quantity",
    "assigned",
    "unused",
]


def _export_rows(rows: Iterable[DeskRow]) -> Iterator[list[Any]]:
    for row in rows:
        sub = row.subscription
        yield [
            row.section,
            row.customer.company_name,
            row.customer.tenant_id,
            sub.subscription_id,
            sub.display_name,
            sub.term,
            sub.status,
            sub.label,
            row.when.strftime(TIME_FORMAT) if row.when else "",
            row.days_left,
            row.hours_left,
            sub.quantity,
            row.assigned,
            row.unused,
        ]


@role_required(VIEWER)
@require_GET
def desk_export(request: HttpRequest) -> HttpResponseBase:
    """Stream every row of the desk's sections as CSV (renewals within 90 days,
    cancellable now, suspended legacy subscriptions)."""
    audit_record(
        action="desk.exported",
        actor=request.user,
        ip_address=client_ip(request),
        message="Exported the renewal desk as CSV.",
    )
    lines = csv_lines(EXPORT_COLUMNS, _export_rows(desk_export_rows()))
    return csv_response(lines, name="renewal-desk")


urlpatterns: list[URLPattern] = [
    path("", home, name="home"),
    path("desk/retired/", desk_retired, name="desk_retired"),
    path("desk/export.csv", desk_export, name="desk_export"),
]
