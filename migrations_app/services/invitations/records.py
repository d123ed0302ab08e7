"""Recording, withdrawing and accepting reseller invitations (each one audited)."""

from __future__ import annotations

import logging
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from migrations_app.models import InvitationStatus, ResellerInvitation
from migrations_app.models.invitations import normalise_domain
from migrations_app.services.audit import audit_record
from migrations_app.services.invitations.reads import customers_for_domains

# The package's logger name, as before it was split into modules.
logger = logging.getLogger("migrations_app.services.invitations")


class InvitationRefused(Exception):
    """The invitation cannot be recorded or changed; `message` says why."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def invitation_record(
    *,
    company_name: str,
    domain: str,
    contact_email: str = "",
    note: str = "",
    actor: Any,
    ip_address: str | None = None,
) -> ResellerInvitation:
    """Record that an invitation was sent, audit it and return it.

    Raise InvitationRefused if an invitation to the same domain is still pending,
    or if that domain already belongs to a reseller customer.
    """
    domain = normalise_domain(domain)
    existing = customers_for_domains([domain]).get(domain)
    if existing is not None:
        raise InvitationRefused(
            f"{domain} already belongs to {existing.customer.company_name}, which "
            "is already your reseller customer: no invitation is needed. Provision "
            "its subscriptions from its customer page."
        )
    pending = _pending_for(domain)
    if pending is not None:
        raise InvitationRefused(_duplicate_message(pending))
    try:
        with transaction.atomic():
            invitation = ResellerInvitation.objects.create(
                company_name=company_name,
                domain=domain,
                contact_email=contact_email,
                note=note,
                invited_by=actor if getattr(actor, "is_authenticated", False) else None,
            )
    except IntegrityError as exc:
        # Someone recorded the same domain a moment ago (the partial unique index).
        pending = _pending_for(domain)
        if pending is None:
            raise
        raise InvitationRefused(_duplicate_message(pending)) from exc
    audit_record(
        action="invitation.recorded",
        actor=actor,
        ip_address=ip_address,
        customer_name=company_name,
        message=f"Recorded a reseller invitation sent to {company_name} ({domain}).",
        details={
            "invitation_id": invitation.pk,
            "domain": domain,
            "contact_email": contact_email,
        },
    )
    return invitation


def _pending_for(domain: str) -> ResellerInvitation | None:
    return (
        ResellerInvitation.objects.select_related("invited_by")
        .filter(domain=domain, status=InvitationStatus.PENDING)
        .first()
    )


def _duplicate_message(pending: ResellerInvitation) -> str:
    who = pending.invited_by.get_username() if pending.invited_by else "someone"
    when = timezone.localtime(pending.invited_at)
    return (
        f"An invitation to {pending.domain} ({pending.company_name}) is already "
        f"pending, recorded by {who} on {when:%b} {when.day}, {when:%Y}. "
        "Withdraw it first if you sent a new one."
    )


def invitation_withdraw(
    *, invitation_id: int, actor: Any, ip_address: str | None = None
) -> ResellerInvitation:
    """Mark a pending invitation withdrawn, audit it and return it.

    Raise ResellerInvitation.DoesNotExist if there is no such invitation, and
    InvitationRefused if it is no longer pending.
    """
    invitation = ResellerInvitation.objects.get(pk=invitation_id)
    now = timezone.now()
    changed = ResellerInvitation.objects.filter(
        pk=invitation.pk, status=InvitationStatus.PENDING
    ).update(
        status=InvitationStatus.WITHDRAWN,
        withdrawn_at=now,
        withdrawn_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    invitation.refresh_from_db()
    if not changed:
        raise InvitationRefused(
            f"The invitation to {invitation.domain} is already "
            f"{invitation.get_status_display().lower()}; nothing was changed."
        )
    audit_record(
        action="invitation.withdrawn",
        actor=actor,
        ip_address=ip_address,
        customer_name=invitation.company_name,
        message=(
            f"Withdrew the reseller invitation to {invitation.company_name} "
            f"({invitation.domain})."
        ),
        details={"invitation_id": invitation.pk, "domain": invitation.domain},
    )
    return invitation


def invitations_match_customers() -> list[ResellerInvitation]:
    """Mark pending invitations accepted whose customer is now a reseller customer.

    Each one gets its customer and `accepted_at`, and one `invitation.accepted`
    audit event; return those accepted by this call. Safe to run concurrently: an
    invitation is claimed with a conditional UPDATE, so it is accepted only once.
    """
    pending = list(ResellerInvitation.objects.filter(status=InvitationStatus.PENDING))
    if not pending:
        return []
    matches = customers_for_domains(inv.domain for inv in pending)
    accepted = []
    for invitation in pending:
        match = matches.get(invitation.domain)
        if match is None:
            continue
        now = timezone.now()
        claimed = ResellerInvitation.objects.filter(
            pk=invitation.pk, status=InvitationStatus.PENDING
        ).update(
            status=InvitationStatus.ACCEPTED, customer=match.customer, accepted_at=now
        )
        if not claimed:
            continue
        invitation.status = InvitationStatus.ACCEPTED
        invitation.customer = match.customer
        invitation.accepted_at = now
        customer = match.customer
        audit_record(
            action="invitation.accepted",
            customer_tenant_id=str(customer.tenant_id),
            customer_name=customer.company_name,
            message=(
                f"{customer.company_name} accepted the reseller invitation sent to "
                f"{invitation.domain}: Partner Center now lists it as a reseller "
                "customer."
            ),
            details={
                "invitation_id": invitation.pk,
                "domain": invitation.domain,
                "matched_by": match.matched_by,
            },
        )
        accepted.append(invitation)
    return accepted


def invitations_match_after_sync() -> int:
    """Run `invitations_match_customers` and return how many were accepted.

    Never raise: a failure here is logged and must not fail the sync that calls it.
    """
    try:
        # A savepoint, so a database error here leaves an outer transaction usable.
        with transaction.atomic():
            return len(invitations_match_customers())
    except Exception:
        logger.exception("Matching reseller invitations to customers failed")
        return 0
