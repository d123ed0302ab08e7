"""Notifications: one row per event, written before anything is sent.

The row is the record that an event was noticed and whether each channel (email,
webhook) took it, so an event is never announced twice and a failed send is tried
again by beat, never by the code that caused the event.
"""

from __future__ import annotations

from datetime import datetime

from django.db import models
from django.db.models import Q


class Notification(models.Model):
    """One event to announce: a migration that ended, or a weekly digest."""

    class Kind(models.TextChoices):
        MIGRATION_COMPLETED = "completed", "Migration completed"
        MIGRATION_FAILED = "failed", "Migration failed"
        MIGRATION_NEEDS_CUSTOMER_ACTION = (
            "needs_customer_action",
            "Migration needs customer action",
        )
        WEEKLY_DIGEST = "weekly_digest", "Weekly renewal digest"

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting to be sent"
        SENDING = "sending", "Being sent"
        SENT = "sent", "Sent"
        FAILED = "failed", "Gave up"
        SKIPPED = "skipped", "Nobody to send it to"

    # Unique per event (e.g. `migration:12:failed:<finished_at>`): the second
    # writer of the same event gets an IntegrityError, not a second notification.
    key = models.CharField(max_length=200, unique=True)
    kind = models.CharField(max_length=32, choices=Kind.choices)
    migration = models.ForeignKey(
        "migrations_app.Migration",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="notifications",
    )
    # When the event happened: the migration's `finished_at`, the digest's week.
    occurred_at = models.DateTimeField()
    subject = models.CharField(max_length=255)
    body = models.TextField()
    recipients = models.JSONField(default=list, blank=True)
    # Whether the configured webhook should get it too.
    webhook = models.BooleanField(default=False)
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    email_sent_at = models.DateTimeField(null=True, blank=True)
    webhook_sent_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    # What the last failed attempt said (never the webhook's URL: it is a secret).
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["migration", "kind", "occurred_at"],
                name="notification_event",
            ),
            models.Index(fields=["status", "next_attempt_at"], name="notification_due"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.status})"

    @property
    def email_due(self) -> bool:
        return bool(self.recipients) and self.email_sent_at is None

    @property
    def webhook_due(self) -> bool:
        return self.webhook and self.webhook_sent_at is None

    @classmethod
    def claimable_q(cls, now: datetime) -> Q:
        """Match rows a worker may send now: pending and due, or left `sending`
        by a worker that died (its lease ran out)."""
        due = Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
        return (Q(status=cls.Status.PENDING) & due) | Q(
            status=cls.Status.SENDING, lease_expires_at__lte=now
        )
