"""Roles are Django groups: viewer ⊂ operator ⊂ admin. Checked in every view."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, Group
from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef
from django.http import HttpRequest
from django.http.response import HttpResponseBase

VIEWER = "viewer"
OPERATOR = "operator"
ADMIN = "admin"
ROLES = [VIEWER, OPERATOR, ADMIN]
_RANK = {VIEWER: 1, OPERATOR: 2, ADMIN: 3}

ViewFunc = TypeVar("ViewFunc", bound=Callable[..., HttpResponseBase])


def user_role(user: AbstractBaseUser | AnonymousUser) -> str | None:
    """Return the highest role the user holds, or None."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    if getattr(user, "is_superuser", False):
        return ADMIN
    cached = getattr(user, "_partnerhub_role", "unset")
    if cached != "unset":
        return cached
    names = set(cast(Any, user).groups.values_list("name", flat=True))
    role = None
    for name in ROLES:
        if name in names:
            role = name
    cast(Any, user)._partnerhub_role = role
    return role


class RoleModelBackend(ModelBackend):
    """Django's model backend, whose `get_user` also reads the user's role.

    The session's user is loaded through here on every request; the role comes
    in the same query (one EXISTS per role), so `user_role` needs no query of
    its own for the groups.
    """

    def get_user(self, user_id: Any) -> Any:
        user_model = get_user_model()
        holds = {
            f"_holds_{name}": Exists(
                Group.objects.filter(user=OuterRef("pk"), name=name)
            )
            for name in ROLES
        }
        try:
            user = user_model._default_manager.annotate(**holds).get(pk=user_id)
        except user_model.DoesNotExist:
            return None
        role = None
        for name in ROLES:
            if getattr(user, f"_holds_{name}"):
                role = name
        cast(Any, user)._partnerhub_role = role
        return user if self.user_can_authenticate(user) else None


def has_role(user: AbstractBaseUser | AnonymousUser, role: str) -> bool:
    """Return True if the user holds `role` or a higher one."""
    held = user_role(user)
    return held is not None and _RANK[held] >= _RANK[role]


def role_required(role: str) -> Callable[[ViewFunc], ViewFunc]:
    """Require login, then `role` or higher; raise PermissionDenied otherwise.

    The wrapped view carries `required_role`, so tests can check that every view
    declares one.
    """

    def decorator(view: ViewFunc) -> ViewFunc:
        @login_required
        @wraps(view)
        def wrapper(
            request: HttpRequest, *args: Any, **kwargs: Any
        ) -> HttpResponseBase:
            if not has_role(request.user, role):
                raise PermissionDenied(f"This needs the {role} role.")
            return view(request, *args, **kwargs)

        # Decorators applied on top copy this (functools.wraps), so a test can tell
        # which role every URL's view demands.
        wrapper.required_role = role  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorator
