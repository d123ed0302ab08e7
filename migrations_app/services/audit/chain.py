"""Walking the hash-chained audit log: each event's link and hash, then the head."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from django.db import transaction

from migrations_app.models import AuditChainHead, AuditEvent
from migrations_app.models.audit import GENESIS_HASH


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
