"""Users & roles: admins list people, give each one role, add and deactivate them."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import URLPattern, path
from django.views.decorators.http import require_GET, require_POST

import migrations_app.converters  # noqa: F401  (registers the `bigint` path converter)
from migrations_app.roles import ADMIN, ROLES, role_required
from migrations_app.services.audit import client_ip
from migrations_app.services.users import (
    UserChangeRefused,
    UsernameTaken,
    user_create,
    user_set_active,
    user_set_role,
    username_normalised,
    username_taken,
)

ROLE_CHOICES = [
    ("viewer", "Viewer: reads everything"),
    ("operator", "Operator: + plans, starts and operates migrations"),
    ("admin", "Admin: + SKU mappings, users and settings"),
]


class UserAddForm(forms.Form):
    username = forms.RegexField(
        max_length=150,
        regex=r"^[\w.@+-]+$",
        error_messages={"invalid": "Letters, digits and @ . + - _ only."},
    )
    email = forms.EmailField(required=False)
    role = forms.ChoiceField(choices=ROLE_CHOICES, initial="viewer")
    password = forms.CharField(
        widget=forms.PasswordInput, strip=False, label="Initial password"
    )

    def clean_username(self) -> str:
        # Compared as it will be stored: fullwidth "admin" is "admin" once normalised.
        name = username_normalised(self.cleaned_data["username"])
        if username_taken(name):
            raise ValidationError("Someone already has this username.")
        return name


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=[(role, role) for role in ROLES])


def _rows() -> list[dict[str, Any]]:
    users = User.objects.order_by("username").prefetch_related("groups")
    rows = []
    for user in users:
        names = {group.name for group in user.groups.all()}
        role = next((r for r in reversed(ROLES) if r in names), None)
        if user.is_superuser:
            role = ADMIN
        rows.append({"user": user, "role": role})
    return rows


def _page(request: HttpRequest, form: UserAddForm, status: int = 200) -> HttpResponse:
    context = {"rows": _rows(), "form": form, "role_choices": ROLE_CHOICES}
    return render(request, "users/list.html", context, status=status)


@require_GET
@role_required(ADMIN)
def user_list(request: HttpRequest) -> HttpResponse:
    """List every user with their one role, and the form to add one."""
    return _page(request, UserAddForm())


@role_required(ADMIN)
@require_POST
def user_add(request: HttpRequest) -> HttpResponse:
    """Add a user with one role (audited); errors come back on the page."""
    form = UserAddForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            user_create(
                username=data["username"],
                email=data["email"],
                role=data["role"],
                password=data["password"],
                actor=request.user,
                ip_address=client_ip(request),
            )
        except ValidationError as exc:
            form.add_error("password", exc)
        except UsernameTaken as exc:
            form.add_error("username", str(exc))
        except UserChangeRefused as exc:
            form.add_error("role", str(exc))
        else:
            messages.success(request, f"Added {data['username']} as {data['role']}.")
            return redirect("user_list")
    return _page(request, form)


@role_required(ADMIN)
@require_POST
def user_role_change(request: HttpRequest, pk: int) -> HttpResponse:
    """Give one user exactly one role (audited)."""
    user = get_object_or_404(User, pk=pk)
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose viewer, operator or admin.")
        return redirect("user_list")
    role = form.cleaned_data["role"]
    try:
        changed = user_set_role(
            user=user, role=role, actor=request.user, ip_address=client_ip(request)
        )
    except UserChangeRefused as exc:
        messages.error(request, str(exc))
    else:
        if changed:
            messages.success(request, f"{user.get_username()} is now {role}.")
    return redirect("user_list")


@role_required(ADMIN)
@require_POST
def user_active_change(request: HttpRequest, pk: int) -> HttpResponse:
    """Deactivate (active=0) or reactivate (active=1) one user (audited)."""
    user = get_object_or_404(User, pk=pk)
    active = request.POST.get("active") == "1"
    try:
        changed = user_set_active(
            user=user, active=active, actor=request.user, ip_address=client_ip(request)
        )
    except UserChangeRefused as exc:
        messages.error(request, str(exc))
    else:
        if changed:
            verb = "reactivated" if active else "deactivated"
            messages.success(request, f"{user.get_username()} was {verb}.")
    return redirect("user_list")


urlpatterns: list[URLPattern] = [
    path("settings/users/", user_list, name="user_list"),
    path("settings/users/add/", user_add, name="user_add"),
    path("settings/users/<bigint:pk>/role/", user_role_change, name="user_role"),
    path("settings/users/<bigint:pk>/active/", user_active_change, name="user_active"),
]
