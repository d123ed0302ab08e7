from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest

from hub.roles import ADMIN, OPERATOR, has_role, user_role


def partnerhub(request: HttpRequest) -> dict[str, Any]:
    """Return the role flags and mode every template may use."""
    user = request.user
    return {
        "role": user_role(user),
        "can_operate": has_role(user, OPERATOR),
        "can_administer": has_role(user, ADMIN),
        "partner_center_mode": settings.PARTNER_CENTER_MODE,
        "demo_accounts": settings.PARTNERHUB_DEMO_ACCOUNTS,
    }
