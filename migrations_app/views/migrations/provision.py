"""The provisioning plan page: buy in CSP what a customer holds through other channels.

Start changes rows and enqueues the worker's task after the transaction commits;
it never calls Partner Center.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import URLPattern, path, reverse
from django.views.decorators.http import require_http_methods

from migrations_app.domain.plan.provision import (
    SAME_SKU,
    SEATS_EXPLAINED,
    ProvisionLine,
    provisioning_plan,
)
from migrations_app.models import Customer
from migrations_app.roles import OPERATOR, VIEWER, has_role, role_required
from migrations_app.services.audit import client_ip
from migrations_app.services.migrations import (
    MigrationAlreadyRunning,
    MigrationNotAllowed,
    ProvisionChoice,
    provision_problem,
    provisioning_start,
)
from migrations_app.views.fields import CountField
from migrations_app.views.navigation import next_url
from migrations_app.views.types import HtmxRequest

MAX_SEATS = 100_000


class ProvisionLineForm(forms.Form):
    """The operator's choices for one SKU of the provisioning plan."""

    include = forms.BooleanField(required=False)
    seats = CountField(
        min_value=1,
        max_value=MAX_SEATS,
        error_messages={
            "invalid": "Enter a whole number of seats.",
            "required": "Enter a whole number of seats.",
        },
    )
    term = forms.ChoiceField(
        error_messages={
            "invalid_choice": "Choose one of the terms this offer is sold on.",
            "required": "Choose one of the terms this offer is sold on.",
        }
    )

    def __init__(self, *args: Any, line: ProvisionLine, **kwargs: Any) -> None:
        kwargs.setdefault(
            "initial",
            {
                "include": line.proposed_by_default,
                "seats": line.default_seats,
                "term": line.default_term,
            },
        )
        kwargs["prefix"] = line.key
        super().__init__(*args, **kwargs)
        self.line = line
        term = self.fields["term"]
        assert isinstance(term, forms.ChoiceField)
        term.choices = line.terms

    @property
    def included(self) -> bool:
        """Return whether the operator kept this SKU (the default when unbound)."""
        if not self.is_bound:
            return self.line.proposed_by_default
        return bool(self.data.get(self.add_prefix("include")))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("include"):
            return data
        if self.line.blocker:
            raise forms.ValidationError(self.line.blocker)
        seats, term = data.get("seats"), data.get("term")
        if seats is not None and term:
            problem = provision_problem(self.choice(seats, term))
            if problem:
                self.add_error("seats", problem)
        return data

    def choice(self, seats: int, term: str) -> ProvisionChoice:
        return ProvisionChoice(line=self.line, seats=seats, term=term)

    def start_choice(self) -> ProvisionChoice | None:
        """Return the validated choice, or None if the SKU is left out."""
        data = self.cleaned_data
        if not data.get("include"):
            return None
        return self.choice(data["seats"], data["term"])


@require_http_methods(["GET", "POST"])
@role_required(VIEWER)
def provisioning_plan_page(request: HtmxRequest, tenant_id: UUID) -> HttpResponse:
    """Show what provisioning this customer in CSP would buy; Start it (operators)."""
    customer = get_object_or_404(Customer, tenant_id=tenant_id)
    if request.method == "POST" and not has_role(request.user, OPERATOR):
        raise PermissionDenied("Starting provisioning needs the operator role.")
    plan = provisioning_plan(customer=customer)
    back = next_url(request, reverse("customer_detail", args=[customer.tenant_id]))
    data = request.POST if request.method == "POST" else None
    forms_ = [ProvisionLineForm(data, line=line) for line in plan.lines]
    errors: list[str] = []
    if request.method == "POST":
        kept = [f for f in forms_ if f.included]
        valid = all(f.is_valid() for f in kept)
        chosen = [f.start_choice() for f in kept if f.is_valid()]
        choices = [c for c in chosen if c is not None]
        if valid and not choices:
            errors.append("Choose at least one SKU to provision.")
        elif valid:
            try:
                started = provisioning_start(
                    customer=customer,
                    choices=choices,
                    actor=request.user,
                    ip_address=client_ip(request),
                )
            except MigrationAlreadyRunning as exc:
                messages.error(request, str(exc))
                return redirect(back)
            except MigrationNotAllowed as exc:
                errors.append(str(exc))
            else:
                count = len(started)
                what = "1 SKU" if count == 1 else f"{count} SKUs"
                messages.success(
                    request,
                    f"Provisioning started for {customer.company_name}: {what}. It "
                    "runs in the background; its progress shows here.",
                    extra_tags="migration-started",
                )
                detail = reverse("customer_detail", args=[customer.tenant_id])
                return redirect(f"{detail}#migration-panel")
        else:
            errors.append("Some choices need attention; see below.")
    rows = list(zip(plan.lines, forms_, strict=True))
    return render(
        request,
        "migrations/provision.html",
        {
            "customer": customer,
            "plan": plan,
            "rows": rows,
            "start_blocked": not plan.startable,
            "seats_explained": SEATS_EXPLAINED,
            "same_sku": SAME_SKU,
            "errors": errors,
            "next": back,
        },
    )


urlpatterns: list[URLPattern] = [
    path(
        "customers/<uuid:tenant_id>/provision/",
        provisioning_plan_page,
        name="provisioning_plan",
    ),
]
