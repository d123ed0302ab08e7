"""The audit log page and its streamed CSV export."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import UTC, date
from typing import Any

from django import forms
from django.core.validators import RegexValidator
from django.http import HttpRequest, HttpResponse, QueryDict
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.urls import URLPattern, path
from django.views.decorators.http import require_GET

from hub.models import AuditEvent, Outcome
from hub.roles import VIEWER, role_required
from hub.selectors.audit import (
    AuditFilters,
    audit_event_page,
    audit_events_for_export,
    audit_last_verification,
)
from hub.services.audit import KNOWN_ACTIONS, audit_record, client_ip
from hub.views.csv_export import csv_lines, csv_response

BIGINT_MAX = 2**63 - 1
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
    migration = forms.IntegerField(
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
    before = forms.IntegerField(required=False, min_value=1, max_value=BIGINT_MAX)
    after = forms.IntegerField(required=False, min_value=0, max_value=BIGINT_MAX)

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
            customer=data["customer"].strip(),
            actor=data["actor"].strip(),
            action=data["action"],
            migration_id=data["migration"],
            outcome=data["outcome"],
            request_id=data["request_id"].strip(),
            date_from=data["date_from"],
            date_to=data["date_to"],
        )

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
    if not form.is_valid():
        invalid: dict[str, Any] = {
            "form": form,
            "page": None,
            "verification": verification,
            "known_actions": KNOWN_ACTIONS,
            "filter_query": form.filter_query(),
        }
        return render(request, "audit/list.html", invalid, status=400)
    page = audit_event_page(
        filters=form.filters(),
        before=form.cleaned_data["before"],
        after=form.cleaned_data["after"],
    )
    context: dict[str, Any] = {
        "form": form,
        "page": page,
        "verification": verification,
        "known_actions": KNOWN_ACTIONS,
        "filter_query": form.filter_query(),
        "filtered": not form.filters().is_empty(),
        "is_first_page": form.cleaned_data["before"] is None
        and form.cleaned_data["after"] is None,
    }
    return render(request, "audit/list.html", context)


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
]
