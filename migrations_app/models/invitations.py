"""Reseller relationship invitations: customers coming into CSP from another channel."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


def normalise_domain(value: str) -> str:
    """Return `value` as a domain is compared: trimmed, lower-case, no final dot."""
    return (value or "").strip().lower().removesuffix(".")


class InvitationStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    ACCEPTED = "accepted", "Accepted"
    WITHDRAWN = "withdrawn", "Withdrawn"


class ResellerInvitation(models.Model):
    """A reseller relationship request a reseller sent to a prospective customer.

    Partner Center does not say when a customer accepts; the invitation is marked
    accepted when a sync finds a reseller customer with its domain.
    """

    company_name = models.CharField(max_length=255)
    # Normalised with `normalise_domain`: the tenant's domain, or a custom domain
    # its users sign in with.
    domain = models.CharField(max_length=253, db_index=True)
    contact_email = models.EmailField(max_length=254, blank=True)
    note = models.TextField(blank=True)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    invited_at = models.DateTimeField(default=timezone.now, db_index=True)
    status = models.CharField(
        max_length=16,
        choices=InvitationStatus.choices,
        default=InvitationStatus.PENDING,
        db_index=True,
    )
    # When PartnerHub first saw the customer listed as a reseller customer.
    accepted_at = models.DateTimeField(null=True, blank=True)
    customer = models.ForeignKey(
        "migrations_app.Customer",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="invitations",
    )
    withdrawn_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    withdrawn_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-invited_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["domain"],
                condition=Q(status="pending"),
                name="one_pending_invitation_per_domain",
            )
        ]

    def __str__(self) -> str:
        return f"{self.company_name} ({self.domain})"

    @property
    def is_pending(self) -> bool:
        return self.status == InvitationStatus.PENDING


class InvitationLink(models.Model):
    """The partner's invitation link as a worker last fetched it; one row, pk 1.

    `requested_at` is set when someone asks for the link and `attempted_at` when a
    worker has finished trying; the page waits while the request is newer.
    """

    SINGLETON_PK = 1

    url = models.CharField(max_length=2048, blank=True)
    fetched_at = models.DateTimeField(null=True, blank=True)
    # The last attempt's failure in plain words; "" when it succeeded.
    error = models.TextField(blank=True)
    requested_at = models.DateTimeField(null=True, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    attempted_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.url or "No invitation link yet"

    @property
    def waiting(self) -> bool:
        """Return True while a request is newer than the worker's last attempt."""
        if self.requested_at is None:
            return False
        return self.attempted_at is None or self.attempted_at < self.requested_at
