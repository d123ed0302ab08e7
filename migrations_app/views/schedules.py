"""Scheduled migrations: the list, moving one to another time, cancelling one.

Each waits in the database until beat starts it; until then it can be moved or
cancelled here. Nothing here calls Partner Center.
"""

from __future__ import annotations

from datetime import UTC, datetime

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import URLPattern, path
from django.views.decorators.http import require_GET, require_POST

import migrations_app.converters  # noqa: F401  (registers the `bigint` path converter)
from migrations_app.models import MigrationSchedule
from migrations_app.roles import OPERATOR, VIEWER, role_required
from migrations_app.selectors.bulk import schedule_list
from migrations_app.services.audit import client_ip
from migrations_app.services.bulk import (
    BulkNotAllowed,
    schedule_cancel,
    schedule_reschedule,
)
from migrations_app.views.bulk import DATE_FORMATS
from migrations_app.views.types import HtmxRequest


@require_GET
@role_required(VIEWER)
def schedule_list_page(request: HtmxRequest) -> HttpResponse:
    """List the scheduled migrations: waiting ones first, soonest first."""
    return render(request, "migrations/scheduled.html", {"schedules": schedule_list()})


def _parse_start(raw: str) -> datetime | None:
    """Return the UTC time an operator typed, or None if it is not one."""
    text = raw.strip()[:32]
    for fmt in DATE_FORMATS:
        try:
            value = datetime.strptime(text, fmt)
        except ValueError:
            continue
        if not 2000 <= value.year <= 9998:
            return None
        return value.replace(tzinfo=UTC)
    return None


@require_POST
@role_required(OPERATOR)
def schedule_edit(request: HtmxRequest, pk: int) -> HttpResponse:
    """Move a waiting schedule to the time posted as `start_at` (UTC)."""
    schedule = get_object_or_404(
        MigrationSchedule.objects.select_related("customer"), pk=pk
    )
    start_at = _parse_start(request.POST.get("start_at", ""))
    if start_at is None:
        messages.error(request, "Enter the new start as a date and time (UTC).")
        return redirect("schedule_list")
    try:
        schedule_reschedule(
            schedule=schedule,
            start_at=start_at,
            actor=request.user,
            ip_address=client_ip(request),
        )
    except BulkNotAllowed as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request,
            f"The migration of {schedule.customer.company_name} now starts "
            f"{start_at:%b} {start_at.day}, {start_at:%Y} at {start_at:%H:%M} UTC.",
        )
    return redirect("schedule_list")


@require_POST
@role_required(OPERATOR)
def schedule_cancel_view(request: HtmxRequest, pk: int) -> HttpResponse:
    """Cancel a waiting schedule."""
    schedule = get_object_or_404(
        MigrationSchedule.objects.select_related("customer"), pk=pk
    )
    try:
        schedule_cancel(
            schedule=schedule, actor=request.user, ip_address=client_ip(request)
        )
    except BulkNotAllowed as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request,
            f"The scheduled migration of {schedule.customer.company_name} is "
            "cancelled; nothing was started.",
        )
    return redirect("schedule_list")


urlpatterns: list[URLPattern] = [
    path("migrations/scheduled/", schedule_list_page, name="schedule_list"),
    path("migrations/scheduled/<bigint:pk>/edit/", schedule_edit, name="schedule_edit"),
    path(
        "migrations/scheduled/<bigint:pk>/cancel/",
        schedule_cancel_view,
        name="schedule_cancel",
    ),
]
