"""Audit tasks: the daily walk over the hash chain."""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task

from migrations_app import task_names
from migrations_app.models.writes import pending_writes_close_stale
from migrations_app.services.audit import audit_chain_verify

__all__ = ["close_stale_pending_writes", "verify_audit_chain"]

# Far longer than any step waits before looking again (provisioning, backoff).
PENDING_WRITE_PATIENCE = timedelta(hours=6)


# A walk over a million events takes about a minute; allow far more than the
# default limits but stay under the broker's visibility timeout (one hour).
@shared_task(
    name=task_names.VERIFY_AUDIT_CHAIN,
    soft_time_limit=1800,
    time_limit=1900,
)
def verify_audit_chain() -> bool:
    """Verify the audit chain (beat runs this daily); return True if it is intact.

    The result is stored as an AuditVerification row, which the audit page shows.
    """
    return audit_chain_verify().ok


@shared_task(name=task_names.CLOSE_STALE_PENDING_WRITES, ignore_result=True)
def close_stale_pending_writes() -> int:
    """Give every write whose outcome nobody settled its audit event; return how many."""
    return pending_writes_close_stale(older_than=PENDING_WRITE_PATIENCE)
