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
    CheckpointUnreadable,
    against_checkpoint,
    audit_checkpoint_read,
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


def audit_keyed_chain_evidence() -> str:
    """Return what shows that a keyed chain was verified here before, or "".

    The checkpoint file (outside the database; present, even unreadable) or a
    good verification result whose seal holds (only the key makes one). Once
    either exists, unkeyed links can only mean the chain was rewritten without
    the key, never a database from before the key.
    """
    try:
        checkpoint = audit_checkpoint_read()
    except CheckpointUnreadable:
        return "a checkpoint file exists (though it cannot be read)"
    if checkpoint is not None:
        return f"the checkpoint file records a keyed chain verified {checkpoint.checked_at}"
    for verification in AuditVerification.objects.filter(ok=True).order_by("pk"):
        if verification.seal_holds():
            when = verification.checked_at.astimezone(UTC)
            return (
                f"a sealed verification of {when:%Y-%m-%d %H:%M:%S} UTC found a "
                "keyed chain intact"
            )
    return ""


def _legacy_advice(result: ChainVerification) -> ChainVerification:
    """Return `result` with what unkeyed links mean here: an upgrade or a forgery."""
    evidence = audit_keyed_chain_evidence()
    if evidence:
        advice = (
            " The chain carries unkeyed SHA-256 links, but "
            + evidence
            + ": the links were rewritten without the key. Do not run "
            "`manage.py audit_rekey`; restore the audit tables from a backup and "
            "find out who wrote to the database."
        )
    else:
        advice = (
            " The chain starts with unkeyed SHA-256 links from before "
            "PARTNERHUB_AUDIT_KEY. If this database was upgraded from such a "
            "version, `manage.py audit_rekey --unkeyed-upgrade --legacy-head "
            "<the head hash the old version's audit_verify printed>` keys it; "
            "otherwise the links were rewritten and must not be re-keyed."
        )
    return ChainVerification(
        ok=False,
        events_checked=result.events_checked,
        message=result.message + advice,
        head_hash=result.head_hash,
        first_broken_event_id=result.first_broken_event_id,
        first_broken_at=result.first_broken_at,
        first_broken_action=result.first_broken_action,
    )


def audit_chain_verify(*, chunk_size: int = 2000) -> AuditVerification:
    """Walk the chain, store the result as an AuditVerification row and return it.

    An intact chain must also hold at least as many events as the last good
    verification's checkpoint (outside the database) recorded, with the same MAC
    at the event it recorded; if it does, the checkpoint moves forward and a line
    with the count and the last MAC goes to the log stream. The stored result is
    sealed with the audit key. A broken chain is also logged at ERROR and leaves
    an `audit.verified` event with outcome failure; an intact one a success event.
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
        result = _legacy_advice(result)
    verification = AuditVerification(
        checked_at=started,
        ok=result.ok,
        events_checked=result.events_checked,
        first_broken_event_id=result.first_broken_event_id,
        message=result.message,
    )
    verification.seal = verification.compute_seal()
    verification.save(force_insert=True)
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
