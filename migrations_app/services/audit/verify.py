"""Verifying the audit log: the walk, the checkpoint, the stored result and its event."""

from __future__ import annotations

import logging
from datetime import UTC

from django.utils import timezone

from migrations_app.models import AuditEvent, AuditVerification, Outcome
from migrations_app.models.audit import GENESIS_HASH, audit_record, legacy_chain_hash
from migrations_app.services.audit.chain import ChainVerification, audit_chain_walk
from migrations_app.services.audit.checkpoint import (
    ChainCheckpoint,
    against_checkpoint,
    checkpoint_log,
    checkpoint_write,
)

# The package's logger name, as before it was split into modules.
logger = logging.getLogger("migrations_app.services.audit")


def audit_chain_is_legacy() -> bool:
    """Return True if the first event carries an unkeyed SHA-256 link (a chain
    written before PARTNERHUB_AUDIT_KEY; `manage.py audit_rekey` keys it)."""
    first = AuditEvent.objects.order_by("pk").first()
    if first is None:
        return False
    return first.hash == legacy_chain_hash(GENESIS_HASH, first.canonical())


def audit_chain_verify(*, chunk_size: int = 2000) -> AuditVerification:
    """Walk the chain, store the result as an AuditVerification row and return it.

    An intact chain must also hold at least as many events as the last good
    verification's checkpoint (outside the database) recorded, with the same MAC
    at the event it recorded; if it does, the checkpoint moves forward and a line
    with the count and the last MAC goes to the log stream. A broken chain is also logged at ERROR and leaves an `audit.verified` event with
    outcome failure; an intact one leaves a success event.
    """
    started = timezone.now()
    result = audit_chain_walk(chunk_size=chunk_size)
    if result.ok:
        if problem := against_checkpoint(result):
            result = ChainVerification(
                ok=False,
                events_checked=result.events_checked,
                message="The chain is broken: " + problem,
                head_hash=result.head_hash,
            )
        else:
            checkpoint = ChainCheckpoint(
                events=result.events_checked,
                last_event_id=result.last_event_id,
                last_mac=result.head_hash,
                checked_at=started.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
            )
            checkpoint_write(checkpoint)
            checkpoint_log(result, checkpoint)
    if not result.ok and audit_chain_is_legacy():
        result = ChainVerification(
            ok=False,
            events_checked=result.events_checked,
            message=result.message
            + " The chain starts with unkeyed SHA-256 links from before "
            "PARTNERHUB_AUDIT_KEY: after upgrading, run `manage.py audit_rekey` once.",
            head_hash=result.head_hash,
            first_broken_event_id=result.first_broken_event_id,
            first_broken_at=result.first_broken_at,
            first_broken_action=result.first_broken_action,
        )
    verification = AuditVerification.objects.create(
        checked_at=started,
        ok=result.ok,
        events_checked=result.events_checked,
        first_broken_event_id=result.first_broken_event_id,
        message=result.message,
    )
    if not result.ok:
        logger.error("Audit chain verification failed: %s", result.message)
    audit_record(
        action="audit.verified",
        outcome=Outcome.SUCCESS if result.ok else Outcome.FAILURE,
        message=result.message,
        details={
            "verification_id": verification.pk,
            "events_checked": result.events_checked,
            "first_broken_event_id": result.first_broken_event_id,
        },
    )
    return verification
