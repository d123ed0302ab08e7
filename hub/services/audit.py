"""Append events to the hash-chained audit log, and verify the chain."""

from __future__ import annotations

import logging
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import transaction
from django.utils import timezone

from hub.models import (
    AuditChainHead,
    AuditEvent,
    AuditVerification,
    Outcome,
)
from hub.models.audit import GENESIS_HASH
from partnerhub.logging import redact, redact_value

logger = logging.getLogger(__name__)

SYSTEM_ACTOR = "system"
# "/customers/{id}/subscriptions/{id}" and the like, in a Partner Center path.
_PATH_IDS = re.compile(r"/(customers|subscriptions|users)/([^/?#]+)")

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
}


class PartnerCenterCall(Protocol):
    """What the audit log keeps of one Partner Center HTTP call."""

    @property
    def method(self) -> str: ...
    @property
    def path(self) -> str: ...
    @property
    def status(self) -> int | None: ...
    @property
    def request_id(self) -> str: ...
    @property
    def correlation_id(self) -> str: ...
    @property
    def duration_ms(self) -> float: ...
    @property
    def error_code(self) -> str | None: ...


def audit_record(
    *,
    action: str,
    actor: AbstractBaseUser | AnonymousUser | None = None,
    actor_label: str = "",
    outcome: str = Outcome.SUCCESS,
    customer_tenant_id: str = "",
    customer_name: str = "",
    subscription_id: str = "",
    migration_id: int | None = None,
    target_user_id: str = "",
    message: str = "",
    ip_address: str | None = None,
    call: PartnerCenterCall | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event to the chain and return it.

    The chain head row is locked for the append so concurrent writers (web and
    workers) link their events one after another. The time is taken under that
    lock and never goes back from the previous event's, so time order and id order
    agree (a clock a few milliseconds behind on another host is clamped forward);
    the audit page turns date ranges into id ranges because of this.
    Messages and details are redacted: a secret or token that reaches this
    function is stored masked.
    """
    if actor is not None and getattr(actor, "is_authenticated", False):
        actor_id: int | None = actor.pk
        label = actor_label or actor.get_username()
    else:
        actor_id = None
        label = actor_label or SYSTEM_ACTOR
    event = AuditEvent(
        created_at=timezone.now(),
        actor_id=actor_id,
        actor=label[:150],
        action=action,
        outcome=outcome,
        customer_tenant_id=_canonical_tenant_id(customer_tenant_id),
        customer_name=customer_name[:255],
        subscription_id=str(subscription_id or ""),
        migration_id=migration_id,
        target_user_id=str(target_user_id or ""),
        message=redact(message),
        ip_address=ip_address or None,
        details=redact_value(details or {}),
    )
    if call is not None:
        event.pc_method = call.method
        event.pc_path = redact(call.path)[:512]
        event.pc_status = call.status
        event.pc_request_id = str(call.request_id or "")
        event.pc_correlation_id = str(call.correlation_id or "")
        event.pc_duration_ms = round(call.duration_ms)
        event.pc_error_code = str(call.error_code or "")
        # A write's path names what it touched; fill what the caller left out.
        found = dict(_PATH_IDS.findall(call.path))
        # Only a UUID names a customer: "/customers/relationshiprequests" and
        # the like are collections, not tenants.
        if not event.customer_tenant_id and _is_uuid(found.get("customers", "")):
            event.customer_tenant_id = _canonical_tenant_id(found["customers"])
        if not event.subscription_id and found.get("subscriptions"):
            event.subscription_id = found["subscriptions"][:64]
        if not event.target_user_id and found.get("users"):
            event.target_user_id = found["users"][:64]
    with transaction.atomic():
        head, _ = AuditChainHead.objects.select_for_update().get_or_create(pk=1)
        previous_at = (
            AuditEvent.objects.filter(pk=head.last_event_id)
            .values_list("created_at", flat=True)
            .first()
        )
        now = timezone.now()
        event.created_at = max(now, previous_at) if previous_at else now
        event.prev_hash = head.last_hash
        event.hash = event.compute_hash(head.last_hash)
        event.save(force_insert=True)
        AuditChainHead.objects.filter(pk=1).update(
            last_event_id=event.pk,
            last_hash=event.hash,
            event_count=head.event_count + 1,
        )
    return event


def client_ip(request: Any) -> str | None:
    """Return the caller's address as Django saw it (no proxy header guessing)."""
    return request.META.get("REMOTE_ADDR") or None


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _canonical_tenant_id(value: Any) -> str:
    """Return a tenant id as lowercase hyphenated text, so filters match one form."""
    text = str(value or "").strip()
    try:
        return str(uuid.UUID(text))
    except ValueError:
        return text[:64]


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
    )


def audit_chain_verify(*, chunk_size: int = 2000) -> AuditVerification:
    """Walk the chain, store the result as an AuditVerification row and return it.

    A broken chain is also logged at ERROR and leaves an `audit.verified` event with
    outcome failure; an intact one leaves a success event.
    """
    started = timezone.now()
    result = audit_chain_walk(chunk_size=chunk_size)
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
