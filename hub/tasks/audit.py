"""Audit tasks: the daily walk over the hash chain."""

from __future__ import annotations

from celery import shared_task

from hub.services.audit import audit_chain_verify

__all__ = ["verify_audit_chain"]


# A walk over a million events takes about a minute; allow far more than the
# default limits but stay under the broker's visibility timeout (one hour).
@shared_task(
    name="hub.tasks.verify_audit_chain",
    soft_time_limit=1800,
    time_limit=1900,
)
def verify_audit_chain() -> bool:
    """Verify the audit chain (beat runs this daily); return True if it is intact.

    The result is stored as an AuditVerification row, which the audit page shows.
    """
    return audit_chain_verify().ok
