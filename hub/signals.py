"""Audit every sign-in, sign-out, failed sign-in and lockout."""

from __future__ import annotations

from typing import Any

from axes.signals import user_locked_out
from django.contrib.auth.signals import (
    user_logged_in,
    user_logged_out,
    user_login_failed,
)
from django.dispatch import receiver

from hub.models import Outcome
from hub.services.audit import audit_record, client_ip


@receiver(user_logged_in)
def audit_login(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    audit_record(
        action="login",
        actor=user,
        message=f"{user.get_username()} signed in.",
        ip_address=client_ip(request) if request is not None else None,
    )


@receiver(user_logged_out)
def audit_logout(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if user is None:
        return
    audit_record(
        action="logout",
        actor=user,
        message=f"{user.get_username()} signed out.",
        ip_address=client_ip(request) if request is not None else None,
    )


@receiver(user_login_failed)
def audit_login_failed(
    sender: Any, credentials: dict[str, Any], request: Any = None, **kwargs: Any
) -> None:
    username = str(credentials.get("username", ""))[:150]
    audit_record(
        action="login_failed",
        actor_label=username or "anonymous",
        outcome=Outcome.FAILURE,
        message=f"Failed sign-in for {username or 'an empty username'}.",
        ip_address=client_ip(request) if request is not None else None,
    )


@receiver(user_locked_out)
def audit_lockout(
    sender: Any, request: Any = None, username: str = "", **kwargs: Any
) -> None:
    audit_record(
        action="lockout",
        actor_label=(username or "anonymous")[:150],
        outcome=Outcome.DENIED,
        message=f"{username or 'An account'} was locked after repeated failed sign-ins.",
        ip_address=kwargs.get("ip_address")
        or (client_ip(request) if request is not None else None),
    )


USERNAME_MAX_LENGTH = 150


def axes_username(request: Any, credentials: dict[str, Any] | None = None) -> str:
    """Return the username django-axes counts failures for (AXES_USERNAME_CALLABLE).

    Cut to the longest username an account can have, so a sign-in attempt with an
    absurdly long name is counted like any other instead of overflowing axes' table.
    """
    if credentials:
        value = credentials.get("username")
    else:
        value = getattr(request, "POST", {}).get("username")
    return str(value or "")[:USERNAME_MAX_LENGTH]
