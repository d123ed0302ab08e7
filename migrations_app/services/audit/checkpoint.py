"""Checkpoints of the audit chain: what each good verification saw, sealed.

What the last good verification saw, kept outside the database: an intruder who
empties or cuts the table and rewrites the head to match leaves a chain that
links up, so only a record out of the database's reach can tell. Each good
verification writes it (a file under var/, and a line in the log stream); the
next one refuses fewer events or a different MAC at the recorded event.
"""

from __future__ import annotations

import fcntl
import hmac
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings

from migrations_app.models import AuditEvent
from migrations_app.models.audit import audit_key
from migrations_app.services.audit.chain import ChainVerification

# The package's logger name, as before it was split into modules.
logger = logging.getLogger("migrations_app.services.audit")


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


def checkpoint_write(checkpoint: ChainCheckpoint) -> None:
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


def against_checkpoint(result: ChainVerification) -> str:
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


def checkpoint_log(result: ChainVerification, checkpoint: ChainCheckpoint) -> None:
    logger.info(
        "Audit chain verified: %d events, last event %d, last MAC %s (checkpoint %s)",
        checkpoint.events,
        checkpoint.last_event_id,
        checkpoint.last_mac,
        _checkpoint_path(),
    )
