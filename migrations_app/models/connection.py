"""The Partner Center connection's health, as the client's calls report it.

Workers note each call's outcome here from the client hooks; the settings page
reads it back. The facts live in Redis (the Django cache), not in a table: a
success is written at most once a minute per process, a problem at once, and a
Redis that is down never fails a call.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.core.cache import cache

from migrations_app.models.secrets import refresh_token_times
from partner_center.classify import MFA_REQUIRED_CODE
from partner_center.errors import AuthError, MfaRequired, RefreshTokenExpired
from partner_center.records import CallRecord

logger = logging.getLogger(__name__)

KEY = "partner-center-health"
APP_OK = f"{KEY}:app-ok"
USER_OK = f"{KEY}:user-ok"
MFA = f"{KEY}:mfa"
PROBLEM = f"{KEY}:problem"
# How often one process writes a success it already wrote.
WRITE_EVERY_SECONDS = 60.0
# Partner Center's "Authentication failed. MFA required." (see partner_center.classify).
MFA_CODE = str(MFA_REQUIRED_CODE)

MFA_PROBLEM = "mfa"
REFRESH_PROBLEM = "refresh_token"
CREDENTIALS_PROBLEM = "credentials"

_written: dict[str, tuple[float, Any]] = {}
_written_lock = threading.Lock()


def _due(key: str, value: Any) -> bool:
    """Return True if this process should write `value` to `key` now."""
    now = time.monotonic()
    with _written_lock:
        last = _written.get(key)
        if (
            last is not None
            and last[1] == value
            and now - last[0] < WRITE_EVERY_SECONDS
        ):
            return False
        _written[key] = (now, value)
        return True


def _set(key: str, value: Any) -> None:
    try:
        cache.set(key, value, timeout=None)
    except Exception:  # health notes must never fail a call
        logger.debug("Could not note the Partner Center connection's health")


def connection_note_call(record: CallRecord, *, has_mfa_claim: bool | None) -> None:
    """Note one answered call: the last success per token kind, or an MFA refusal."""
    if record.status is None:
        return
    if record.status == 401 and record.error_code == MFA_CODE:
        connection_note_failure(MfaRequired())
        return
    if record.status >= 400:
        return
    now = time.time()
    key = USER_OK if record.app_user else APP_OK
    # Written at most once a minute, so a minute's precision is all it has.
    if _due(key, None):
        _set(key, now)
    if record.app_user and has_mfa_claim is not None and _due(MFA, has_mfa_claim):
        _set(MFA, has_mfa_claim)


def connection_note_failure(exc: AuthError) -> None:
    """Note that a sign-in failed (no MFA, refresh token gone, bad credentials)."""
    kind = (
        MFA_PROBLEM
        if isinstance(exc, MfaRequired)
        else REFRESH_PROBLEM
        if isinstance(exc, RefreshTokenExpired)
        else CREDENTIALS_PROBLEM
    )
    with _written_lock:
        # The next success must be written at once, to show the problem is over.
        _written.pop(USER_OK if kind != CREDENTIALS_PROBLEM else APP_OK, None)
    _set(PROBLEM, {"kind": kind, "at": time.time()})


def _when(value: Any) -> datetime | None:
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    return None


@dataclass(frozen=True)
class ConnectionHealth:
    """What the settings page shows about the Partner Center connection."""

    app_ok_at: datetime | None
    user_ok_at: datetime | None
    has_mfa_claim: bool | None
    problem: str  # "", MFA_PROBLEM, REFRESH_PROBLEM or CREDENTIALS_PROBLEM
    problem_at: datetime | None
    token_seeded_at: datetime | None
    token_rotated_at: datetime | None


def connection_health() -> ConnectionHealth:
    """Return the connection's last known health (one Redis read, one query)."""
    try:
        facts = cache.get_many([APP_OK, USER_OK, MFA, PROBLEM])
    except Exception:  # the page shows "unknown" instead
        facts = {}
    app_ok, user_ok = _when(facts.get(APP_OK)), _when(facts.get(USER_OK))
    noted = facts.get(PROBLEM)
    problem: dict[str, Any] = noted if isinstance(noted, dict) else {}
    kind = str(problem.get("kind") or "")
    problem_at = _when(problem.get("at"))
    cured_by = app_ok if kind == CREDENTIALS_PROBLEM else user_ok
    if problem_at is None or (cured_by is not None and cured_by > problem_at):
        kind, problem_at = "", None
    mfa = facts.get(MFA)
    seeded, rotated = refresh_token_times()
    return ConnectionHealth(
        app_ok_at=app_ok,
        user_ok_at=user_ok,
        has_mfa_claim=mfa if isinstance(mfa, bool) else None,
        problem=kind,
        problem_at=problem_at,
        token_seeded_at=seeded,
        token_rotated_at=rotated,
    )
