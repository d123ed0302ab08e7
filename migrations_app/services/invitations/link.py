"""The partner's invitation link: asking a worker for it, the worker fetching it
from Partner Center, and whether a request is stuck.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.utils import timezone

from migrations_app import task_names
from migrations_app.models import InvitationLink, Outcome
from migrations_app.services.audit import audit_record
from migrations_app.workflow.enqueue import send_on_commit
from migrations_app.workflow.pc import partner_center_client
from partner_center.client import CallRecord
from partner_center.errors import (
    AuthError,
    MalformedResponse,
    PartnerCenterError,
    PermanentError,
    Throttled,
    TransientError,
)

# The package's logger name, as before it was split into modules.
logger = logging.getLogger("migrations_app.services.invitations")

FETCH_LINK_TASK = task_names.FETCH_INVITATION_LINK
# A requested link no worker has fetched after this long is reported as stuck
# instead of being waited for (polled) for ever.
LINK_PATIENCE = timedelta(minutes=10)
_LINK_URL = URLValidator(schemes=["https"])


def invitation_link_current() -> InvitationLink | None:
    """Return the stored invitation link row, or None if nobody asked for it yet."""
    return InvitationLink.objects.filter(pk=InvitationLink.SINGLETON_PK).first()


def invitation_link_stuck(link: InvitationLink | None) -> bool:
    """Return True if a request has waited longer than any worker should take."""
    if link is None or not link.waiting or link.requested_at is None:
        return False
    return timezone.now() - link.requested_at >= LINK_PATIENCE


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
