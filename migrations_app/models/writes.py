"""Partner Center writes recorded before they are sent, until their outcome is known.

The client reports a write's intent before sending it; the row is written then,
outside any transaction of the caller's. When the answer arrives, or when a later
read-back (reconcile, licence check, subscription read) learns whether the write
took effect, the row is turned into exactly one audit event and removed. A row
nobody settles is closed by beat as "outcome unknown" once its migration is
over. So every write Partner
Center applied has exactly one audit event, even if the worker died mid-call.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone

from migrations_app.models.audit import Outcome, audit_record


class PendingWrite(models.Model):
    """A write sent (or about to be) whose audit event is not written yet."""

    request_id = models.CharField(max_length=64, unique=True)
    correlation_id = models.CharField(max_length=64, blank=True)
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=512)
    operation = models.CharField(max_length=64, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    customer_tenant_id = models.CharField(max_length=64, blank=True)
    customer_name = models.CharField(max_length=255, blank=True)
    migration_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"{self.method} {self.path} ({self.request_id})"


def pending_write_open(
    *,
    request_id: str,
    correlation_id: str,
    method: str,
    path: str,
    operation: str,
    actor: Any = None,
    customer: Any = None,
    migration_id: int | None = None,
) -> None:
    """Record a write about to be sent (again, for a resend of the same request)."""
    PendingWrite.objects.get_or_create(
        request_id=request_id,
        defaults={
            "correlation_id": correlation_id,
            "method": method,
            "path": path[:512],
            "operation": operation[:64],
            "actor": actor if getattr(actor, "is_authenticated", False) else None,
            "customer_tenant_id": str(customer.tenant_id) if customer else "",
            "customer_name": customer.company_name if customer else "",
            "migration_id": migration_id,
        },
    )


def pending_write_settle(
    request_id: str | None,
    *,
    outcome: str,
    message: str,
    call: Any = None,
    fallback: dict[str, Any] | None = None,
) -> bool:
    """Turn the pending write `request_id` into its one audit event; return True.

    Return False, writing nothing, when no such write is pending: it was settled
    already (by its answer or by a read-back) or never recorded. `fallback` gives
    the event's attribution when there is no pending row but `call` must still be
    audited (a write whose intent hook was not wired).
    """
    if not request_id:
        return False
    with transaction.atomic():
        row = (
            PendingWrite.objects.select_for_update()
            .filter(request_id=request_id)
            .first()
        )
        if row is None and fallback is None:
            return False
        attribution = (
            {
                "actor": row.actor,
                "customer_tenant_id": row.customer_tenant_id,
                "customer_name": row.customer_name,
                "migration_id": row.migration_id,
            }
            if row is not None
            else fallback or {}
        )
        details = {"operation": row.operation} if row and row.operation else {}
        if call is None and row is not None:
            details.update(
                method=row.method,
                path=row.path,
                request_id=row.request_id,
                correlation_id=row.correlation_id,
            )
        audit_record(
            action="partner_center.write",
            outcome=outcome,
            message=message,
            call=call or (_RowCall(row) if row is not None else None),
            details=details,
            **attribution,
        )
        if row is not None:
            row.delete()
    return True


class _RowCall:
    """A pending write seen as the call the audit log records (no answer read)."""

    def __init__(self, row: PendingWrite) -> None:
        self.method = row.method
        self.path = row.path
        self.status: int | None = None
        self.request_id = row.request_id
        self.correlation_id = row.correlation_id
        self.duration_ms = 0.0
        self.error_code: str | None = None


OUTCOME_APPLIED = Outcome.SUCCESS
OUTCOME_NOT_APPLIED = Outcome.FAILURE


def pending_writes_close_stale(*, older_than: timedelta, limit: int = 500) -> int:
    """Audit, as outcome unknown, pending writes no read-back settled in time.

    A write stays pending while its answer is unknown; the step that sent it
    settles it when it next looks, so a row of a migration still in progress is
    left open (and visible). One left longer than `older_than` with nothing that
    will look again (its migration ended, or it has none) gets its one audit
    event here — outcome unknown, never "not applied", which only a read can
    prove. Return how many were closed.
    """
    from migrations_app.models.migration import TERMINAL_STATES, Migration

    cutoff = timezone.now() - older_than
    live = Migration.objects.exclude(state__in=TERMINAL_STATES).values("pk")
    closed = 0
    stale = (
        PendingWrite.objects.filter(created_at__lte=cutoff)
        .exclude(migration_id__in=live)
        .values_list("request_id", flat=True)
    )
    for request_id in stale[:limit]:
        closed += pending_write_settle(
            request_id,
            outcome=Outcome.UNKNOWN,
            message="Sent, but its answer was never read and nothing has checked "
            "since whether it took effect: check it in Partner Center.",
        )
    return closed
