"""Invitation pages: the partner's invitation link and the invitations sent.

The link is fetched by a worker; these views only read the stored row and queue
the fetch. They never call Partner Center.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.validators import DomainNameValidator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path
from django.views.decorators.http import require_GET, require_POST

import migrations_app.converters  # noqa: F401  (registers the `bigint` path converter)
from migrations_app.models import ResellerInvitation
from migrations_app.models.invitations import normalise_domain
from migrations_app.roles import OPERATOR, VIEWER, role_required
from migrations_app.services import invitations as service
from migrations_app.services.audit import client_ip
from migrations_app.services.invitations import InvitationRefused
from migrations_app.views.types import HtmxRequest

# Invitations shown on the page: every pending one, then the most recent others.
LIST_LIMIT = 200
NOTE_MAX_LENGTH = 2000

_DOMAIN_HELP = "Enter a domain such as contoso.onmicrosoft.com or contoso.com."
_check_domain = DomainNameValidator(accept_idna=False, message=_DOMAIN_HELP)


class InvitationForm(forms.Form):
    """An invitation the reseller has sent (or is about to send) to a customer."""

    company_name = forms.CharField(
        max_length=255,
        error_messages={"required": "Enter the customer's company name."},
    )
    domain = forms.CharField(
        max_length=253,
        error_messages={
            "required": "Enter the customer's domain.",
            "max_length": "A domain is at most 253 characters long.",
        },
    )
    contact_email = forms.EmailField(
        required=False,
        max_length=254,
        error_messages={"invalid": "Enter an email address such as it@contoso.com."},
    )
    note = forms.CharField(
        required=False,
        max_length=NOTE_MAX_LENGTH,
        widget=forms.Textarea,
        error_messages={
            "max_length": f"Keep the note under {NOTE_MAX_LENGTH} characters."
        },
    )

    def clean_domain(self) -> str:
        raw = self.cleaned_data["domain"].strip()
        if "@" in raw:
            raise ValidationError(
                "Enter the domain only, without a user name: for it@contoso.com "
                "enter contoso.com."
            )
        if "/" in raw or ":" in raw:
            raise ValidationError(
                "Enter the domain only, without https:// or a path, "
                "e.g. contoso.onmicrosoft.com."
            )
        domain = normalise_domain(raw)
        if not domain.isascii():
            try:
                domain = domain.encode("idna").decode("ascii")
            except UnicodeError as exc:
                raise ValidationError(_DOMAIN_HELP) from exc
        _check_domain(domain)
        return domain


def _page_context(form: InvitationForm | None = None) -> dict[str, Any]:
    invitations = list(service.invitation_list_queryset()[:LIST_LIMIT])
    counts = service.invitation_counts()
    return {
        "form": form or InvitationForm(),
        "invitations": invitations,
        "counts": counts,
        "hidden_count": max(0, counts["total"] - len(invitations)),
        **_link_context(),
    }


def _link_context() -> dict[str, Any]:
    link = service.invitation_link_current()
    stuck = service.invitation_link_stuck(link)
    return {
        "link": link,
        "link_waiting": link is not None and link.waiting and not stuck,
        "link_stuck": stuck,
    }


@require_GET
@role_required(VIEWER)
def invitation_list(request: HttpRequest) -> HttpResponse:
    """Show the invitation link, the form to record an invitation and the list."""
    return render(request, "invitations/list.html", _page_context())


@require_POST
@role_required(OPERATOR)
def invitation_create(request: HttpRequest) -> HttpResponse:
    """Record an invitation sent to a customer; errors come back on the page."""
    form = InvitationForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            invitation = service.invitation_record(
                company_name=data["company_name"],
                domain=data["domain"],
                contact_email=data["contact_email"],
                note=data["note"],
                actor=request.user,
                ip_address=client_ip(request),
            )
        except InvitationRefused as exc:
            form.add_error("domain", exc.message)
        else:
            messages.success(
                request,
                f"Recorded the invitation to {invitation.company_name}. It shows as "
                "accepted once the customer accepts and a sync lists it.",
            )
            return redirect("invitation_list")
    return render(request, "invitations/list.html", _page_context(form))


@role_required(OPERATOR)
@require_POST
def invitation_link_request(request: HtmxRequest) -> HttpResponse:
    """Queue a worker to fetch the invitation link (never fetched here)."""
    service.invitation_link_request(actor=request.user, ip_address=client_ip(request))
    if request.htmx:
        return render(request, "invitations/list.html#link", _link_context())
    messages.success(
        request, "Invitation link requested… it appears here once a worker fetched it."
    )
    return redirect("invitation_list")


@role_required(VIEWER)
@require_GET
def invitation_link_status(request: HttpRequest) -> HttpResponse:
    """Return the link fragment; it polls while a worker is still expected."""
    return render(request, "invitations/list.html#link", _link_context())


@role_required(OPERATOR)
@require_POST
def invitation_withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    """Withdraw a pending invitation: PartnerHub stops waiting for it."""
    try:
        invitation = service.invitation_withdraw(
            invitation_id=pk, actor=request.user, ip_address=client_ip(request)
        )
    except ResellerInvitation.DoesNotExist as exc:
        raise Http404("No such invitation.") from exc
    except InvitationRefused as exc:
        messages.warning(request, exc.message)
    else:
        messages.success(
            request,
            f"Withdrew the invitation to {invitation.company_name} "
            f"({invitation.domain}).",
        )
    return redirect("invitation_list")


urlpatterns: list[URLPattern] = [
    path("invitations/", invitation_list, name="invitation_list"),
    # The same URL, for reversing the form's action: Django resolves
    # /invitations/ to invitation_list, which hands its POSTs to invitation_create.
    path("invitations/new/", invitation_create, name="invitation_create"),
    path("invitations/link/", invitation_link_request, name="invitation_link_request"),
    path(
        "invitations/link/status/",
        invitation_link_status,
        name="invitation_link_status",
    ),
    path(
        "invitations/<bigint:pk>/withdraw/",
        invitation_withdraw,
        name="invitation_withdraw",
    ),
]
