"""The Partner Center settings page (admin only, read-only)."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import URLPattern, path
from django.views.decorators.http import require_GET

from migrations_app.models.connection import (
    CREDENTIALS_PROBLEM,
    MFA_PROBLEM,
    REFRESH_PROBLEM,
    ConnectionHealth,
    connection_health,
)
from migrations_app.roles import ADMIN, role_required
from migrations_app.selectors.first_contact import first_contact_report

CONSENT_DOCS = (
    "https://learn.microsoft.com/partner-center/developer/enable-secure-app-model"
)
# What an admin must do, in plain words, per kind of broken connection.
FIXES = {
    MFA_PROBLEM: (
        "App+user sign-in lacks MFA: since April 2026 Partner Center refuses "
        'app+user calls without it (401 "Authentication failed. MFA required." '
        "code 10001), and Entra ID refuses the sign-in with AADSTS50076, 50079 or "
        "50078 (MFA expired). Sign in again with MFA: an admin of the partner "
        "tenant signs in with multi-factor authentication and consents to the "
        "PartnerHub app "
        "(Secure Application Model); put the new refresh token in "
        "PARTNER_CENTER_REFRESH_TOKEN and restart the worker. Subscriptions and "
        "app-only calls keep working meanwhile."
    ),
    REFRESH_PROBLEM: (
        "The stored app+user refresh token has expired or was revoked (for example "
        "unused for 90 days, or the admin's password changed). An admin signs in "
        "again with MFA and consents to the PartnerHub app; put the new refresh "
        "token in PARTNER_CENTER_REFRESH_TOKEN and restart the worker."
    ),
    CREDENTIALS_PROBLEM: (
        "Entra ID refused the app's own credentials: the client id is wrong or the "
        "client secret expired. Create a new client secret for the app in Entra ID, "
        "set PARTNER_CENTER_CLIENT_SECRET and restart web, worker and beat."
    ),
}


def _is_set(value: object) -> str:
    return "set" if value else "not set"


def _setting_rows() -> list[tuple[str, str, str]]:
    """Return (label, value, environment variable) per setting; secrets as set."""
    return [
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
            "Secrets key",
            _is_set(settings.PARTNERHUB_SECRETS_KEY),
            "PARTNERHUB_SECRETS_KEY",
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
            "Indirect reseller of record",
            settings.PARTNER_CENTER_INDIRECT_RESELLER_ID or "none",
            "PARTNER_CENTER_INDIRECT_RESELLER_ID",
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


def _read_only_row() -> tuple[str, str, str]:
    return (
        "Read-only (first contact)",
        "on" if settings.PARTNER_CENTER_READ_ONLY else "off",
        "PARTNER_CENTER_READ_ONLY",
    )


@require_GET
@role_required(ADMIN)
def settings_page(request: HttpRequest) -> HttpResponse:
    """Show how PartnerHub reaches Partner Center; secrets only as set / not set.

    Every value comes from the environment at start-up, so the page changes
    nothing. The first-contact report comes from what the sync stored: the web
    never calls Partner Center.
    """
    health = connection_health()
    mfa_state = _mfa_state(health)
    return render(
        request,
        "settings/page.html",
        {
            "rows": [*_setting_rows(), _read_only_row()],
            "health": health,
            "fix": FIXES.get(health.problem, ""),
            "mfa_state": mfa_state,
            "consent_docs": CONSENT_DOCS,
            "report": first_contact_report(mfa_state=mfa_state),
        },
    )


def _mfa_state(health: ConnectionHealth) -> str:
    if health.problem == MFA_PROBLEM or health.has_mfa_claim is False:
        return "missing"
    return "present" if health.has_mfa_claim else "unknown"


urlpatterns: list[URLPattern] = [
    path("settings/", settings_page, name="settings_page"),
]
