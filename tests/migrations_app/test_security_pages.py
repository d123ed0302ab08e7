"""CSRF on every POST (htmx included) and a strict CSP on every page, URL by URL."""

from __future__ import annotations

import re
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
)

pytestmark = pytest.mark.django_db

DENIED = {LOGIN, 403, 405}
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\ssrc=)[^>]*>", re.IGNORECASE)
INLINE_STYLE_ATTR = re.compile(r"<[^>]+\sstyle\s*=", re.IGNORECASE)
STYLE_BLOCK = re.compile(r"<style[\s>]", re.IGNORECASE)
EVENT_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.IGNORECASE)
HTMX_INLINE = re.compile(r"\shx-on[:\-]|\shx-vars=|javascript:|js:", re.IGNORECASE)


@pytest.fixture
def users(viewer: Any, operator: Any, admin_user: Any) -> dict[str, Any]:
    return {"viewer": viewer, "operator": operator, "admin": admin_user}


def _client(role: str, users: dict[str, Any], **kwargs: Any) -> Client:
    client = Client(raise_request_exception=False, **kwargs)
    if role != "anonymous":
        client.force_login(users[role])
    return client


def _first_allowed_role(key: str, method: str) -> str | None:
    rule = TABLE[key][method]
    for role in ROLES:
        if rule.expected(role) not in DENIED:
            return role
    return None


def _csrf_token(client: Client, role: str) -> str:
    client.get(reverse("login") if role == "anonymous" else reverse("audit_list"))
    return client.cookies["csrftoken"].value


def test_every_post_is_refused_without_a_csrf_token_and_accepted_with_the_htmx_header(
    users: dict[str, Any],
) -> None:
    world = build_world(users)
    checked = []
    wrong = []

    for endpoint, method in cases():
        role = _first_allowed_role(endpoint.key, method) if method == "POST" else None
        if role is None:
            continue
        url = endpoint.url(world)
        expected = TABLE[endpoint.key][method].expected(role)
        client = _client(role, users, enforce_csrf_checks=True)
        token = _csrf_token(client, role)

        refused = client.post(url, {})
        accepted = client.post(url, {}, HTTP_X_CSRFTOKEN=token, HTTP_HX_REQUEST="true")

        checked.append(endpoint.key)
        if refused.status_code != 403 or b"CSRF" not in refused.content:
            wrong.append(f"{url}: {refused.status_code} without a CSRF token")
        if accepted.status_code == 403:
            wrong.append(f"{url}: 403 with the CSRF header (expected {expected})")

    assert not wrong, "\n".join(wrong)
    assert {"login", "sync_request", "migration_cancel", "sku_mapping_edit"} <= set(
        checked
    )


def _csp_problems(response: Any) -> list[str]:
    policy = response.get("Content-Security-Policy", "")
    problems = []
    if not policy:
        problems.append("no Content-Security-Policy header")
    if "unsafe-inline" in policy or "unsafe-eval" in policy:
        problems.append(f"unsafe policy: {policy}")
    if "script-src 'self'" not in policy or "object-src 'none'" not in policy:
        problems.append(f"weak policy: {policy}")
    return problems


def _inline_code(html: str) -> list[str]:
    found = []
    for name, pattern in (
        ("inline <script>", INLINE_SCRIPT),
        ("style attribute", INLINE_STYLE_ATTR),
        ("<style> block", STYLE_BLOCK),
        ("event handler attribute", EVENT_HANDLER),
        ("inline htmx/js code", HTMX_INLINE),
    ):
        for match in pattern.finditer(html):
            found.append(f"{name}: {html[match.start() : match.end() + 40]!r}")
    return found


def test_every_response_carries_a_csp_without_unsafe_inline(
    users: dict[str, Any],
) -> None:
    world = build_world(users)
    clients = {role: _client(role, users) for role in ROLES}
    wrong = []

    for endpoint, method in cases():
        if method != "GET":
            continue
        url = endpoint.url(world)
        for role in ROLES:
            response = clients[role].get(url)
            wrong.extend(f"{url} as {role}: {p}" for p in _csp_problems(response))

    assert not wrong, "\n".join(wrong)


def test_no_page_contains_inline_script_or_style(users: dict[str, Any]) -> None:
    world = build_world(users)
    wrong = []
    pages = 0

    for endpoint, method in cases():
        if method != "GET":
            continue
        role = _first_allowed_role(endpoint.key, method)
        if role is None:
            continue
        response = _client(role, users).get(url := endpoint.url(world))
        if "text/html" not in response.get("Content-Type", ""):
            continue
        pages += 1
        wrong.extend(f"{url}: {p}" for p in _inline_code(response.content.decode()))

    assert pages >= 40
    assert not wrong, "\n".join(wrong)
