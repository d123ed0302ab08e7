"""Reseller invitations: the partner's invitation link, and customers who accepted.

Moving a customer from another channel into CSP starts with a reseller relationship
request (the partner's invitation link). Partner Center documents no signal for the
customer's acceptance; the customer simply appears in `GET /customers` with
`relationshipToPartner: "reseller"`. So every sync ends by matching the pending
invitations against the synced reseller customers, by domain.
"""

from migrations_app.services.invitations.link import (
    FETCH_LINK_TASK,
    LINK_PATIENCE,
    invitation_link_current,
    invitation_link_fetch,
    invitation_link_request,
    invitation_link_stuck,
)
from migrations_app.services.invitations.reads import (
    RESELLER,
    CustomerMatch,
    customers_for_domains,
    invitation_counts,
    invitation_list_queryset,
)
from migrations_app.services.invitations.records import (
    InvitationRefused,
    invitation_record,
    invitation_withdraw,
    invitations_match_after_sync,
    invitations_match_customers,
)

__all__ = [
    "FETCH_LINK_TASK",
    "LINK_PATIENCE",
    "RESELLER",
    "CustomerMatch",
    "InvitationRefused",
    "customers_for_domains",
    "invitation_counts",
    "invitation_link_current",
    "invitation_link_fetch",
    "invitation_link_request",
    "invitation_link_stuck",
    "invitation_list_queryset",
    "invitation_record",
    "invitation_withdraw",
    "invitations_match_after_sync",
    "invitations_match_customers",
]
