"""Reads of reseller invitations: the list, its counts, and the reseller customers
domains belong to.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Case, Count, IntegerField, QuerySet, Value, When
from django.db.models.functions import Lower

from migrations_app.models import (
    Customer,
    CustomerUser,
    InvitationStatus,
    ResellerInvitation,
)
from migrations_app.models.invitations import normalise_domain

# The package's logger name, as before it was split into modules.
logger = logging.getLogger("migrations_app.services.invitations")

RESELLER = "reseller"
_DOMAIN_CHUNK = 500


@dataclass(frozen=True)
class CustomerMatch:
    """A reseller customer found for a domain, and how it was found."""

    customer: Customer
    # "domain": the customer's own domain; "user domain": its users sign in with it.
    matched_by: str


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
