"""Operator actions on a migration: Retry, Resume, Cancel and Refund.

Each changes rows and enqueues the worker's task after the transaction commits;
none calls Partner Center.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import URLPattern, path, reverse
from django.views.decorators.http import require_POST

import migrations_app.converters  # noqa: F401  (registers the `bigint` path converter)
from migrations_app.models import Migration
from migrations_app.roles import OPERATOR, role_required
from migrations_app.selectors.migrations import migration_card
from migrations_app.services.audit import client_ip
from migrations_app.services.migrations import (
    MigrationNotAllowed,
    migration_cancel,
    migration_refund,
    migration_resume,
    migration_retry,
)
from migrations_app.views.customers import customer_panel_update
from migrations_app.views.navigation import next_url
from migrations_app.views.types import HtmxRequest


def _operate(request: HtmxRequest, pk: int, action: Any, done: str) -> HttpResponse:
    """Run an operator action; answer with the fragment it came from, or redirect.

    On the customer page that is the migration panel with every other section out
    of band: the action may have ended the migration, and the poll that follows
    only redraws them when something changes after this answer.
    """
    migration = get_object_or_404(
        Migration.objects.select_related("customer", "source_subscription"), pk=pk
    )
    # Decided before the action runs: nothing after it may fail on a bad `next`.
    back = next_url(request, reverse("migration_detail", args=[migration.pk]))
    try:
        action(migration=migration, actor=request.user, ip_address=client_ip(request))
    except MigrationNotAllowed as exc:
        notice, tone = str(exc), "error"
    else:
        notice, tone = done, "success"
    if not request.htmx:
        if notice:
            messages.add_message(
                request, messages.ERROR if tone == "error" else messages.SUCCESS, notice
            )
        return redirect(back)
    extra = {"notice": notice, "notice_tone": tone}
    if request.POST.get("scope") == "customer":
        return customer_panel_update(
            request, migration.customer, refresh=True, extra=extra
        )
    card = migration_card(migration_id=migration.pk)
    context = {"card": card, "migration": migration} | extra
    return render(request, "migrations/detail.html#panel", context)


@require_POST
@role_required(OPERATOR)
def migration_retry_view(request: HtmxRequest, pk: int) -> HttpResponse:
    """Run a failed migration's failed step again."""
    return _operate(request, pk, migration_retry, "Retrying the failed step.")


@require_POST
@role_required(OPERATOR)
def migration_resume_view(request: HtmxRequest, pk: int) -> HttpResponse:
    """Run a waiting migration's next step now."""
    return _operate(request, pk, migration_resume, "Resuming now.")


@require_POST
@role_required(OPERATOR)
def migration_cancel_view(request: HtmxRequest, pk: int) -> HttpResponse:
    """Stop a migration; what it bought and moved stays, the old one is untouched."""
    # No notice: the card's state and its summary say it was cancelled.
    return _operate(request, pk, migration_cancel, "")


@require_POST
@role_required(OPERATOR)
def migration_refund_view(request: HtmxRequest, pk: int) -> HttpResponse:
    """Have a worker cancel what a stopped migration bought, for a refund."""
    return _operate(
        request,
        pk,
        migration_refund,
        "Cancelling the purchase for a refund… the new subscriptions show "
        "Cancelled once Partner Center confirms.",
    )


urlpatterns: list[URLPattern] = [
    path("migrations/<bigint:pk>/retry/", migration_retry_view, name="migration_retry"),
    path(
        "migrations/<bigint:pk>/refund/",
        migration_refund_view,
        name="migration_refund",
    ),
    path(
        "migrations/<bigint:pk>/resume/", migration_resume_view, name="migration_resume"
    ),
    path(
        "migrations/<bigint:pk>/cancel/", migration_cancel_view, name="migration_cancel"
    ),
]
