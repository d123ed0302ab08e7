"""Which targets Partner Center lets a retired subscription transition to.

The plan offers Microsoft's own paths (a transition now, a change at renewal) only
where Partner Center says they are possible, and a web request never asks it. So
the worker's per-customer sync reads the transition eligibilities of every active
new-commerce subscription on a retired SKU — two calls each, so a sync's calls
grow with what needs migrating, not with the estate — and stores the eligible
target catalogue items on the subscription (`Subscription.transition_targets`).
"""

from __future__ import annotations

import logging
from typing import Any
from weakref import WeakKeyDictionary

from django.utils import timezone

from migrations_app.domain.catalogue import CatalogueIndex, catalogue_index
from migrations_app.models import Customer, Subscription
from partner_center.client import PartnerCenterClient
from partner_center.errors import PartnerCenterError
from partner_center.models import TransitionEligibility
from partner_center.models.transitions import TRANSITION_WITH_LICENSE_TRANSFER

logger = logging.getLogger(__name__)

IMMEDIATE = "immediate"
SCHEDULED = "scheduled"
# One catalogue index per sync run (each run has its own client), not one per
# customer: a run's query count stays a small constant per customer.
_INDEXES: WeakKeyDictionary[PartnerCenterClient, CatalogueIndex] = WeakKeyDictionary()


def _index_for(client: PartnerCenterClient) -> CatalogueIndex:
    index = _INDEXES.get(client)
    if index is None:
        index = _INDEXES[client] = catalogue_index()
    return index


def _eligible(items: list[TransitionEligibility], *, transfer: bool) -> list[str]:
    """Return the catalogue item ids eligible (with licence transfer if `transfer`)."""
    found = []
    for item in items:
        if not item.catalog_item_id:
            continue
        if transfer:
            ok = item.eligible_for(TRANSITION_WITH_LICENSE_TRANSFER)
        else:
            ok = any(e.is_eligible for e in item.eligibilities)
        if ok:
            found.append(item.catalog_item_id.strip().upper())
    return sorted(set(found))


def transition_targets_read(
    *, client: PartnerCenterClient, subscription: Subscription
) -> dict[str, Any]:
    """Return what Partner Center says `subscription` can transition to.

    `immediate`: targets of a transition now that carries the users' licences
    along; `scheduled`: targets of a change at the next renewal.
    """
    tenant = str(subscription.customer.tenant_id)
    sid = subscription.subscription_id
    now = client.list_transition_eligibilities(tenant, sid, IMMEDIATE)
    later = client.list_transition_eligibilities(tenant, sid, SCHEDULED)
    return {
        IMMEDIATE: _eligible(now, transfer=True),
        SCHEDULED: _eligible(later, transfer=False),
    }


def transitions_refresh(
    *,
    customer: Customer,
    client: PartnerCenterClient,
    index: CatalogueIndex | None = None,
) -> int:
    """Store the transition targets of the customer's retired NCE subscriptions.

    Only active new-commerce subscriptions on a retired SKU are asked about. A
    refusal or failure (throttling, GDAP roles, an app-only token) keeps what
    was stored before and stops asking for this customer until the next sync:
    the plan then offers buy → move → retire. Return the rows written.
    """
    index = index if index is not None else _index_for(client)
    if not index.has_retired:
        return 0
    retired = Subscription.objects.filter(
        index.retired_q(), customer=customer, status=Subscription.ACTIVE
    )
    written = 0
    for sub in retired:
        if not sub.is_nce:
            continue
        sub.customer = customer
        try:
            found = transition_targets_read(client=client, subscription=sub)
        except PartnerCenterError as exc:
            logger.warning(
                "Transition eligibilities of subscription %s not read: %s",
                sub.subscription_id,
                exc,
            )
            break
        stored = {k: v for k, v in sub.transition_targets.items() if k != "checked_at"}
        if stored == found:
            continue
        found["checked_at"] = timezone.now().isoformat()
        written += Subscription.objects.filter(pk=sub.pk).update(
            transition_targets=found
        )
    return written
