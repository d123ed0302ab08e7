"""System checks: refuse to run against a live Partner Center half configured.

`manage.py check` (and every process start) fails with an error naming each
missing setting, instead of the first sync failing with a token error.
"""

from __future__ import annotations

from typing import Any

from cryptography.fernet import Fernet
from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, register

SANDBOX_PARTNER_ID = "4847383"
SANDBOX_TENANT_ID = "00000000-0000-0000-0000-00000000c5b0"


def _fernet_keys_valid(value: str) -> bool:
    keys = [k.strip() for k in value.split(",") if k.strip()]
    try:
        for key in keys:
            Fernet(key.encode())
    except ValueError:
        return False
    return bool(keys)


@register(Tags.security)
def live_partner_center_settings(
    app_configs: Any = None, **kwargs: Any
) -> list[CheckMessage]:
    """Return an error per setting live mode needs and does not have."""
    if settings.PARTNER_CENTER_MODE != "live":
        return []
    errors: list[CheckMessage] = []

    def need(ok: bool, code: int, text: str, hint: str) -> None:
        if not ok:
            errors.append(Error(text, hint=hint, id=f"migrations_app.E{code:03d}"))

    tenant = str(settings.PARTNER_CENTER_TENANT_ID or "")
    need(
        bool(tenant) and tenant != SANDBOX_TENANT_ID,
        1,
        "PARTNER_CENTER_TENANT_ID is not set to the partner's own tenant.",
        "Set it to the Entra tenant id (GUID) of the partner's Partner Center account.",
    )
    need(
        bool(settings.PARTNER_CENTER_CLIENT_ID),
        2,
        "PARTNER_CENTER_CLIENT_ID is not set.",
        "Set it to the application (client) id of the Entra app registered for "
        "Partner Center.",
    )
    need(
        bool(settings.PARTNER_CENTER_CLIENT_SECRET),
        3,
        "PARTNER_CENTER_CLIENT_SECRET is not set.",
        "Set it to a client secret of that Entra app.",
    )
    need(
        bool(settings.PARTNER_CENTER_REFRESH_TOKEN) or _refresh_token_stored(),
        4,
        "No app+user refresh token: PARTNER_CENTER_REFRESH_TOKEN is not set and "
        "none is stored.",
        "An admin signs in with MFA and consents (Secure Application Model); set "
        "the refresh token obtained in PARTNER_CENTER_REFRESH_TOKEN. PartnerHub "
        "stores it encrypted and keeps the rotated one.",
    )
    need(
        _fernet_keys_valid(str(settings.PARTNERHUB_SECRETS_KEY or "")),
        5,
        "PARTNERHUB_SECRETS_KEY is not a Fernet key.",
        "Set it from `python -c 'from cryptography.fernet import Fernet; "
        "print(Fernet.generate_key().decode())'`, kept outside the database.",
    )
    own = [str(p).strip() for p in settings.PARTNER_CENTER_OWN_PARTNER_IDS]
    need(
        bool(own) and SANDBOX_PARTNER_ID not in own,
        6,
        "PARTNER_CENTER_OWN_PARTNER_IDS is empty or still names the sandbox's "
        f"partner id ({SANDBOX_PARTNER_ID}).",
        "Set it to the partner's own MPN (partner location) ids, comma-separated.",
    )
    return errors


def _refresh_token_stored() -> bool:
    """Return True if a refresh token is stored (False if the database is not
    ready, e.g. before `migrate`)."""
    from migrations_app.models.secrets import REFRESH_TOKEN, StoredSecret

    try:
        return StoredSecret.objects.filter(name=REFRESH_TOKEN).exists()
    except Exception:  # no table yet, or no database access here
        return False
