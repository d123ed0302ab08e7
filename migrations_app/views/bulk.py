"""Bulk runs: the preview of many customers, Start (now or scheduled), a run's live
page and the list of runs.

The customer list sends either the ids ticked (`customer`, repeated) or `all=1`
with its filters, never thousands of ids. Nothing here calls Partner Center:
Start writes rows and sends the worker one message.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC
from typing import Any
from urllib.parse import parse_qsl, urlencode

from django import forms
from django.db.models import QuerySet
from django.http import Http404, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.views.decorators.http import require_GET, require_POST

from migrations_app.converters import BIGINT_MAX
from migrations_app.models import Customer, PathChoice, RetireChoice, StartWhen
from migrations_app.roles import OPERATOR, VIEWER, role_required
from migrations_app.selectors.bulk import (
    PREVIEW_PAGE_SIZE,
    bulk_preview,
    bulk_run_page,
    bulk_run_stamp,
    bulk_runs_recent,
)
from migrations_app.selectors.customers import (
    customer_retired_index,
    customer_search,
    customer_subscription_statuses,
)
from migrations_app.services.audit import client_ip
from migrations_app.services.bulk import (
    MAX_DAYS_BEFORE,
    BulkNotAllowed,
    BulkOptions,
    bulk_run_create,
)
from migrations_app.views.customers.filters import (
    CustomerFilterForm,
    filter_query,
    form_filters,
    known_status,
)
from migrations_app.views.fields import CountField
from migrations_app.views.types import HtmxRequest

# Ticked customers come from one page of the list (50); more are refused.
MAX_CHOSEN = 500
DATE_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d"]
_DAYS = f"Use a whole number of days from 0 to {MAX_DAYS_BEFORE}."


class BulkStartForm(forms.Form):
    """When the run starts and how its subscriptions move and end."""

    when = forms.ChoiceField(
        choices=StartWhen.choices,
        initial=StartWhen.NOW,
        error_messages={"invalid_choice": "Choose when the migrations start."},
    )
    start_on = forms.DateTimeField(
        required=False,
        input_formats=DATE_FORMATS,
        error_messages={"invalid": "Enter a date and time (UTC)."},
    )
    days_before = CountField(
        required=False,
        min_value=0,
        max_value=MAX_DAYS_BEFORE,
        error_messages={"invalid": _DAYS, "min_value": _DAYS, "max_value": _DAYS},
    )
    retire = forms.ChoiceField(
        choices=RetireChoice.choices,
        initial=RetireChoice.PLAN,
        error_messages={"invalid_choice": "Choose how the old subscriptions end."},
    )
    path = forms.ChoiceField(
        choices=PathChoice.choices,
        initial=PathChoice.SAFEST,
        error_messages={"invalid_choice": "Choose how the subscriptions move."},
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        when = data.get("when")
        if when == StartWhen.ON_DATE and not data.get("start_on"):
            self.add_error("start_on", "Choose the date the migrations start on.")
        if when == StartWhen.BEFORE_END and data.get("days_before") is None:
            self.add_error("days_before", _DAYS)
        return data

    def options(self) -> BulkOptions:
        """Return the valid options (the defaults where the form is not valid)."""
        if not self.is_bound or not self.is_valid():
            return BulkOptions()
        data = self.cleaned_data
        start_on = data.get("start_on")
        if start_on is not None and start_on.tzinfo is None:
            start_on = start_on.replace(tzinfo=UTC)
        return BulkOptions(
            when=data["when"],
            start_on=start_on,
            days_before=data.get("days_before"),
            retire=data["retire"],
            path=data["path"],
        )


@dataclass
class Selection:
    """The customers a bulk run is about: ticked ids, or every one matching."""

    customers: QuerySet[Customer]
    hidden: list[tuple[str, str]]
    all_matching: bool
    filter_query: str
    notices: list[str]

    @property
    def query(self) -> str:
        params = QueryDict(mutable=True)
        for name, value in self.hidden:
            params.appendlist(name, value)
        return params.urlencode()


def _selection(data: QueryDict) -> Selection:
    """Return the customers `data` chooses (the filter resolved now)."""
    notices: list[str] = []
    if data.get("all") == "1":
        filters = form_filters(CustomerFilterForm(data), notices)
        filters = known_status(filters, customer_subscription_statuses(), notices)
        query = filter_query(filters).lstrip("?")
        return Selection(
            customers=customer_search(
                filters=filters, retired=customer_retired_index()
            ),
            hidden=[("all", "1"), *parse_qsl(query)],
            all_matching=True,
            filter_query=query,
            notices=notices,
        )
    ids: list[int] = []
    raw = data.getlist("customer")
    for part in raw[:MAX_CHOSEN]:
        part = part.strip()
        if part.isascii() and part.isdigit() and len(part) <= 19:
            number = int(part)
            if 0 < number <= BIGINT_MAX:
                ids.append(number)
    if len(raw) > MAX_CHOSEN:
        notices.append(
            f"Only the first {MAX_CHOSEN} ticked customers are kept; use “all "
            "matching this filter” for more."
        )
    ids = list(dict.fromkeys(ids))
    return Selection(
        customers=Customer.objects.filter(pk__in=ids),
        hidden=[("customer", str(pk)) for pk in ids],
        all_matching=False,
        filter_query="",
        notices=notices,
    )


def _page_number(raw: str | None) -> int:
    if raw and raw.isascii() and raw.isdigit() and len(raw) <= 9:
        return max(1, int(raw))
    return 1


def _render_preview(
    request: HtmxRequest,
    selection: Selection,
    form: BulkStartForm,
    errors: list[str],
) -> HttpResponse:
    options = form.options()
    preview = bulk_preview(
        customers=selection.customers,
        page_number=_page_number(request.GET.get("page")),
        when=options.when,
        retire=options.retire,
        path=options.path,
    )
    page = preview.page
    base = reverse("bulk_preview") + "?" + selection.query
    options_query = _options_query(form)
    return render(
        request,
        "bulk/preview.html",
        {
            "preview": preview,
            "totals": preview.totals,
            "page": page,
            "selection": selection,
            "form": form,
            "errors": errors,
            "notices": selection.notices,
            "page_size": PREVIEW_PAGE_SIZE,
            "prev_url": f"{base}{options_query}&page={page.previous_page_number()}"
            if page.has_previous()
            else "",
            "next_url": f"{base}{options_query}&page={page.next_page_number()}"
            if page.has_next()
            else "",
            "back_url": reverse("customer_list")
            + (f"?{selection.filter_query}" if selection.filter_query else ""),
        },
    )


def _options_query(form: BulkStartForm) -> str:
    """Return the form's valid options as query parameters (for paging)."""
    if not form.is_bound or not form.is_valid():
        return ""
    params = QueryDict(mutable=True)
    for name in ("when", "retire", "path"):
        params[name] = str(form.cleaned_data[name])
    if form.cleaned_data.get("start_on"):
        params["start_on"] = form.cleaned_data["start_on"].strftime("%Y-%m-%dT%H:%M")
    if form.cleaned_data.get("days_before") is not None:
        params["days_before"] = str(form.cleaned_data["days_before"])
    return "&" + params.urlencode()


@require_GET
@role_required(VIEWER)
def bulk_preview_page(request: HtmxRequest) -> HttpResponse:
    """Show what migrating the chosen customers would do, with totals for all."""
    selection = _selection(request.GET)
    form = BulkStartForm(request.GET if "when" in request.GET else None)
    return _render_preview(request, selection, form, [])


@require_POST
@role_required(OPERATOR)
def bulk_start(request: HtmxRequest) -> HttpResponse:
    """Create a bulk run of the chosen customers and open its live page.

    "All matching" resolves the filter again now, so the run holds exactly the
    customers that match when it starts.
    """
    selection = _selection(request.POST)
    form = BulkStartForm(request.POST)
    errors: list[str] = []
    if form.is_valid():
        try:
            run = bulk_run_create(
                customers=selection.customers,
                options=form.options(),
                actor=request.user,
                filter_query=selection.filter_query,
                all_matching=selection.all_matching,
                ip_address=client_ip(request),
            )
        except BulkNotAllowed as exc:
            errors.append(str(exc))
        else:
            return redirect("bulk_detail", pk=run.pk)
    else:
        errors.append("Some choices need attention; see below.")
    return _render_preview(request, selection, form, errors)


@require_GET
@role_required(VIEWER)
def bulk_detail(request: HtmxRequest, pk: int) -> HttpResponse:
    """Show a bulk run, per customer; its one poll gets the progress part back.

    The poll sends the stamp of what its page shows (`v`): while nothing of the
    run changed, the answer is 204 and the page stays as it is.
    """
    stamp = bulk_run_stamp(bulk_run_id=pk)
    if request.htmx and request.GET.get("v") == stamp:
        return HttpResponse(status=204)
    found = bulk_run_page(
        bulk_run_id=pk, page_number=_page_number(request.GET.get("page"))
    )
    if found is None:
        raise Http404("No such bulk run.")
    page = found.page
    here = reverse("bulk_detail", args=[pk])
    context = {
        "found": found,
        "run": found.run,
        "page": page,
        "poll_url": f"{here}?{urlencode({'page': page.number, 'v': stamp})}",
        "prev_url": f"{here}?page={page.previous_page_number()}"
        if page.has_previous()
        else "",
        "next_url": f"{here}?page={page.next_page_number()}" if page.has_next() else "",
    }
    if request.htmx:
        return render(request, "bulk/detail.html#progress", context)
    return render(request, "bulk/detail.html", context)


@require_GET
@role_required(VIEWER)
def bulk_list(request: HtmxRequest) -> HttpResponse:
    """List the latest bulk runs."""
    return render(request, "bulk/list.html", {"runs": bulk_runs_recent()})


urlpatterns: list[URLPattern] = [
    path("bulk/", bulk_list, name="bulk_list"),
    path("bulk/preview/", bulk_preview_page, name="bulk_preview"),
    path("bulk/start/", bulk_start, name="bulk_start"),
    path("bulk/<bigint:pk>/", bulk_detail, name="bulk_detail"),
]
