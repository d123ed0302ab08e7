"""Verify the hash-chained audit log; `audit_record` (the append) lives with the model."""

from __future__ import annotations

import fcntl
import hmac
import json
import logging
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from hub.models import (
    AuditChainHead,
    AuditEvent,
    AuditVerification,
    Outcome,
)
from hub.models.audit import (
    GENESIS_HASH,
    SYSTEM_ACTOR,
    audit_key,
    audit_record,
    legacy_chain_hash,
)

__all__ = ["KNOWN_ACTIONS", "SYSTEM_ACTOR", "audit_record", "client_ip"]

logger = logging.getLogger(__name__)


# The actions PartnerHub records, with the words the audit page uses for them.
# `audit_record` accepts any action name; these are the ones the product writes.
KNOWN_ACTIONS: dict[str, str] = {
    "login": "Signed in",
    "logout": "Signed out",
    "login_failed": "Failed sign-in",
    "lockout": "Account locked",
    "sync.requested": "Sync requested",
    "sync.completed": "Sync run",
    "sync.failed": "Sync failed",
    "migration.started": "Migration started",
    "migration.retried": "Migration retried",
    "migration.resumed": "Migration resumed",
    "migration.cancelled": "Migration cancelled",
    "migration.step_completed": "Migration step done",
    "migration.purchase_adopted": "Purchase adopted",
    "migration.completed": "Migration completed",
    "migration.failed": "Migration failed",
    "migration.needs_customer_action": "Needs customer action",
    "sku_mapping.updated": "SKU mapping changed",
    "invitation.link_requested": "Invitation link requested",
    "invitation.link_fetched": "Invitation link fetched",
    "invitation.link_failed": "Invitation link not fetched",
    "invitation.recorded": "Invitation recorded",
    "invitation.withdrawn": "Invitation withdrawn",
    "invitation.accepted": "Invitation accepted",
    "settings.changed": "Settings changed",
    "partner_center.write": "Partner Center write",
    "admin.added": "Added in admin",
    "admin.changed": "Changed in admin",
    "admin.deleted": "Deleted in admin",
    "audit.exported": "Audit log exported",
    "audit.verified": "Audit chain verified",
    "audit.verify_requested": "Audit verification requested",
    "user.added": "User added",
    "user.role_changed": "Role changed",
    "user.deactivated": "User deactivated",
    "user.reactivated": "User reactivated",
}


def client_ip(request: Any) -> str | None:
    """Return the caller's address as Django saw it (no proxy header guessing)."""
    return request.META.get("REMOTE_ADDR") or None


@dataclass(frozen=True)
class ChainVerification:
    """The outcome of one walk over the audit chain."""

    ok: bool
    events_checked: int
    message: str
    head_hash: str
    first_broken_event_id: int | None = None
    first_broken_at: datetime | None = None
    first_broken_action: str = ""
    last_event_id: int = 0


def _describe(event: AuditEvent) -> str:
    when = event.created_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
    return f"event {event.pk} ({when} UTC, {event.action})"


def _broken(
    event: AuditEvent, checked: int, head_hash: str, why: str
) -> ChainVerification:
    return ChainVerification(
        ok=False,
        events_checked=checked,
        message=f"The chain is broken at {_describe(event)}: {why}",
        head_hash=head_hash,
        first_broken_event_id=event.pk,
        first_broken_at=event.created_at,
        first_broken_action=event.action,
    )


class _ChainWalker:
    """Check events one by one, in id order, against the link before them."""

    def __init__(self) -> None:
        self.prev_hash = GENESIS_HASH
        self.last: AuditEvent | None = None
        self.checked = 0

    def check(self, event: AuditEvent) -> str:
        """Return why `event` breaks the chain, or "" if it links up."""
        self.checked += 1
        if event.prev_hash != self.prev_hash:
            if self.last is None:
                return "the first event does not start from the genesis hash."
            return (
                f"its previous-hash link does not match event {self.last.pk}; an "
                "event between them was deleted or inserted, or the one before it "
                "was altered and re-hashed."
            )
        if event.compute_hash(self.prev_hash) != event.hash:
            return "its content does not match its hash; the row was altered."
        self.prev_hash = event.hash
        self.last = event
        return ""


def audit_chain_walk(*, chunk_size: int = 2000) -> ChainVerification:
    """Walk the chain in id order and return the first break found, if any.

    Each event's hash is recomputed from its content and its `prev_hash` must equal
    the stored hash of the event before it (the first links to the genesis hash), so
    an edited, inserted or deleted row breaks the chain at or just after it. The
    head row then catches a removed tail: its last event, hash and count must match
    what the walk found.

    Rows are streamed, so memory does not grow with the log. The bulk of the walk
    runs without locks, up to the head read at the start; the few events appended
    meanwhile are walked with the head locked, so the final comparison with the
    head is exact and a row added behind the head's back is caught.
    """
    walker = _ChainWalker()
    start = AuditChainHead.objects.filter(pk=1).first() or AuditChainHead(pk=1)
    bulk = AuditEvent.objects.filter(pk__lte=start.last_event_id).order_by("pk")
    for event in bulk.iterator(chunk_size=chunk_size):
        if why := walker.check(event):
            return _broken(event, walker.checked, start.last_hash, why)
    with transaction.atomic():
        head = AuditChainHead.objects.select_for_update().filter(
            pk=1
        ).first() or AuditChainHead(pk=1)
        tail = AuditEvent.objects.filter(pk__gt=start.last_event_id).order_by("pk")
        for event in tail.iterator(chunk_size=chunk_size):
            if why := walker.check(event):
                return _broken(event, walker.checked, head.last_hash, why)
    last = walker.last
    last_id = last.pk if last is not None else 0
    problem = ""
    if last_id < head.last_event_id:
        if last is None:
            problem = (
                "no events were found but the head records event "
                f"{head.last_event_id}; the log was emptied."
            )
        else:
            problem = (
                f"the chain ends at {_describe(last)} but the head records event "
                f"{head.last_event_id}; the events after {last.pk} were removed."
            )
    elif last_id > head.last_event_id or walker.prev_hash != head.last_hash:
        problem = (
            f"the head records event {head.last_event_id} as the last one, but the "
            f"chain continues to event {last_id}; events were added or the head "
            "was changed outside PartnerHub."
        )
    elif walker.checked != head.event_count:
        problem = (
            f"the head counts {head.event_count} events but {walker.checked} were "
            "found."
        )
    if problem:
        return ChainVerification(
            ok=False,
            events_checked=walker.checked,
            message="The chain is broken: " + problem,
            head_hash=head.last_hash,
        )
    return ChainVerification(
        ok=True,
        events_checked=walker.checked,
        message=f"All {walker.checked} events link up; head hash {head.last_hash}.",
        head_hash=head.last_hash,
        last_event_id=last_id,
    )


# ---------------------------------------------------------------- checkpoint
#
# What the last good verification saw, kept outside the database: an intruder who
# empties or cuts the table and rewrites the head to match leaves a chain that
# links up, so only a record out of the database's reach can tell. Each good
# verification writes it (a file under var/, and a line in the log stream); the
# next one refuses fewer events or a different MAC at the recorded event.


@dataclass(frozen=True)
class ChainCheckpoint:
    """How far the chain was verified: events seen, and the last one's id and MAC."""

    events: int
    last_event_id: int
    last_mac: str
    checked_at: str

    def fields(self) -> dict[str, Any]:
        return {
            "events": self.events,
            "last_event_id": self.last_event_id,
            "last_mac": self.last_mac,
            "checked_at": self.checked_at,
        }

    def seal(self) -> str:
        """Return the MAC that makes the checkpoint itself unforgeable without the key."""
        text = json.dumps(self.fields(), sort_keys=True, separators=(",", ":"))
        return hmac.new(
            audit_key(), b"checkpoint\n" + text.encode(), "sha256"
        ).hexdigest()


class CheckpointUnreadable(Exception):
    """Raised when the checkpoint file exists but cannot be trusted."""


def _checkpoint_path() -> Path:
    return Path(settings.PARTNERHUB_AUDIT_CHECKPOINT_FILE)


def audit_checkpoint_read() -> ChainCheckpoint | None:
    """Return the last good verification's checkpoint, or None if there is none.

    Raise CheckpointUnreadable if the file is malformed or its seal does not match
    the key (it was edited, or written with another key).
    """
    path = _checkpoint_path()
    try:
        raw = path.read_text()
    except FileNotFoundError:
        return None
    try:
        data = json.loads(raw)
        checkpoint = ChainCheckpoint(
            events=int(data["events"]),
            last_event_id=int(data["last_event_id"]),
            last_mac=str(data["last_mac"]),
            checked_at=str(data["checked_at"]),
        )
        seal = str(data["seal"])
    except (ValueError, KeyError, TypeError) as exc:
        raise CheckpointUnreadable(
            f"the checkpoint file {path} is not valid ({exc.__class__.__name__})."
        ) from exc
    if not hmac.compare_digest(seal, checkpoint.seal()):
        raise CheckpointUnreadable(
            f"the checkpoint file {path} does not match the audit key; it was "
            "edited, or written with another PARTNERHUB_AUDIT_KEY."
        )
    return checkpoint


def _checkpoint_write(checkpoint: ChainCheckpoint) -> None:
    """Replace the checkpoint atomically, unless one on file saw more events.

    A lock serialises concurrent verifications, so a slow one that saw fewer
    events never lowers what a quicker one recorded.
    """
    path = _checkpoint_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            current = audit_checkpoint_read()
        except CheckpointUnreadable:
            current = None
        if current is not None and current.events > checkpoint.events:
            return
        draft = path.with_name(f".{path.name}.{os.getpid()}")
        draft.write_text(
            json.dumps({**checkpoint.fields(), "seal": checkpoint.seal()}, indent=1)
            + "\n"
        )
        os.replace(draft, path)


def _against_checkpoint(result: ChainVerification) -> str:
    """Return why an intact-looking chain falls short of the checkpoint, or ""."""
    try:
        checkpoint = audit_checkpoint_read()
    except CheckpointUnreadable as exc:
        return str(exc)
    if checkpoint is None:
        return ""
    when = checkpoint.checked_at
    if result.events_checked < checkpoint.events:
        if result.events_checked == 0:
            return (
                f"the log is empty, but the verification of {when} saw "
                f"{checkpoint.events} events up to event {checkpoint.last_event_id}; "
                "every event and the chain head were deleted (the log was wiped)."
            )
        return (
            f"the log holds {result.events_checked} events, but the verification "
            f"of {when} saw {checkpoint.events} up to event "
            f"{checkpoint.last_event_id}; events were removed (truncated) and the "
            "chain head rewritten to match."
        )
    if checkpoint.events == 0:
        return ""
    mac = (
        AuditEvent.objects.filter(pk=checkpoint.last_event_id)
        .values_list("hash", flat=True)
        .first()
    )
    if mac != checkpoint.last_mac:
        return (
            f"event {checkpoint.last_event_id} "
            + ("is missing" if mac is None else "has a different MAC")
            + f" than the verification of {when} recorded; the log was rewritten "
            "from there on."
        )
    return ""


def _checkpoint_log(result: ChainVerification, checkpoint: ChainCheckpoint) -> None:
    logger.info(
        "Audit chain verified: %d events, last event %d, last MAC %s (checkpoint %s)",
        checkpoint.events,
        checkpoint.last_event_id,
        checkpoint.last_mac,
        _checkpoint_path(),
    )


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
        if problem := _against_checkpoint(result):
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
            _checkpoint_write(checkpoint)
            _checkpoint_log(result, checkpoint)
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
