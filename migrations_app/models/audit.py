"""The append-only, hash-chained audit log."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import uuid
from collections.abc import Callable
from datetime import UTC
from typing import Any, NoReturn, Protocol

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import ImproperlyConfigured
from django.db import models, transaction
from django.utils import timezone

GENESIS_HASH = "0" * 64

# Masks secrets in an event's text before it is stored. Models sit below the
# project package, so the project's redaction (partnerhub.logging) is installed
# from above, by the app's ready(); until then nothing can be written at all.
Redactor = Callable[[Any], Any]
_redactor: Redactor | None = None


def audit_redactor_install(redactor: Redactor) -> None:
    """Make `redactor` mask every message and detail `audit_record` stores."""
    global _redactor
    _redactor = redactor


def _redacted(value: Any) -> Any:
    """Return `value` redacted; raise ImproperlyConfigured if no redactor is set."""
    if _redactor is None:
        raise ImproperlyConfigured(
            "No audit redactor is installed (migrations_app's ready() installs it)."
        )
    return _redactor(value)


def audit_key() -> bytes:
    """Return the audit chain's HMAC key (`PARTNERHUB_AUDIT_KEY`), as bytes.

    The key lives in the environment, never in the database: someone who can
    write the audit table cannot compute a valid MAC for a row they forge.
    Raise ImproperlyConfigured if no key is configured.
    """
    key = getattr(settings, "PARTNERHUB_AUDIT_KEY", "")
    if not key:
        raise ImproperlyConfigured(
            "PARTNERHUB_AUDIT_KEY is not set: the audit chain needs a secret key."
        )
    return key.encode() if isinstance(key, str) else bytes(key)


def chain_mac(prev_hash: str, canonical: str, *, key: bytes | None = None) -> str:
    """Return HMAC-SHA256(key, prev_hash + newline + canonical), hex encoded."""
    payload = (prev_hash + "\n" + canonical).encode()
    return hmac.new(key or audit_key(), payload, hashlib.sha256).hexdigest()


def legacy_chain_hash(prev_hash: str, canonical: str) -> str:
    """Return the unkeyed SHA-256 link that events had before the chain was keyed.

    Only the one-time re-key (`manage.py audit_rekey`) reads it: anyone can compute it, so a chain of
    these proves nothing on its own.
    """
    return hashlib.sha256((prev_hash + "\n" + canonical).encode()).hexdigest()


class AuditLogIsAppendOnly(Exception):
    """Raised on any attempt to change or remove an audit event."""


class AuditEventQuerySet(models.QuerySet["AuditEvent"]):
    def update(self, **kwargs: Any) -> NoReturn:
        raise AuditLogIsAppendOnly("Audit events cannot be updated.")

    def delete(self) -> NoReturn:
        raise AuditLogIsAppendOnly("Audit events cannot be deleted.")

    def bulk_update(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise AuditLogIsAppendOnly("Audit events cannot be updated.")


class Outcome(models.TextChoices):
    SUCCESS = "success", "Success"
    FAILURE = "failure", "Failure"
    DENIED = "denied", "Denied"
    # A write whose answer was lost and that no read can settle (a cart).
    UNKNOWN = "unknown", "Outcome unknown"


class AuditEvent(models.Model):
    """Who did what, when, on what, with which Partner Center request."""

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    actor_id = models.IntegerField(null=True, blank=True)
    actor = models.CharField(max_length=150, db_index=True)
    action = models.CharField(max_length=64, db_index=True)
    outcome = models.CharField(
        max_length=16, choices=Outcome.choices, default=Outcome.SUCCESS, db_index=True
    )
    customer_tenant_id = models.CharField(max_length=64, blank=True, db_index=True)
    customer_name = models.CharField(max_length=255, blank=True)
    subscription_id = models.CharField(max_length=64, blank=True)
    migration_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    target_user_id = models.CharField(max_length=64, blank=True)
    message = models.TextField(blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    pc_method = models.CharField(max_length=8, blank=True)
    pc_path = models.CharField(max_length=512, blank=True)
    pc_status = models.IntegerField(null=True, blank=True)
    pc_request_id = models.CharField(max_length=64, blank=True, db_index=True)
    pc_correlation_id = models.CharField(max_length=64, blank=True)
    pc_duration_ms = models.IntegerField(null=True, blank=True)
    pc_error_code = models.CharField(max_length=32, blank=True)
    details = models.JSONField(default=dict, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["customer_tenant_id", "-id"]),
            models.Index(fields=["action", "-id"]),
            models.Index(fields=["actor", "-id"]),
            models.Index(fields=["migration_id", "-id"]),
            models.Index(fields=["outcome", "-id"], name="auditevent_outcome_id"),
        ]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.actor} {self.action}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AuditLogIsAppendOnly("Audit events cannot be updated.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise AuditLogIsAppendOnly("Audit events cannot be deleted.")

    HASHED_FIELDS = (
        "created_at",
        "actor_id",
        "actor",
        "action",
        "outcome",
        "customer_tenant_id",
        "customer_name",
        "subscription_id",
        "migration_id",
        "target_user_id",
        "message",
        "ip_address",
        "pc_method",
        "pc_path",
        "pc_status",
        "pc_request_id",
        "pc_correlation_id",
        "pc_duration_ms",
        "pc_error_code",
        "details",
    )

    def canonical(self) -> str:
        """Return the canonical JSON text that this event's hash covers."""
        data: dict[str, Any] = {}
        for name in self.HASHED_FIELDS:
            value = getattr(self, name)
            if name == "created_at":
                value = value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            data[name] = value
        return json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)

    def compute_hash(self, prev_hash: str, *, key: bytes | None = None) -> str:
        """Return this event's MAC: HMAC-SHA256 of prev_hash and the canonical
        form, keyed with `PARTNERHUB_AUDIT_KEY` (or `key`), hex encoded."""
        return chain_mac(prev_hash, self.canonical(), key=key)


class AuditChainHead(models.Model):
    """The chain's newest link: detects truncation and serialises appends."""

    last_event_id = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default=GENESIS_HASH)
    event_count = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"Audit chain head at event {self.last_event_id}"


class AuditVerification(models.Model):
    """The result of one walk over the chain (`audit_verify`)."""

    checked_at = models.DateTimeField(default=timezone.now)
    ok = models.BooleanField()
    events_checked = models.BigIntegerField(default=0)
    first_broken_event_id = models.BigIntegerField(null=True, blank=True)
    message = models.TextField(blank=True)
    # HMAC over the fields above with the audit key: a row written or edited
    # with SQL (say `ok` set to true) does not carry a seal that holds.
    seal = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        ordering = ["-checked_at"]

    def __str__(self) -> str:
        return f"Audit verification {self.checked_at:%Y-%m-%d %H:%M} ok={self.ok}"

    def compute_seal(self, *, key: bytes | None = None) -> str:
        """Return the HMAC-SHA256 (hex) of this result's fields under the audit key."""
        fields = {
            "checked_at": self.checked_at.astimezone(UTC).strftime(
                "%Y-%m-%dT%H:%M:%S.%fZ"
            ),
            "ok": bool(self.ok),
            "events_checked": self.events_checked,
            "first_broken_event_id": self.first_broken_event_id,
            "message": self.message,
        }
        text = json.dumps(fields, sort_keys=True, separators=(",", ":"))
        return hmac.new(
            key or audit_key(), b"verification\n" + text.encode(), hashlib.sha256
        ).hexdigest()

    def seal_holds(self) -> bool:
        """Return True if the stored seal matches the row, i.e. PartnerHub wrote it."""
        return bool(self.seal) and hmac.compare_digest(self.seal, self.compute_seal())


# ---------------------------------------------------------------- appending

SYSTEM_ACTOR = "system"
# "/customers/{id}/subscriptions/{id}" and the like, in a Partner Center path.
_PATH_IDS = re.compile(r"/(customers|subscriptions|users)/([^/?#]+)")


class PartnerCenterCall(Protocol):
    """What the audit log keeps of one Partner Center HTTP call."""

    @property
    def method(self) -> str: ...
    @property
    def path(self) -> str: ...
    @property
    def status(self) -> int | None: ...
    @property
    def request_id(self) -> str: ...
    @property
    def correlation_id(self) -> str: ...
    @property
    def duration_ms(self) -> float: ...
    @property
    def error_code(self) -> str | None: ...


def audit_record(
    *,
    action: str,
    actor: AbstractBaseUser | AnonymousUser | None = None,
    actor_label: str = "",
    outcome: str = Outcome.SUCCESS,
    customer_tenant_id: str = "",
    customer_name: str = "",
    subscription_id: str = "",
    migration_id: int | None = None,
    target_user_id: str = "",
    message: str = "",
    ip_address: str | None = None,
    call: PartnerCenterCall | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event to the chain and return it.

    The chain head row is locked for the append so concurrent writers (web and
    workers) link their events one after another. The time is taken under that
    lock and never goes back from the previous event's, so time order and id order
    agree (a clock a few milliseconds behind on another host is clamped forward);
    the audit page turns date ranges into id ranges because of this.
    Messages and details are redacted: a secret or token that reaches this
    function is stored masked.
    """
    if actor is not None and getattr(actor, "is_authenticated", False):
        actor_id: int | None = actor.pk
        label = actor_label or actor.get_username()
    else:
        actor_id = None
        label = actor_label or SYSTEM_ACTOR
    event = AuditEvent(
        created_at=timezone.now(),
        actor_id=actor_id,
        actor=label[:150],
        action=action,
        outcome=outcome,
        customer_tenant_id=_canonical_tenant_id(customer_tenant_id),
        customer_name=customer_name[:255],
        subscription_id=str(subscription_id or ""),
        migration_id=migration_id,
        target_user_id=str(target_user_id or ""),
        message=_redacted(message),
        ip_address=ip_address or None,
        details=_redacted(details or {}),
    )
    if call is not None:
        _take_call(event, call)
    _append(event)
    return event


def _take_call(event: AuditEvent, call: PartnerCenterCall) -> None:
    """Copy what the audit log keeps of a Partner Center call onto `event`."""
    operation = getattr(call, "operation", None)
    if operation and "operation" not in event.details:
        # What the call did, as the client method that made it says.
        event.details = {**event.details, "operation": str(operation)}
    event.pc_method = call.method
    event.pc_path = _redacted(call.path)[:512]
    event.pc_status = call.status
    event.pc_request_id = str(call.request_id or "")
    event.pc_correlation_id = str(call.correlation_id or "")
    event.pc_duration_ms = round(call.duration_ms)
    event.pc_error_code = str(call.error_code or "")
    # A write's path names what it touched; fill what the caller left out.
    found = dict(_PATH_IDS.findall(call.path))
    # Only a UUID names a customer: "/customers/relationshiprequests" and
    # the like are collections, not tenants.
    if not event.customer_tenant_id and _is_uuid(found.get("customers", "")):
        event.customer_tenant_id = _canonical_tenant_id(found["customers"])
    if not event.subscription_id and found.get("subscriptions"):
        event.subscription_id = found["subscriptions"][:64]
    if not event.target_user_id and found.get("users"):
        event.target_user_id = found["users"][:64]


def _append(event: AuditEvent) -> None:
    """Link `event` to the head and save it, under the head's row lock."""
    with transaction.atomic():
        head, _ = AuditChainHead.objects.select_for_update().get_or_create(pk=1)
        previous_at = (
            AuditEvent.objects.filter(pk=head.last_event_id)
            .values_list("created_at", flat=True)
            .first()
        )
        now = timezone.now()
        event.created_at = max(now, previous_at) if previous_at else now
        event.prev_hash = head.last_hash
        event.hash = event.compute_hash(head.last_hash)
        event.save(force_insert=True)
        AuditChainHead.objects.filter(pk=1).update(
            last_event_id=event.pk,
            last_hash=event.hash,
            event_count=head.event_count + 1,
        )


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _canonical_tenant_id(value: Any) -> str:
    """Return a tenant id as lowercase hyphenated text, so filters match one form."""
    text = str(value or "").strip()
    try:
        return str(uuid.UUID(text))
    except ValueError:
        return text[:64]
