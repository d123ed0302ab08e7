"""Every URL × anonymous/viewer/operator/admin gets the outcome the table decided."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from tests.migrations_app.url_table import (
    LOGIN,
    ROLES,
    TABLE,
    build_world,
    cases,
    endpoints,
)

pytestmark = pytest.mark.django_db


def outcome(response: Any) -> int | str:
    """Return LOGIN for a redirect to the sign-in page, else the status code."""
    if response.status_code == 302 and response["Location"].startswith(
        reverse("login")
    ):
        return LOGIN
    return response.status_code


def test_every_url_has_a_decision_for_every_role() -> None:
    # cases() fails naming any URL pattern missing from the table.
    found = cases()

    assert len(found) == 2 * len(endpoints())
    for endpoint, method in found:
        assert method in TABLE[endpoint.key], (endpoint.key, method)


def test_the_walk_covers_the_admin_site_and_every_app_url() -> None:
    keys = {endpoint.key for endpoint in endpoints()}

    assert {"admin:index", "admin:auth_user_change", "audit_list"} <= keys
    assert {"customer_list", "migration_cancel", "sku_mapping_edit"} <= keys


def test_each_role_gets_exactly_what_the_table_says(
    viewer: Any, operator: Any, admin_user: Any
) -> None:
    users = {"viewer": viewer, "operator": operator, "admin": admin_user}
    world = build_world(users)
    wrong = []

    def signed_in(role: str) -> Client:
        client = Client(raise_request_exception=False)
        if role != "anonymous":
            client.force_login(users[role])
        return client

    clients = {role: signed_in(role) for role in ROLES}
    for endpoint, method in cases():
        rule = TABLE[endpoint.key][method]
        url = endpoint.url(world)
        for role in ROLES:
            # Signing out ends the session: give those requests a client of their own.
            client = signed_in(role) if "logout" in endpoint.key else clients[role]
            send = client.get if method == "GET" else client.post
            response = send(url, {})
            got = outcome(response)
            if got != rule.expected(role):
                wrong.append(
                    f"{method} {url} as {role}: {got}, expected {rule.expected(role)}"
                )

    assert not wrong, "\n".join(wrong)


def test_roles_are_checked_by_the_view_not_only_hidden_in_templates(
    viewer: Any,
) -> None:
    client = Client()
    client.force_login(viewer)

    response = client.post(reverse("sync_request"), HTTP_HX_REQUEST="true")

    assert response.status_code == 403


# Views that must answer visitors who are not signed in.
PUBLIC_VIEWS = {"healthz", "login", "logout"}


def test_every_product_view_declares_its_role_with_role_required() -> None:
    undeclared = [
        endpoint.key
        for endpoint in endpoints()
        if not endpoint.key.startswith("admin")
        and endpoint.key not in PUBLIC_VIEWS
        and getattr(endpoint.view, "required_role", None)
        not in {"viewer", "operator", "admin"}
    ]

    assert not undeclared, f"views without role_required: {undeclared}"
