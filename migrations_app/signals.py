"""The app's signal receivers: sign-ins audited, the customer list's facts kept.

Audit every sign-in and sign-out; count failed and locked-out sign-ins.

A failed or locked-out sign-in can be sent by anyone, as often as they like, so it
is not one audit event per attempt: the first attempt for an account from an
address writes an event, the attempts after it within the window
(``PARTNERHUB_SIGNIN_AUDIT_WINDOW_SECONDS``) are only counted in Redis, and the next
event for that account and address carries how many there were, as does a
successful sign-in that follows them. Past ``PARTNERHUB_SIGNIN_AUDIT_ACCOUNTS_PER_ADDRESS``
accounts from one address in a window, further accounts share one bucket, so
trying many usernames does not write one event each either. django-axes keeps its
own per-attempt record (the admin's Sign-in lockouts) whatever is logged here.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from typing import Any

from axes.signals import user_locked_out
from django.apps import apps
from django.conf import settings
from django.contrib.auth.models import User
from django.contrib.auth.signals import (
    user_logged_in,
    user_logged_out,
    user_login_failed,
)
from django.core.cache import cache
from django.db.models.signals import post_delete, post_migrate, post_save
from django.dispatch import receiver
from redis.exceptions import RedisError

from migrations_app.domain import customer_facts as facts
from migrations_app.models import (
    CustomerUser,
    Migration,
    Offer,
    Outcome,
    SkuMapping,
    SkuMappingTarget,
    Subscription,
)
from migrations_app.models.catalog import ProductSku
from migrations_app.services.audit import audit_record, client_ip
from migrations_app.services.users import user_sessions_end
from migrations_app.workflow.events import migration_completed

logger = logging.getLogger(__name__)

USERNAME_MAX_LENGTH = 150
# The actor of the shared bucket of accounts past the per-address ceiling.
OTHER_ACCOUNTS = "(other accounts)"
# Attempts counted but not yet logged are kept this long without a new attempt.
_PENDING_SECONDS = 30 * 24 * 3600
_KEY_PREFIX = "audit-signin"


@dataclass(frozen=True)
class _Due:
    """An event to write: how many attempts it covers, under which actor."""

    attempts: int
    actor: str


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:24]


def _bucket(action: str, ip: str, actor: str) -> str:
    return f"{_KEY_PREFIX}:{action}:{ip}:{_digest(actor)}"


def _take_pending(pending_key: str, counted: int) -> None:
    """Subtract the attempts just logged, keeping any counted meanwhile."""
    cache.decr(pending_key, counted)


def _count_attempt(action: str, username: str, ip: str) -> _Due | None:
    """Count one attempt; return the event to write now, or None if it waits.

    Raise RedisError if Redis cannot be reached (the caller logs the attempt).
    """
    window = settings.PARTNERHUB_SIGNIN_AUDIT_WINDOW_SECONDS
    actor = username or "anonymous"
    key = _bucket(action, ip, actor)
    if cache.get(f"{key}:open") is None:
        # A new window for this account; past the ceiling, it joins the shared one.
        accounts_key = f"{_KEY_PREFIX}:{action}:{ip}:accounts"
        cache.add(accounts_key, 0, timeout=window)
        if (
            cache.incr(accounts_key)
            > settings.PARTNERHUB_SIGNIN_AUDIT_ACCOUNTS_PER_ADDRESS
        ):
            actor = OTHER_ACCOUNTS
            key = _bucket(action, ip, actor)
    pending_key = f"{key}:pending"
    cache.add(pending_key, 0, timeout=_PENDING_SECONDS)
    pending = cache.incr(pending_key)
    cache.touch(pending_key, _PENDING_SECONDS)
    if not cache.add(f"{key}:open", 1, timeout=window):
        return None
    _take_pending(pending_key, pending)
    return _Due(attempts=pending, actor=actor)


def _flush_pending(action: str, username: str, ip: str) -> int:
    """Return the attempts counted but not logged for this account and address,
    and forget them."""
    pending_key = f"{_bucket(action, ip, username or 'anonymous')}:pending"
    pending = cache.get(pending_key) or 0
    if pending:
        _take_pending(pending_key, pending)
    return int(pending)


def _window_minutes() -> int:
    return max(1, round(settings.PARTNERHUB_SIGNIN_AUDIT_WINDOW_SECONDS / 60))


def _failed_message(actor: str, attempts: int, *, before_sign_in: bool) -> str:
    who = "other accounts" if actor == OTHER_ACCOUNTS else actor
    if before_sign_in:
        return (
            f"{attempts} failed sign-in{'s' if attempts != 1 else ''} for {who} "
            "from this address before this sign-in, counted since the last event "
            "for this account and address."
        )
    if attempts == 1:
        return (
            f"Failed sign-in for {who}. Further failed sign-ins for this account "
            f"from this address in the next {_window_minutes()} minutes are "
            "counted, and the count is recorded with the next such event."
        )
    return (
        f"{attempts} failed sign-ins for {who} from this address since the last "
        "event for this account and address."
    )


def _lockout_message(actor: str, attempts: int) -> str:
    who = "Other accounts" if actor == OTHER_ACCOUNTS else actor
    text = f"{who} is locked after repeated failed sign-ins."
    if attempts == 1:
        return (
            f"{text} Further attempts while locked in the next {_window_minutes()} "
            "minutes are counted, and the count is recorded with the next such "
            "event."
        )
    return (
        f"{text} {attempts} attempts while locked from this address since the "
        "last event for this account and address."
    )


def _due_or_every_time(action: str, username: str, ip: str) -> _Due | None:
    try:
        return _count_attempt(action, username, ip)
    except (RedisError, ValueError) as exc:
        # Without the counter, every attempt is logged rather than none.
        logger.warning(
            "Sign-in attempts cannot be counted (%s); logging this one on its own.",
            type(exc).__name__,
        )
        return _Due(attempts=1, actor=username or "anonymous")


def _ip(request: Any) -> str | None:
    return client_ip(request) if request is not None else None


@receiver(user_logged_in)
def audit_login(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    ip = _ip(request)
    username = user.get_username()[:USERNAME_MAX_LENGTH]
    try:
        pending = _flush_pending("login_failed", username, ip or "-")
    except (RedisError, ValueError):
        pending = 0
    if pending:
        audit_record(
            action="login_failed",
            actor_label=username,
            outcome=Outcome.FAILURE,
            message=_failed_message(username, pending, before_sign_in=True),
            ip_address=ip,
            details={"attempts": pending},
        )
    audit_record(
        action="login",
        actor=user,
        message=f"{user.get_username()} signed in.",
        ip_address=ip,
    )


@receiver(user_logged_out)
def audit_logout(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if user is None:
        return
    audit_record(
        action="logout",
        actor=user,
        message=f"{user.get_username()} signed out.",
        ip_address=_ip(request),
    )


@receiver(user_login_failed)
def audit_login_failed(
    sender: Any, credentials: dict[str, Any], request: Any = None, **kwargs: Any
) -> None:
    username = str(credentials.get("username", ""))[:USERNAME_MAX_LENGTH]
    ip = _ip(request)
    due = _due_or_every_time("login_failed", username, ip or "-")
    if due is None:
        return
    audit_record(
        action="login_failed",
        actor_label=due.actor,
        outcome=Outcome.FAILURE,
        message=_failed_message(due.actor, due.attempts, before_sign_in=False),
        ip_address=ip,
        details={
            "attempts": due.attempts,
            "window_seconds": settings.PARTNERHUB_SIGNIN_AUDIT_WINDOW_SECONDS,
        },
    )


@receiver(user_locked_out)
def audit_lockout(
    sender: Any, request: Any = None, username: str = "", **kwargs: Any
) -> None:
    username = str(username or "")[:USERNAME_MAX_LENGTH]
    ip = _ip(request) or kwargs.get("ip_address")
    due = _due_or_every_time("lockout", username, ip or "-")
    if due is None:
        return
    audit_record(
        action="lockout",
        actor_label=due.actor,
        outcome=Outcome.DENIED,
        message=_lockout_message(due.actor, due.attempts),
        ip_address=ip,
        details={
            "attempts": due.attempts,
            "window_seconds": settings.PARTNERHUB_SIGNIN_AUDIT_WINDOW_SECONDS,
        },
    )


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


# ---------------------------------------------------------------- customer facts
# The customer list's facts (`migrations_app.domain.customer_facts`) follow every
# row saved one at a time and every migration the engine completes.
migration_completed.connect(
    facts.migration_completed, sender=Migration, dispatch_uid="facts-migration-done"
)
# Saves only: a deletion comes from the sync (which refreshes after it) or a
# customer's own deletion, and a delete receiver would make every bulk delete of
# subscriptions load its rows.
for _rows in (Subscription, CustomerUser):
    post_save.connect(
        facts.customer_rows_saved,
        sender=_rows,
        dispatch_uid=f"customer-facts-{_rows.__name__}",
    )
# A mapping decides what is retired; the catalogue's rows and the targets only
# change what the shared index holds. The sync writes offers and SKUs in bulk and
# announces that itself, so their deletions get no receiver here: one would make
# every bulk delete of stale offers load them and signal once per row.
post_save.connect(
    facts.mapping_changed, sender=SkuMapping, dispatch_uid="facts-mapping-saved"
)
post_delete.connect(
    facts.mapping_changed, sender=SkuMapping, dispatch_uid="facts-mapping-deleted"
)
post_delete.connect(
    facts.catalogue_row_changed,
    sender=SkuMappingTarget,
    dispatch_uid="catalogue-target-deleted",
)
for _model in (SkuMappingTarget, Offer, ProductSku):
    post_save.connect(
        facts.catalogue_row_changed,
        sender=_model,
        dispatch_uid=f"catalogue-saved-{_model.__name__}",
    )
# A database carried over from before the facts existed gets them once its
# migrations have run (see 0021).
post_migrate.connect(
    facts.facts_fill_after_migrate,
    sender=apps.get_app_config("migrations_app"),
    dispatch_uid="facts-fill",
)


@receiver(post_save, sender=User)
def end_sessions_of_inactive_user(
    sender: Any, instance: User, update_fields: Any = None, **kwargs: Any
) -> None:
    """End every session of a user saved inactive, whichever page deactivated them."""
    if instance.is_active:
        return
    if update_fields is not None and "is_active" not in update_fields:
        return
    user_sessions_end(instance)
