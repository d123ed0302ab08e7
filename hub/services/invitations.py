"""Reseller invitations: the partner's invitation link, and customers who accepted.

Moving a customer from another channel into CSP starts with a reseller relationship
request (the partner's invitation link). Partner Center documents no signal for the
customer's acceptance; the customer simply appears in `GET /customers` with
`relationshipToPartner: "reseller"`. So every sync ends by matching the pending
invitations against the synced reseller customers, by domain.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import IntegrityError, transaction
from django.db.models import Case, Count, IntegerField, QuerySet, Value, When
from django.db.models.functions import Lower
from django.utils import timezone

from hub.models import (
    Customer,
    CustomerUser,
    InvitationLink,
    InvitationStatus,
    Outcome,
    ResellerInvitation,
)
from hub.models.invitations import normalise_domain
from hub.services.audit import audit_record
from hub.workflow.enqueue import send_on_commit
from hub.workflow.pc import partner_center_client
from partner_center.client import CallRecord
from partner_center.errors import (
    AuthError,
    MalformedResponse,
    PartnerCenterError,
    PermanentError,
    Throttled,
    TransientError,
)

logger = logging.getLogger(__name__)

FETCH_LINK_TASK = "hub.tasks.fetch_invitation_link"

RESELLER = "reseller"
# A requested link no worker has fetched after this long is reported as stuck
# instead of being waited for (polled) for ever.
LINK_PATIENCE = timedelta(minutes=10)
_DOMAIN_CHUNK = 500
_LINK_URL = URLValidator(schemes=["https"])


class InvitationRefused(Exception):
    """The invitation cannot be recorded or changed; `message` says why."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class CustomerMatch:
    """A reseller customer found for a domain, and how it was found."""

    customer: Customer
    # "domain": the customer's own domain; "user domain": its users sign in with it.
    matched_by: str


# ----------------------------------------------------------------------- reads


def invitation_link_current() -> InvitationLink | None:
    """Return the stored invitation link row, or None if nobody asked for it yet."""
    return InvitationLink.objects.filter(pk=InvitationLink.SINGLETON_PK).first()


def invitation_link_stuck(link: InvitationLink | None) -> bool:
    """Return True if a request has waited longer than any worker should take."""
    if link is None or not link.waiting or link.requested_at is None:
        return False
    return timezone.now() - link.requested_at >= LINK_PATIENCE


def invitation_list_queryset() -> QuerySet[ResellerInvitation]:
    """Return every invitation, pending ones first, then newest first."""
    return (
        ResellerInvitation.objects.select_related(
            "invited_by", "withdrawn_by", "customer"
        )
        .annotate(
            pending_first=Case(
                When(status=InvitationStatus.PENDING, then=Value(0)),
                default=Value(1),
                output_field=IntegerField(),
            )
        )
        .order_by("pending_first", "-invited_at", "-id")
    )


def invitation_counts() -> dict[str, int]:
    """Return the number of invitations per status, and the total."""
    counts = dict.fromkeys(InvitationStatus.values, 0)
    rows = (
        ResellerInvitation.objects.order_by()
        .values_list("status")
        .annotate(n=Count("id"))
    )
    for status, n in rows:
        counts[status] = n
    counts["total"] = sum(counts.values())
    return counts


def customers_for_domains(domains: Iterable[str]) -> dict[str, CustomerMatch]:
    """Return the reseller customer each domain belongs to, where one is known.

    A domain matches a synced customer whose own domain it is, or else the one
    customer whose users sign in with it (a custom domain is verified in a single
    tenant). A domain several customers' users share is left unmatched.
    """
    wanted = sorted({normalise_domain(d) for d in domains if d})
    found: dict[str, CustomerMatch] = {}
    resellers = Customer.objects.filter(relationship_to_partner__iexact=RESELLER)
    for start in range(0, len(wanted), _DOMAIN_CHUNK):
        chunk = wanted[start : start + _DOMAIN_CHUNK]
        rows = (
            resellers.annotate(domain_key=Lower("domain"))
            .filter(domain_key__in=chunk)
            .order_by("pk")
        )
        for customer in rows:
            key = customer.domain_key
            found.setdefault(key, CustomerMatch(customer, "domain"))
    for domain in wanted:
        if domain in found:
            continue
        owners = list(
            CustomerUser.objects.filter(
                user_principal_name__iendswith=f"@{domain}",
                customer__relationship_to_partner__iexact=RESELLER,
            )
            .values_list("customer_id", flat=True)
            .distinct()
            .order_by("customer_id")[:2]
        )
        if len(owners) == 1:
            found[domain] = CustomerMatch(
                Customer.objects.get(pk=owners[0]), "user domain"
            )
        elif owners:
            logger.warning(
                "Invitation domain %s is used by several customers' users; "
                "left pending",
                domain,
            )
    return found


# ---------------------------------------------------------------- invitations


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


# ------------------------------------------------------------------------ link


def invitation_link_request(
    *, actor: Any, ip_address: str | None = None
) -> tuple[InvitationLink, bool]:
    """Note that someone asked for the invitation link, and audit it.

    Return the link row and whether a worker was asked to fetch it (False
    while an earlier request is still waiting for one); the worker's message is
    sent once the transaction commits.
    """
    now = timezone.now()
    with transaction.atomic():
        link, _ = InvitationLink.objects.select_for_update().get_or_create(
            pk=InvitationLink.SINGLETON_PK
        )
        already = link.waiting and not invitation_link_stuck(link)
        if not already:
            link.requested_at = now
            link.requested_by = (
                actor if getattr(actor, "is_authenticated", False) else None
            )
            link.save(update_fields=["requested_at", "requested_by"])
    audit_record(
        action="invitation.link_requested",
        actor=actor,
        ip_address=ip_address,
        message=(
            "Asked for the reseller invitation link while an earlier request was "
            "still waiting for a worker; none queued."
            if already
            else "Asked a worker to fetch the reseller invitation link."
        ),
    )
    if not already:
        send_on_commit(
            FETCH_LINK_TASK, requested_by_id=getattr(link.requested_by, "pk", None)
        )
    return link, not already


def invitation_link_fetch(*, actor: Any = None) -> InvitationLink:
    """Fetch the invitation link from Partner Center, store it and audit the result.

    A failure is stored as a plain `error` (the last good link is kept) and audited
    as `invitation.link_failed`; nothing is raised for Partner Center errors.
    """
    calls: list[CallRecord] = []
    url = ""
    error = ""
    try:
        client = partner_center_client(actor=actor, observer=calls.append)
        with client:
            answer = client.get_relationship_request()
        url = (answer.url or "").strip()
        error = _link_problem(url)
    except PartnerCenterError as exc:
        logger.warning("Fetching the invitation link failed: %s", exc)
        error = _plain_link_error(exc)
    now = timezone.now()
    with transaction.atomic():
        link, _ = InvitationLink.objects.select_for_update().get_or_create(
            pk=InvitationLink.SINGLETON_PK
        )
        # Never before the request it answers, even if this host's clock lags.
        link.attempted_at = _latest(now, link.requested_at)
        link.error = error
        if not error:
            link.url = url
            link.fetched_at = now
        link.save()
    call = calls[-1] if calls else None
    if error:
        audit_record(
            action="invitation.link_failed",
            actor=actor,
            outcome=Outcome.FAILURE,
            message=f"The reseller invitation link was not fetched: {error}",
            call=call,
        )
    else:
        audit_record(
            action="invitation.link_fetched",
            actor=actor,
            message="Fetched the reseller invitation link from Partner Center.",
            call=call,
            details={"url": url},
        )
    return link


def _latest(now: datetime, other: datetime | None) -> datetime:
    return max(now, other) if other is not None else now


def _link_problem(url: str) -> str:
    """Return why `url` cannot be sent to a customer, or "" if it can."""
    if not url:
        return "Partner Center answered without an invitation link. Try again later."
    if len(url) > InvitationLink._meta.get_field("url").max_length:  # type: ignore[operator]
        return "Partner Center answered with an invitation link too long to store."
    try:
        _LINK_URL(url)
    except ValidationError:
        return (
            "Partner Center answered with something that is not an https link, "
            "so it is not shown."
        )
    return ""


def _plain_link_error(exc: PartnerCenterError) -> str:
    """Return a failure a reseller can act on, without request ids or tokens."""
    if isinstance(exc, Throttled):
        return (
            "Partner Center asked PartnerHub to slow down "
            f"(retry after {exc.retry_after:.0f} s). Try again in a minute."
        )
    if isinstance(exc, AuthError):
        return (
            "Partner Center refused PartnerHub's credentials. The invitation link is "
            "served only to App+User (delegated) credentials: check "
            "PARTNER_CENTER_REFRESH_TOKEN and the app's Partner Center access."
        )
    if isinstance(exc, PermanentError):
        code = f", code {exc.code}" if exc.code is not None else ""
        return (
            "Partner Center refused to give the invitation link "
            f"(HTTP {exc.status}{code}): {exc.description}"
        )
    if isinstance(exc, TransientError):
        return (
            "Partner Center did not answer in time or had a server error. "
            "Try again in a few minutes."
        )
    if isinstance(exc, MalformedResponse):
        return "Partner Center sent an unreadable answer. Try again later."
    return f"Fetching the invitation link failed: {exc.message}"
