"""Transitions: Microsoft's own SKU change for NCE (and legacy) sources (§7.2)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from partner_center.classify import TRANSITION_ROLES
from partner_center.endpoints.base import Endpoints
from partner_center.models import Transition, TransitionEligibility, TransitionHistory
from partner_center.records import Operation
from partner_center.transport import Params
from partner_center.wire import as_body, normalise_body_ids, seg

__all__ = ["TransitionEndpoints"]

IMMEDIATE = "immediate"
SCHEDULED = "scheduled"


class TransitionEndpoints(Endpoints):
    def _transitions_path(self, customer_id: str, subscription_id: str) -> str:
        return (
            f"/customers/{seg(customer_id)}/subscriptions/{seg(subscription_id)}"
            "/transitions"
        )

    # Reference: https://learn.microsoft.com/en-us/partner-center/developer/transition-a-new-commerce-subscription
    def list_transition_eligibilities(
        self,
        customer_id: str,
        subscription_id: str,
        eligibility_type: str = IMMEDIATE,
        *,
        correlation_id: str | None = None,
    ) -> list[TransitionEligibility]:
        """Return the targets this subscription can transition to, and how.

        ``eligibility_type`` is ``immediate`` (now) or ``scheduled`` (at renewal).
        Each target says per transition type whether it is eligible and, if not,
        why (``errors``: e.g. code 3 conflicting services, 13 insufficient GDAP).
        """
        path = (
            f"/customers/{seg(customer_id)}/subscriptions/{seg(subscription_id)}"
            "/transitionEligibilities"
        )
        return list(
            self._iter_pages(
                path,
                [("eligibilityType", eligibility_type)],
                TransitionEligibility,
                correlation_id=correlation_id,
                roles=TRANSITION_ROLES,
            )
        )

    # Reference: https://learn.microsoft.com/en-us/partner-center/developer/transition-a-new-commerce-subscription
    def create_transition(
        self,
        customer_id: str,
        subscription_id: str,
        transition: Transition | Mapping[str, Any],
        request_id: str | uuid.UUID,
        *,
        correlation_id: str | None = None,
    ) -> Transition:
        """Return the transition started (200) from this source subscription.

        Only ``to_catalog_item_id`` is required; ``transition_type`` is
        ``transition_only`` or ``transition_with_license_transfer``. Licence
        transfer may leave some users behind: read every user back afterwards.
        Raise TransientError(ambiguous=True) if it may have started without
        confirmation: read ``list_transitions`` before sending it again.
        """
        request_id = self._require_request_id(request_id)
        body = normalise_body_ids(
            as_body(transition, exclude={"events", "links", "attributes"}),
            ("fromSubscriptionId", "toSubscriptionId"),
        )
        answer = self._call(
            "POST",
            self._transitions_path(customer_id, subscription_id),
            body=body,
            request_id=request_id,
            correlation_id=correlation_id,
            operation=Operation.TRANSITION,
            roles=TRANSITION_ROLES,
        )
        return self._finish_write(answer, Transition, None)

    # Reference: https://learn.microsoft.com/en-us/partner-center/developer/get-transitions
    def list_transitions(
        self,
        customer_id: str,
        subscription_id: str,
        operation_id: str | None = None,
        *,
        correlation_id: str | None = None,
    ) -> list[Transition]:
        """Return the transitions of this subscription, with their events.

        ``operation_id`` narrows the answer to one transition. The answer is read
        whether it is wrapped in ``transition`` (as documented), ``items`` or
        nothing.
        """
        params: Params = [("operationId", operation_id)] if operation_id else []
        history = self._get(
            self._transitions_path(customer_id, subscription_id),
            TransitionHistory,
            params=params,
            correlation_id=correlation_id,
        )
        return history.items
