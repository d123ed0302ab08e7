"""The Partner Center settings page (admin only, read-only)."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import URLPattern, path
from django.views.decorators.http import require_GET

from hub.roles import ADMIN, role_required


def _is_set(value: object) -> str:
    return "set" if value else "not set"


@require_GET
@role_required(ADMIN)
def settings_page(request: HttpRequest) -> HttpResponse:
    """Show how PartnerHub reaches Partner Center; secrets only as set / not set.

    Every value comes from the environment at start-up, so the page changes nothing.
    """
    rows = [
        ("Mode", settings.PARTNER_CENTER_MODE, "PARTNER_CENTER_MODE"),
        ("API URL", settings.PARTNER_CENTER_API_URL, "PARTNER_CENTER_API_URL"),
        (
            ("Token URL", settings.PARTNER_CENTER_TOKEN_URL, "PARTNER_CENTER_TOKEN_URL")
            if settings.PARTNER_CENTER_MODE == "sandbox"
            else (
                "Entra ID authority",
                settings.PARTNER_CENTER_AUTHORITY_HOST,
                "PARTNER_CENTER_AUTHORITY_HOST",
            )
        ),
        ("App scope", settings.PARTNER_CENTER_APP_SCOPE, "PARTNER_CENTER_APP_SCOPE"),
        (
            "Partner tenant id",
            settings.PARTNER_CENTER_TENANT_ID,
            "PARTNER_CENTER_TENANT_ID",
        ),
        ("Client id", settings.PARTNER_CENTER_CLIENT_ID, "PARTNER_CENTER_CLIENT_ID"),
        (
            "Client secret",
            _is_set(settings.PARTNER_CENTER_CLIENT_SECRET),
            "PARTNER_CENTER_CLIENT_SECRET",
        ),
        (
            "Refresh token (app+user)",
            _is_set(settings.PARTNER_CENTER_REFRESH_TOKEN),
            "PARTNER_CENTER_REFRESH_TOKEN",
        ),
        (
            "Rate limit",
            f"{settings.PARTNER_CENTER_RATE_LIMIT_PER_MINUTE} calls per minute",
            "PARTNER_CENTER_RATE_LIMIT_PER_MINUTE",
        ),
        (
            "Timeout",
            f"{settings.PARTNER_CENTER_TIMEOUT_SECONDS:g} s",
            "PARTNER_CENTER_TIMEOUT_SECONDS",
        ),
        (
            "Own partner ids",
            ", ".join(settings.PARTNER_CENTER_OWN_PARTNER_IDS) or "none",
            "PARTNER_CENTER_OWN_PARTNER_IDS",
        ),
        (
            "Sync every",
            f"{settings.PARTNERHUB_SYNC_EVERY_MINUTES} minutes",
            "PARTNERHUB_SYNC_EVERY_MINUTES",
        ),
        (
            "Session lifetime",
            f"{settings.SESSION_COOKIE_AGE // 60} minutes",
            "PARTNERHUB_SESSION_SECONDS",
        ),
        (
            "Lockout after",
            f"{settings.AXES_FAILURE_LIMIT} failed sign-ins",
            "PARTNERHUB_LOGIN_FAILURE_LIMIT",
        ),
    ]
    return render(request, "settings/page.html", {"rows": rows})


urlpatterns: list[URLPattern] = [
    path("settings/", settings_page, name="settings_page"),
]
