"""Invariant 5: no Partner Center call inside a web request, on any URL."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tests.migrations_app.url_table import build_world, cases

pytestmark = pytest.mark.django_db


def v1_requests(sandbox: Any) -> list[str]:
    return [
        f"{r['method']} {r['path']}"
        for r in sandbox.state()["requests"]
        if r["path"].startswith("/v1")
    ]


def test_no_page_or_action_calls_partner_center_during_the_request(
    sandbox: Any, operator: Any, admin_user: Any, viewer: Any
) -> None:
    world = build_world({"viewer": viewer, "operator": operator, "admin": admin_user})
    before = v1_requests(sandbox)
    sent = 0
    for user in (operator, admin_user):
        client = Client(raise_request_exception=False)
        client.force_login(user)
        for endpoint, method in cases():
            if "logout" in endpoint.key:
                continue
            url = endpoint.url(world)
            if method == "GET":
                client.get(url)
            else:
                client.post(url, {})
            sent += 1

    assert sent > 50
    assert v1_requests(sandbox) == before


def test_the_check_sees_a_partner_center_call_when_one_is_made(
    sandbox: Any,
) -> None:
    from migrations_app.workflow.pc import partner_center_client

    before = v1_requests(sandbox)
    next(partner_center_client().iter_customers())

    assert v1_requests(sandbox) != before
