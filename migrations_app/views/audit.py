"""The audit log page and its streamed CSV export."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import UTC, date
from typing import Any

from django import forms
from django.contrib import messages
from django.core.validators import RegexValidator
from django.http import HttpRequest, HttpResponse, QueryDict
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.views.decorators.http import require_GET, require_POST

from migrations_app import task_names
from migrations_app.models import BIGINT_MAX, AuditEvent, AuditVerification, Outcome
from migrations_app.roles import ADMIN, VIEWER, role_required
from migrations_app.selectors.activity import activity_rows
from migrations_app.selectors.audit import (
    AuditFilters,
    audit_event_page,
    audit_events_for_export,
    audit_last_verification,
    audit_user_names,
)
from migrations_app.selectors.customers import customer_migration_retire_modes
from migrations_app.services.audit import KNOWN_ACTIONS, audit_record, client_ip
from migrations_app.views.csv_export import csv_lines, csv_response
from migrations_app.views.fields import CountField
from migrations_app.views.types import HtmxRequest
from migrations_app.workflow.enqueue import send_on_commit

VERIFY_TASK = task_names.VERIFY_AUDIT_CHAIN
# Field names as the filter form's notices call them.
FILTER_LABELS = {
    "customer": "Customer",
    "actor": "Actor",
    "action": "Action",
    "migration": "Migration id",
    "outcome": "Outcome",
    "request_id": "MS-RequestId",
    "date_from": "From",
    "date_to": "To",
    "before": "The page link",
    "after": "The page link",
}

EARLIEST_DATE = date(1970, 1, 1)
LATEST_DATE = date(9998, 12, 31)


def _date_in_range(value: date) -> None:
    if not EARLIEST_DATE <= value <= LATEST_DATE:
        raise forms.ValidationError("Enter a date between 1970 and 9998.")


class AuditFilterForm(forms.Form):
    """The audit page's filters and cursor, from the query string."""

    customer = forms.CharField(
        required=False,
        max_length=255,
        help_text="Tenant id, or part of the company name.",
    )
    actor = forms.CharField(required=False, max_length=150)
    action = forms.CharField(
        required=False,
        max_length=64,
        validators=[
            RegexValidator(
                r"^[A-Za-z0-9_.:-]+$",
                "An action is letters, digits and . _ : - only, e.g. migration.started.",
            )
        ],
    )
    migration = CountField(
        required=False, min_value=1, max_value=BIGINT_MAX, label="Migration id"
    )
    outcome = forms.ChoiceField(
        required=False, choices=[("", "Any outcome"), *Outcome.choices]
    )
    request_id = forms.CharField(required=False, max_length=64, label="MS-RequestId")
    date_from = forms.DateField(
        required=False, label="From (UTC)", validators=[_date_in_range]
    )
    date_to = forms.DateField(
        required=False, label="To (UTC)", validators=[_date_in_range]
    )
    before = CountField(required=False, min_value=1, max_value=BIGINT_MAX)
    after = CountField(required=False, min_value=0, max_value=BIGINT_MAX)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", "The end date is before the start date.")
        if data.get("before") is not None and data.get("after") is not None:
            raise forms.ValidationError("Use either before or after, not both.")
        return data

    def filters(self) -> AuditFilters:
        """Return the validated filters (call after `is_valid()`)."""
        data = self.cleaned_data
        return AuditFilters(
            customer=(data.get("customer") or "").strip(),
            actor=(data.get("actor") or "").strip(),
            action=data.get("action") or "",
            migration_id=data.get("migration"),
            outcome=data.get("outcome") or "",
            request_id=(data.get("request_id") or "").strip(),
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
        )

    def action_choices(self) -> list[tuple[str, str]]:
        """Return the Action select's options: every known action, plus the one
        asked for if the log holds an action PartnerHub no longer writes."""
        choices = [("", "Any action"), *KNOWN_ACTIONS.items()]
        current = self.cleaned_data.get("action") if self.is_bound else ""
        if current and current not in KNOWN_ACTIONS and "action" not in self.errors:
            choices.append((current, current))
        return choices

    def notices(self) -> list[str]:
        """Return one sentence per filter that was ignored, and why."""
        found = []
        for name, errors in self.errors.items():
            label = FILTER_LABELS.get(name, "The filters")
            text = " ".join(str(e) for e in errors)
            found.append(f"{label} was ignored: {text}")
        return found

    def filter_query(self) -> str:
        """Return the query string of the valid filters, without the cursor."""
        params = {
            name: self.data[name]
            for name in self.fields
            if name not in {"before", "after"}
            and name not in self.errors
            and self.data.get(name)
        }
        query = QueryDict(mutable=True)
        query.update(params)
        return query.urlencode()


@require_GET
@role_required(VIEWER)
def audit_list(request: HttpRequest) -> HttpResponse:
    """Show matching audit events, newest first, one keyset page at a time."""
    form = AuditFilterForm(request.GET)
    verification = audit_last_verification()
    # A filter that is not valid is ignored, with a notice, and the others apply:
    # one mistyped field must not hide every event.
    form.is_valid()
    cleaned = form.cleaned_data
    both = cleaned.get("before") is not None and cleaned.get("after") is not None
    before = None if both else cleaned.get("before")
    after = None if both else cleaned.get("after")
    page = audit_event_page(filters=form.filters(), before=before, after=after)
    context: dict[str, Any] = {
        "form": form,
        "page": page,
        "rows": _rows(page.events),
        "notices": form.notices(),
        "action_choices": form.action_choices(),
        **_verification_context(
            waiting_after=_id_param(request.GET.get("verify_after")),
            verification=verification,
        ),
        "known_actions": KNOWN_ACTIONS,
        "filter_query": form.filter_query(),
        "filtered": not form.filters().is_empty(),
        "is_first_page": before is None and after is None,
    }
    return render(request, "audit/list.html", context)


def _rows(events: list[AuditEvent]) -> list[tuple[AuditEvent, str]]:
    """Return each event with what happened in plain words.

    Partner Center writes get the words the customer's activity uses ("Licence
    moved for Zoe Taylor", "Subscription suspended"); other events their message.
    Two queries at most, whatever the number of rows.
    """
    writes = [e for e in events if e.action == "partner_center.write"]
    names = audit_user_names(
        user_ids=[e.target_user_id for e in writes if e.target_user_id]
    )
    modes = customer_migration_retire_modes(
        migration_ids=sorted({e.migration_id for e in writes if e.migration_id})
    )
    rows = []
    for event in events:
        what = event.message
        if event.action == "partner_center.write":
            row = activity_rows([event], names=names, retire_modes=modes, limit=1)
            what = row[0].what if row else event.message
        rows.append((event, what))
    return rows


def _id_param(raw: str | None) -> int | None:
    """Return a query-string id, or None if it is not one a table can hold."""
    text = (raw or "").strip()
    if text.isascii() and text.isdigit() and len(text) <= 19:
        number = int(text)
        return number if number <= BIGINT_MAX else None
    return None


def _verification_context(
    *, waiting_after: int | None, verification: AuditVerification | None
) -> dict[str, Any]:
    """Return what the verification box needs; it polls while a requested walk
    has not stored its result yet."""
    done = waiting_after is None or (
        verification is not None and verification.pk > waiting_after
    )
    return {
        "verification": verification,
        "verify_waiting": not done,
        "verify_after": waiting_after if waiting_after is not None else "",
    }


@role_required(ADMIN)
@require_POST
def audit_verify_request(request: HtmxRequest) -> HttpResponse:
    """Queue a walk over the audit chain (a worker runs it); admins only."""
    latest = audit_last_verification()
    after = AuditVerification.objects.order_by("-pk").values_list("pk", flat=True)
    waiting_after = after.first() or 0
    send_on_commit(VERIFY_TASK)
    audit_record(
        action="audit.verify_requested",
        actor=request.user,
        ip_address=client_ip(request),
        message="Asked for the audit chain to be verified now.",
    )
    context = _verification_context(waiting_after=waiting_after, verification=latest)
    if request.htmx:
        return render(request, "audit/_verification.html", context)
    messages.success(request, "Verification requested; the result shows here.")
    return redirect(f"{reverse('audit_list')}?verify_after={waiting_after}")


@require_GET
@role_required(VIEWER)
def audit_verification_status(request: HttpRequest) -> HttpResponse:
    """Return the verification box; it polls until a walk newer than `after` ends."""
    context = _verification_context(
        waiting_after=_id_param(request.GET.get("after")),
        verification=audit_last_verification(),
    )
    return render(request, "audit/_verification.html", context)


CSV_COLUMNS = [
    ("id", "id"),
    ("time_utc", "created_at"),
    ("actor", "actor"),
    ("actor_user_id", "actor_id"),
    ("action", "action"),
    ("outcome", "outcome"),
    ("customer_tenant_id", "customer_tenant_id"),
    ("customer_name", "customer_name"),
    ("subscription_id", "subscription_id"),
    ("migration_id", "migration_id"),
    ("target_user_id", "target_user_id"),
    ("message", "message"),
    ("ip_address", "ip_address"),
    ("pc_method", "pc_method"),
    ("pc_path", "pc_path"),
    ("pc_status", "pc_status"),
    ("pc_request_id", "pc_request_id"),
    ("pc_correlation_id", "pc_correlation_id"),
    ("pc_duration_ms", "pc_duration_ms"),
    ("pc_error_code", "pc_error_code"),
    ("details", "details"),
    ("prev_hash", "prev_hash"),
    ("hash", "hash"),
]


def _csv_row(event: AuditEvent) -> list[Any]:
    row = []
    for _, attribute in CSV_COLUMNS:
        value = getattr(event, attribute)
        if attribute == "created_at":
            value = value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
        elif attribute == "details":
            value = json.dumps(value, sort_keys=True, ensure_ascii=False)
        row.append(value)
    return row


def _csv_lines(events: Iterable[AuditEvent]) -> Iterator[str]:
    return csv_lines([name for name, _ in CSV_COLUMNS], map(_csv_row, events))


@require_GET
@role_required(VIEWER)
def audit_export(request: HttpRequest) -> HttpResponseBase:
    """Stream every event matching the current filters as CSV, newest first."""
    form = AuditFilterForm(request.GET)
    if not form.is_valid():
        lines = [
            f"{field}: {'; '.join(str(e) for e in errors)}"
            for field, errors in form.errors.items()
        ]
        return HttpResponse(
            "The filters are not valid:\n" + "\n".join(lines) + "\n",
            status=400,
            content_type="text/plain; charset=utf-8",
        )
    filters = form.filters()
    audit_record(
        action="audit.exported",
        actor=request.user,
        message="Exported the audit log as CSV.",
        ip_address=client_ip(request),
        details={"filters": form.filter_query()},
    )
    return csv_response(
        _csv_lines(audit_events_for_export(filters=filters)), name="audit"
    )


urlpatterns: list[URLPattern] = [
    path("audit/", audit_list, name="audit_list"),
    path("audit/export.csv", audit_export, name="audit_export"),
    path("audit/verify/", audit_verify_request, name="audit_verify"),
    path(
        "audit/verification/",
        audit_verification_status,
        name="audit_verification_status",
    ),
]
