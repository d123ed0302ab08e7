"""Migration pages: the plan (and Start), watching, operating, and the list.

No view here calls Partner Center: Start, Retry, Resume and Cancel change rows and
enqueue the worker's task after the transaction commits.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from uuid import UUID

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import URLPattern, path, reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.middleware import HtmxDetails

from hub.converters import BIGINT_MAX
from hub.models import Customer, Migration, MigrationState
from hub.roles import OPERATOR, VIEWER, has_role, role_required
from hub.selectors.customers import customer_subscription_rows
from hub.selectors.migrations import (
    customer_ids_of_migrations,
    customer_migration_summaries,
    migration_card,
    migration_list,
    migration_plan,
    migration_state_counts,
)
from hub.services.audit import audit_record, client_ip
from hub.services.migrations import (
    MigrationAlreadyRunning,
    MigrationNotAllowed,
    StartItem,
    migration_cancel,
    migration_refund,
    migration_resume,
    migration_retry,
    migration_start,
)
from hub.views.csv_export import csv_lines, csv_response
from hub.views.customers import customer_panel_update
from hub.views.navigation import next_url, safe_next
from hub.workflow.plan import PlanItem
from hub.workflow.wording import usage_location_problem


class HtmxRequest(HttpRequest):
    htmx: HtmxDetails


PAGE_SIZE = 50
MAX_POLL_IDS = 200
MAX_QUANTITY = 100_000


class PlanItemForm(forms.Form):
    """The operator's choices for one retired-SKU subscription of the plan."""

    include = forms.BooleanField(required=False)
    target = forms.ChoiceField(
        error_messages={"invalid_choice": "Choose one of the mapping's targets."}
    )
    quantity = forms.IntegerField(
        min_value=1,
        max_value=MAX_QUANTITY,
        error_messages={"invalid": "Enter a whole number of seats."},
    )
    retire_mode = forms.ChoiceField(
        error_messages={"invalid_choice": "Choose how the old subscription ends."}
    )
    # How it moves (the plan's paths, safest first); left out means buy.
    path = forms.ChoiceField(
        required=False,
        error_messages={"invalid_choice": "Choose how the subscription moves."},
    )

    def __init__(self, *args: Any, item: PlanItem, **kwargs: Any) -> None:
        default = item.default_target
        kwargs.setdefault(
            "initial",
            {
                "include": True,
                "target": default.value if default else "",
                "quantity": item.default_quantity,
                "retire_mode": item.default_retire_mode,
                "path": item.default_path,
            },
        )
        kwargs["prefix"] = item.key
        super().__init__(*args, **kwargs)
        self.item = item
        target = self.fields["target"]
        retire = self.fields["retire_mode"]
        assert isinstance(target, forms.ChoiceField)
        assert isinstance(retire, forms.ChoiceField)
        target.choices = [
            (c.value, c.name + (f" ({c.problem})" if c.problem else ""))
            for c in item.choices
        ]
        retire.choices = item.retire_choices
        way = self.fields["path"]
        assert isinstance(way, forms.ChoiceField)
        way.choices = item.path_choices

    @property
    def included(self) -> bool:
        """Return whether the operator kept this subscription in the migration."""
        if not self.is_bound:
            return True
        return bool(self.data.get(self.add_prefix("include")))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("include"):
            return data
        item = self.item
        choice = item.choice(data.get("target") or "")
        if choice is not None and choice.problem:
            self.add_error("target", f"{choice.name} is {choice.problem}.")
        problem = item.path_problem(choice, data.get("path") or Migration.BUY)
        if problem:
            self.add_error("path", problem)
        quantity = data.get("quantity")
        if quantity is not None:
            if quantity < item.minimum_quantity:
                self.add_error(
                    "quantity",
                    f"At least {item.minimum_quantity}: that many users hold this "
                    "licence and each needs a seat.",
                )
            offer = choice.offer if choice else None
            if offer is not None and not (
                offer.minimum_quantity <= quantity <= offer.maximum_quantity
            ):
                self.add_error(
                    "quantity",
                    f"{offer.name} is sold in quantities from "
                    f"{offer.minimum_quantity} to {offer.maximum_quantity}.",
                )
        missing = item.users_without_location
        if missing:
            count = len(missing)
            who = "1 user has" if count == 1 else f"{count} users have"
            upns = ", ".join(u.user_principal_name or u.user_id for u in missing)
            raise forms.ValidationError(
                f"Cannot start: {who} no usage location ({upns}), so no licence "
                "can be assigned to them. Set their usage location in the Microsoft "
                "365 admin center, then Refresh the customer and come back."
            )
        if not item.source_sku_id:
            raise forms.ValidationError(
                "PartnerHub cannot tell which licence this subscription grants; sync "
                "the offer catalogue before migrating it."
            )
        return data

    def start_item(self) -> StartItem | None:
        """Return the validated choice, or None if the subscription is left out."""
        data = self.cleaned_data
        if not data.get("include"):
            return None
        choice = self.item.choice(data["target"])
        assert choice is not None
        return StartItem(
            plan=self.item,
            target=choice,
            quantity=data["quantity"],
            retire_mode=data["retire_mode"],
            path=data.get("path") or Migration.BUY,
        )


_next_url = next_url


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
    back = _next_url(request, reverse("customer_detail", args=[customer.tenant_id]))
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
    back = _next_url(request, reverse("migration_detail", args=[migration.pk]))
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
            m.source_subscription.subscription_id,
            m.source_subscription.display_name,
            m.target_offer_name,
            m.quantity,
            m.state_label,
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
    path(
        "customers/<uuid:tenant_id>/migrate/",
        migration_plan_page,
        name="migration_plan",
    ),
    path("migrations/", migration_list_page, name="migration_list"),
    path("migrations/export.csv", migration_export, name="migration_export"),
    path("migrations/progress/", migration_progress, name="migration_progress"),
    path("migrations/<bigint:pk>/", migration_detail, name="migration_detail"),
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
