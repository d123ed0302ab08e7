"""Append events to the hash-chained audit log."""

from __future__ import annotations

from typing import Any, Protocol

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import transaction
from django.utils import timezone

from migrations_app.models import AuditChainHead, AuditEvent, Outcome

SYSTEM_ACTOR = "system"


class PartnerCenterCall(Protocol):
    """What the audit log keeps of one Partner Center HTTP call."""

    method: str
    path: str
    status: int | None
    request_id: str
    correlation_id: str
    duration_ms: int | float
    error_code: str | None


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
    workers) link their events one after another.
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
        customer_tenant_id=str(customer_tenant_id or ""),
        customer_name=customer_name[:255],
        subscription_id=str(subscription_id or ""),
        migration_id=migration_id,
        target_user_id=str(target_user_id or ""),
        message=message,
        ip_address=ip_address or None,
        details=details or {},
    )
    if call is not None:
        event.pc_method = call.method
        event.pc_path = call.path[:512]
        event.pc_status = call.status
        event.pc_request_id = str(call.request_id or "")
        event.pc_correlation_id = str(call.correlation_id or "")
        event.pc_duration_ms = round(call.duration_ms)
        event.pc_error_code = str(call.error_code or "")
    with transaction.atomic():
        head, _ = AuditChainHead.objects.select_for_update().get_or_create(pk=1)
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
