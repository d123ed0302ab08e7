from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest

from migrations_app.roles import ADMIN, OPERATOR, has_role, user_role

READ_ONLY_REASON = (
    "Read-only mode (PARTNER_CENTER_READ_ONLY=1): PartnerHub sends nothing to "
    "Partner Center that would change it. Sync, plans and previews still work; "
    "an admin turns writes on once the first-contact report in the settings is "
    "clean."
)


def partnerhub(request: HttpRequest) -> dict[str, Any]:
    """Return the role flags and mode every template may use."""
    # A request refused before the auth middleware ran (a Host header not in
    # ALLOWED_HOSTS answers 400 from CommonMiddleware) has no user.
    user = getattr(request, "user", None) or AnonymousUser()
    return {
        "role": user_role(user),
        "can_operate": has_role(user, OPERATOR),
        "can_administer": has_role(user, ADMIN),
        "partner_center_mode": settings.PARTNER_CENTER_MODE,
        "demo_accounts": settings.PARTNERHUB_DEMO_ACCOUNTS,
        # Read-only mode: write buttons are shown disabled with this reason.
        "read_only": settings.PARTNER_CENTER_READ_ONLY,
        "read_only_reason": READ_ONLY_REASON,
    }
