"""The plan page: what migrating a customer would do, and Start.

Start changes rows and enqueues the worker's task after the transaction commits;
it never calls Partner Center.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import URLPattern, path, reverse
from django.views.decorators.http import require_http_methods

from migrations_app.domain.plan import PlanItem, migration_plan
from migrations_app.models import Customer
from migrations_app.models.wording import usage_location_problem
from migrations_app.roles import OPERATOR, VIEWER, has_role, role_required
from migrations_app.services.audit import client_ip
from migrations_app.services.migrations import (
    MigrationAlreadyRunning,
    MigrationNotAllowed,
    migration_start,
)
from migrations_app.views.migrations.plan_form import PlanItemForm
from migrations_app.views.navigation import next_url
from migrations_app.views.types import HtmxRequest


def plan_blocker(item: PlanItem) -> str:
    """Return the one reason this subscription cannot be migrated now, or ""."""
    if not item.source_sku_id:
        return (
            "PartnerHub cannot tell which licence this subscription grants (its "
            "offer is not in the synced catalogue), so no user can be moved."
        )
    if item.users_without_location:
        return usage_location_problem(item.users_without_location, bought=False)
    return ""


def _reused(item: PlanItem, form: PlanItemForm) -> bool:
    """Return True if Start would reuse an earlier purchase instead of buying."""
    choice = item.choice(str(form["target"].value() or ""))
    return choice is not None and item.reusable(choice.offer_id) is not None


def _start_context(items: list[PlanItem], forms_: list[PlanItemForm]) -> dict[str, Any]:
    """Return the plan's rows (item, form, blocker, reused) and whether Start is
    possible and would buy anything (only then does it ask to confirm a purchase)."""
    rows = []
    for item, form in zip(items, forms_, strict=True):
        rows.append((item, form, plan_blocker(item), _reused(item, form)))
    startable = [row for row in rows if not row[2]]
    return {
        "rows": rows,
        # Each reason once, however many subscriptions it stops.
        "start_reasons": list(dict.fromkeys(row[2] for row in rows if row[2])),
        "start_blocked": not startable,
        "start_buys": any(not reused for _, _, _, reused in startable),
    }


@require_http_methods(["GET", "POST"])
@role_required(VIEWER)
def migration_plan_page(request: HtmxRequest, tenant_id: UUID) -> HttpResponse:
    """Show what migrating this customer would do; Start it on POST (operators)."""
    customer = get_object_or_404(Customer, tenant_id=tenant_id)
    if request.method == "POST" and not has_role(request.user, OPERATOR):
        raise PermissionDenied("Starting a migration needs the operator role.")
    plan = migration_plan(customer=customer)
    back = next_url(request, reverse("customer_detail", args=[customer.tenant_id]))
    data = request.POST if request.method == "POST" else None
    forms_ = [PlanItemForm(data, item=item) for item in plan.items]
    errors: list[str] = []
    if request.method == "POST":
        # The plan was shown before someone else started these: say so plainly.
        taken = [
            skip.subscription.display_name
            for skip in plan.skipped
            if skip.migrating and f"{skip.key}-include" in request.POST
        ]
        if taken:
            messages.error(request, str(MigrationAlreadyRunning(taken)))
            return redirect(back)
        # Choices for a subscription left out do not matter, valid or not.
        kept = [f for f in forms_ if f.included]
        valid = all(f.is_valid() for f in kept)
        chosen = [f.start_item() for f in kept if f.is_valid()]
        items = [i for i in chosen if i is not None]
        if valid and not items:
            errors.append("Choose at least one subscription to migrate.")
        elif valid:
            try:
                started = migration_start(
                    customer=customer,
                    items=items,
                    actor=request.user,
                    ip_address=client_ip(request),
                )
            except MigrationAlreadyRunning as exc:
                messages.error(request, str(exc))
                return redirect(back)
            except MigrationNotAllowed as exc:
                # e.g. GDAP access lacks the roles licence moves need.
                errors.append(str(exc))
            else:
                count = len(started)
                what = "1 subscription" if count == 1 else f"{count} subscriptions"
                messages.success(
                    request,
                    f"Migration started for {customer.company_name}: {what}. It "
                    "runs in the background; its progress shows here.",
                    # The customer page drops it once the migration has ended.
                    extra_tags="migration-started",
                )
                detail = reverse("customer_detail", args=[customer.tenant_id])
                return redirect(f"{detail}#migration-panel")
        else:
            errors.append("Some choices need attention; see below.")
    return render(
        request,
        "migrations/plan.html",
        {
            "customer": customer,
            "plan": plan,
            **_start_context(plan.items, forms_),
            "errors": errors,
            "next": back,
        },
    )


urlpatterns: list[URLPattern] = [
    path(
        "customers/<uuid:tenant_id>/migrate/",
        migration_plan_page,
        name="migration_plan",
    ),
]
