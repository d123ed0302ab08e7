"""The append-only, hash-chained audit log."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC
from typing import Any, NoReturn

from django.db import models
from django.utils import timezone

GENESIS_HASH = "0" * 64


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

    def compute_hash(self, prev_hash: str) -> str:
        """Return sha256(prev_hash + canonical form), hex encoded."""
        payload = (prev_hash + "\n" + self.canonical()).encode()
        return hashlib.sha256(payload).hexdigest()


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

    class Meta:
        ordering = ["-checked_at"]

    def __str__(self) -> str:
        return f"Audit verification {self.checked_at:%Y-%m-%d %H:%M} ok={self.ok}"
