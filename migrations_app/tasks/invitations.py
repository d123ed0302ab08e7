"""Invitation tasks: fetch the partner's reseller invitation link."""

from __future__ import annotations

from celery import shared_task
from django.contrib.auth.models import User

from migrations_app import task_names
from migrations_app.services.invitations import (
    invitation_link_fetch,
    invitations_match_customers,
)

__all__ = ["fetch_invitation_link"]


# One read of Partner Center (the client retries it at most twice) plus the match
# over synced data: well inside the default limits.
@shared_task(name=task_names.FETCH_INVITATION_LINK)
def fetch_invitation_link(requested_by_id: int | None = None) -> bool:
    """Fetch and store the invitation link; return True if it was fetched.

    Then mark accepted the pending invitations the last sync can already explain.
    """
    requested_by = (
        User.objects.filter(pk=requested_by_id).first() if requested_by_id else None
    )
    link = invitation_link_fetch(actor=requested_by)
    invitations_match_customers()
    return not link.error
