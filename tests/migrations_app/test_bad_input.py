"""Arbitrary values in every form and query string: never a 500, never a stray write.

Every URL of the role table is fuzzed with hypothesis as the least privileged role
allowed through its door. The fields come from the table and from the forms the
page itself renders. A response that refuses the input (4xx, or a form shown again
with 200) must leave every table as it was, apart from the audit log recording the
attempt and the sign-in throttle counting failures.
"""

from __future__ import annotations

import hashlib
from html.parser import HTMLParser
from typing import Any

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.apps import apps
from django.contrib.sessions.models import Session
from django.test import Client
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from migrations_app.models import AuditChainHead, AuditEvent
from tests.migrations_app.url_table import LOGIN, ROLES, TABLE, build_world, endpoints

pytestmark = pytest.mark.django_db

DENIED = {LOGIN, 403, 405}
# Tables a refused request may still write: the audit log records the attempt,
# sessions are touched by signing in, axes counts failed sign-ins.
ALWAYS_EXEMPT = {AuditEvent, AuditChainHead, Session}
SIGN_IN_EXEMPT = {AccessAttempt, AccessFailureLog, AccessLog}

NASTY = [
    "",
    " ",
    "0",
    "-1",
    "1.5",
    "1e309",
    "NaN",
    "9" * 30,
    "-9223372036854775809",
    "9223372036854775808",
    "null",
    "true",
    "[]",
    "{}",
    "\x00",
    "a\x00b",
    "' OR '1'='1",
    "1; DROP TABLE migrations_app_auditevent; --",
    "<script>alert(1)</script>",
    "../../etc/passwd",
    "%00",
    "%",
    "\\",
    "😀" * 3,
    "ǅ\u202e\u200b",
    "x" * 5000,
    "0000-00-00",
    "2026-02-30",
    "9999-12-31",
    "0001-01-01",
    "4f7c1a52-93a4-4e2a-9d0e-5a1c3d3b0c11",
    "00000000-0000-0000-0000-000000000000",
    "http://evil.example/",
    "//evil.example/",
    "javascript:alert(1)",
    '=HYPERLINK("x")',
]
values = st.one_of(st.sampled_from(NASTY), st.text(max_size=60))


class _FieldNames(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.names: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in {"input", "select", "textarea", "button"}:
            name = dict(attrs).get("name")
            if name and name != "csrfmiddlewaretoken":
                self.names.add(name)


def _field_names(html: str) -> set[str]:
    parser = _FieldNames()
    parser.feed(html)
    return parser.names


def _least_role(key: str, method: str) -> str | None:
    rule = TABLE[key][method]
    for role in ROLES:
        if rule.expected(role) not in DENIED:
            return role
    return None


def _fingerprint(exempt: set[type]) -> dict[str, str]:
    """Return a digest of every row of every table not exempt."""
    prints = {}
    for model in apps.get_models():
        if model in exempt or model._meta.proxy:
            continue
        digest = hashlib.sha256()
        for row in model._default_manager.order_by("pk").values_list():
            digest.update(repr(row).encode())
        prints[model._meta.label] = digest.hexdigest()
    return prints


def _cases() -> list[Any]:
    found = []
    for endpoint in endpoints():
        for method in ("GET", "POST"):
            rules = TABLE.get(endpoint.key, {})
            if method not in rules:
                continue  # the role matrix test reports URLs missing from the table
            role = _least_role(endpoint.key, method)
            if role is None:
                continue
            found.append(
                pytest.param(endpoint, method, role, id=f"{method} {endpoint.key}")
            )
    return found


@pytest.mark.parametrize(("endpoint", "method", "role"), _cases())
def test_arbitrary_input_never_errors_and_a_refusal_writes_nothing(
    endpoint: Any,
    method: str,
    role: str,
    viewer: Any,
    operator: Any,
    admin_user: Any,
) -> None:
    users = {"viewer": viewer, "operator": operator, "admin": admin_user}
    world = build_world(users)
    url = endpoint.url(world)
    client = Client(raise_request_exception=False)
    if role != "anonymous":
        client.force_login(users[role])
    page = client.get(url)
    names = set(TABLE[endpoint.key][method].fields)
    if "text/html" in page.get("Content-Type", ""):
        names |= _field_names(page.content.decode(errors="replace"))
    exempt = ALWAYS_EXEMPT | (SIGN_IN_EXEMPT if endpoint.key == "login" else set())
    keys = st.sampled_from(sorted(names)) if names else st.just("anything")
    payloads = st.dictionaries(
        st.one_of(keys, st.text(min_size=1, max_size=12)),
        st.one_of(values, st.lists(values, min_size=2, max_size=3)),
        max_size=len(names) + 2,
    )

    # The tables as the previous request left them (one digest per request).
    state = {"fingerprint": _fingerprint(exempt)}
    # The admin site is Django's own, fuzzed lightly; PartnerHub's pages fully.
    examples = 30 if names and not endpoint.key.startswith("admin") else 10

    @settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
        database=None,
    )
    @given(data=payloads)
    def check(data: dict[str, Any]) -> None:
        before = state["fingerprint"]
        send = client.get if method == "GET" else client.post
        response = send(url, data)
        assert response.status_code < 500, (method, url, data, response.status_code)
        refused = method == "GET" or response.status_code >= 400
        refused = refused or response.status_code == 200
        state["fingerprint"] = after = _fingerprint(exempt)
        if refused:
            assert after == before, (method, url, data)

    # Values that broke views before are always tried, in every field at once.
    for value in ("9" * 30, "-1", "a\x00b", "x" * 5000):
        check = example(data=dict.fromkeys(names or ["anything"], value))(check)
    check()
