"""Failed and locked-out sign-ins are counted into the audit log: one event per
account and address per window, with how many attempts it stands for."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from migrations_app.models import AuditEvent, Outcome

pytestmark = pytest.mark.django_db

IP = "203.0.113.7"
OTHER_IP = "198.51.100.99"


def _sign_in(client: Client, username: str, password: str) -> Any:
    return client.post(reverse("login"), {"username": username, "password": password})


def _events(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("id"))


def _attempts(events: list[AuditEvent]) -> int:
    return sum(event.details["attempts"] for event in events)


def test_a_burst_of_failed_sign_ins_leaves_one_event_of_each_kind(
    operator: Any,
) -> None:
    client = Client(REMOTE_ADDR=IP)

    for _ in range(40):
        response = _sign_in(client, "operator", "wrong")
        assert response.status_code in {200, 429}

    failed, locked = _events("login_failed"), _events("lockout")
    assert len(failed) == 1
    assert len(locked) == 1
    assert (failed[0].actor, failed[0].ip_address, failed[0].outcome) == (
        "operator",
        IP,
        Outcome.FAILURE,
    )
    assert failed[0].details["attempts"] == 1
    assert "counted" in failed[0].message
    assert (locked[0].actor, locked[0].outcome) == ("operator", Outcome.DENIED)


def test_the_next_window_records_how_many_attempts_were_only_counted(
    operator: Any, settings: Any
) -> None:
    settings.PARTNERHUB_SIGNIN_AUDIT_WINDOW_SECONDS = 1
    settings.AXES_FAILURE_LIMIT = 100
    client = Client(REMOTE_ADDR=IP)
    for _ in range(7):
        _sign_in(client, "operator", "wrong")
    assert [e.details["attempts"] for e in _events("login_failed")] == [1]

    time.sleep(1.2)
    _sign_in(client, "operator", "wrong")

    failed = _events("login_failed")
    assert [e.details["attempts"] for e in failed] == [1, 7]
    assert "7 failed sign-ins for operator" in failed[1].message
    assert _attempts(failed) == 8


def test_a_successful_sign_in_records_the_failures_counted_before_it(
    operator: Any, settings: Any
) -> None:
    settings.AXES_FAILURE_LIMIT = 100
    client = Client(REMOTE_ADDR=IP)
    for _ in range(4):
        _sign_in(client, "operator", "wrong")

    response = _sign_in(client, "operator", "partnerhub")

    assert response.status_code == 302
    failed = _events("login_failed")
    assert [e.details["attempts"] for e in failed] == [1, 3]
    assert failed[1].id < _events("login")[0].id


def test_each_account_and_address_has_its_own_window(
    operator: Any, viewer: Any, settings: Any
) -> None:
    settings.AXES_FAILURE_LIMIT = 100
    for ip in (IP, OTHER_IP):
        client = Client(REMOTE_ADDR=ip)
        for username in ("operator", "viewer"):
            for _ in range(3):
                _sign_in(client, username, "wrong")

    pairs = sorted((e.actor, e.ip_address) for e in _events("login_failed"))
    assert pairs == [
        ("operator", OTHER_IP),
        ("operator", IP),
        ("viewer", OTHER_IP),
        ("viewer", IP),
    ]


def test_many_usernames_from_one_address_share_one_event_past_a_ceiling(
    db: Any, settings: Any
) -> None:
    settings.PARTNERHUB_SIGNIN_AUDIT_ACCOUNTS_PER_ADDRESS = 5
    client = Client(REMOTE_ADDR=IP)

    for n in range(60):
        _sign_in(client, f"guess{n}", "wrong")

    failed = _events("login_failed")
    assert len(failed) == 6
    assert [e.actor for e in failed[:5]] == [f"guess{n}" for n in range(5)]
    assert failed[5].actor == "(other accounts)"
    assert failed[5].details["attempts"] == 1


def test_sign_ins_are_still_recorded_when_redis_is_unreachable(
    operator: Any, settings: Any
) -> None:
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
        }
    }
    client = Client(REMOTE_ADDR=IP)

    response = _sign_in(client, "operator", "wrong")

    assert response.status_code == 200
    assert [e.details["attempts"] for e in _events("login_failed")] == [1]
