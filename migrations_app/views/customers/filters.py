"""The customer list's filters: the form of its GET parameters and the query string
that keeps them across pages and links.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any
from urllib.parse import urlencode

from django import forms

from migrations_app.selectors.customers import SORT_EXPIRY, SORT_NAME, CustomerFilters
from migrations_app.selectors.desk import RETIRED_STATES
from migrations_app.views.fields import CountField

MAX_DAYS = 3650

_DAYS_MESSAGE = f"Use a whole number of days from 0 to {MAX_DAYS}."


class CustomerFilterForm(forms.Form):
    """The list's GET parameters; invalid ones are ignored with a notice."""

    q = forms.CharField(required=False, max_length=200)
    retired = forms.BooleanField(required=False)
    expires_within = CountField(
        required=False,
        min_value=0,
        max_value=MAX_DAYS,
        error_messages={
            "invalid": _DAYS_MESSAGE,
            "min_value": _DAYS_MESSAGE,
            "max_value": _DAYS_MESSAGE,
        },
    )
    status = forms.CharField(required=False, max_length=32)
    sort = forms.ChoiceField(
        required=False,
        choices=[(SORT_NAME, "Name"), (SORT_EXPIRY, "Soonest expiry")],
        error_messages={"invalid_choice": "Sort by name or by soonest expiry."},
    )
    # The renewal desk's tiles link here with these.
    renews_within = CountField(
        required=False,
        min_value=0,
        max_value=MAX_DAYS,
        error_messages={
            "invalid": _DAYS_MESSAGE,
            "min_value": _DAYS_MESSAGE,
            "max_value": _DAYS_MESSAGE,
        },
    )
    cancellable = forms.BooleanField(required=False)
    suspended = forms.BooleanField(required=False)
    migration = forms.ChoiceField(
        required=False,
        choices=[("", "Any"), *RETIRED_STATES.items()],
        error_messages={"invalid_choice": "Not a migration state of the desk."},
    )

    LABELS = {
        "q": "Search",
        "retired": "Retired SKUs",
        "expires_within": "Expires within",
        "status": "Status",
        "sort": "Sort",
        "renews_within": "Renews within",
        "cancellable": "Cancellable now",
        "suspended": "Suspended",
        "migration": "Retired SKU migration",
    }


def form_filters(form: CustomerFilterForm, notices: list[str]) -> CustomerFilters:
    """Return the filters from the valid fields; note why the others were ignored."""
    form.is_valid()
    for name, errors in form.errors.items():
        label = CustomerFilterForm.LABELS.get(name, name)
        notices.append(f"{label} was ignored: {' '.join(str(e) for e in errors)}")
    data = form.cleaned_data
    return CustomerFilters(
        q=(data.get("q") or "").strip(),
        retired=bool(data.get("retired")),
        expires_within=data.get("expires_within"),
        status=(data.get("status") or "").strip(),
        sort=data.get("sort") or SORT_NAME,
        renews_within=data.get("renews_within"),
        cancellable=bool(data.get("cancellable")),
        suspended=bool(data.get("suspended")),
        migration=data.get("migration") or "",
    )


def known_status(
    filters: CustomerFilters, statuses: list[str], notices: list[str]
) -> CustomerFilters:
    """Return the filters with the status as stored, or without it if none has it."""
    if not filters.status:
        return filters
    stored = {status.casefold(): status for status in statuses}
    status = stored.get(filters.status.casefold())
    if status is None:
        label = CustomerFilterForm.LABELS["status"]
        notices.append(
            f"{label} was ignored: no subscription has the status "
            f"“{filters.status[:32]}”."
        )
        return replace(filters, status="")
    return replace(filters, status=status)


def filter_query(filters: CustomerFilters, **extra: Any) -> str:
    """Return the query string for these filters (valid values only)."""
    params: dict[str, Any] = {}
    if filters.q:
        params["q"] = filters.q
    if filters.retired:
        params["retired"] = "1"
    if filters.expires_within is not None:
        params["expires_within"] = filters.expires_within
    if filters.status:
        params["status"] = filters.status
    if filters.sort != SORT_NAME:
        params["sort"] = filters.sort
    if filters.renews_within is not None:
        params["renews_within"] = filters.renews_within
    if filters.cancellable:
        params["cancellable"] = "1"
    if filters.suspended:
        params["suspended"] = "1"
    if filters.migration:
        params["migration"] = filters.migration
    params.update({k: v for k, v in extra.items() if v is not None})
    return "?" + urlencode(params) if params else ""
