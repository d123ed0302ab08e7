from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest

from migrations_app.roles import ADMIN, OPERATOR, has_role, user_role


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
    }
