"""Transitions (NCE upgrades, §7.2): eligibilities, requests and their events."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import model_validator

from partner_center.models.base import (
    Code,
    EnumStr,
    Links,
    NoneAsEmpty,
    OptGuid,
    PCModel,
    ResourceAttributes,
)

__all__ = [
    "TRANSITION_ONLY",
    "TRANSITION_WITH_LICENSE_TRANSFER",
    "EligibilityDetail",
    "TargetSubscriptionEligibility",
    "Transition",
    "TransitionEligibility",
    "TransitionError",
    "TransitionEvent",
    "TransitionHistory",
]

TRANSITION_ONLY = "transition_only"
TRANSITION_WITH_LICENSE_TRANSFER = "transition_with_license_transfer"


class TransitionError(PCModel):
    """Why a transition is not possible; ``code`` is an int (``TransitionErrorCode``).

    Codes: 1 delegated admin permissions disabled, 5 user context required
    (an app-only token), 12 user licence error, 13 insufficient GDAP permissions.
    """

    code: Code = None
    description: str | None = None
    additional_details: Any = None


class EligibilityDetail(PCModel):
    is_eligible: bool | None = None
    transition_type: EnumStr = None
    errors: Annotated[list[TransitionError], NoneAsEmpty] = []


class TargetSubscriptionEligibility(PCModel):
    """An existing subscription the source may transition into."""

    is_eligible: bool | None = None
    subscription_id: OptGuid = None
    subscription_friendly_name: str | None = None
    subscription_term_duration: str | None = None
    subscription_billing_cycle: EnumStr = None
    errors: Annotated[list[TransitionError], NoneAsEmpty] = []


class TransitionEligibility(PCModel):
    """A target catalogue item and whether each transition type is possible."""

    catalog_item_id: str | None = None
    title: str | None = None
    description: str | None = None
    quantity: int | None = None
    eligibilities: Annotated[list[EligibilityDetail], NoneAsEmpty] = []
    subscription_eligibilities: Annotated[
        list[TargetSubscriptionEligibility], NoneAsEmpty
    ] = []
    attributes: ResourceAttributes | None = None

    def eligible_for(self, transition_type: str) -> bool:
        """Return True if this target is eligible for ``transition_type``."""
        return any(
            e.is_eligible and (e.transition_type or "").lower() == transition_type
            for e in self.eligibilities
        )

    @property
    def transfers_licences(self) -> bool:
        """Return True if a transition with licence transfer is eligible."""
        return self.eligible_for(TRANSITION_WITH_LICENSE_TRANSFER)


class TransitionEvent(PCModel):
    """A step of a transition: ``name`` Conversion or SeatReassignment.

    A SeatReassignment's ``errors`` (code 12) name the users whose licence was not
    moved: move those yourself.
    """

    name: str | None = None
    status: EnumStr = None
    timestamp: Any = None
    errors: Annotated[list[TransitionError], NoneAsEmpty] = []


class Transition(PCModel):
    """A transition request, and Partner Center's answer to it.

    As documented, a full transition has no ``to_subscription_id`` (the source is
    converted in place: same id, the target's offer), no top-level ``status``, and
    its ``events`` are an append-only log (``Started``, later ``Completed`` or
    ``Failed``). A ``status``, a target id and events rewritten in place are read
    too.
    """

    # Reference: https://learn.microsoft.com/en-us/partner-center/developer/get-transitions
    # Reference: https://learn.microsoft.com/en-us/dotnet/api/microsoft.store.partnercenter.models.subscriptions.transitionevent

    id: str | None = None
    operation_id: OptGuid = None
    from_catalog_item_id: str | None = None
    from_subscription_id: OptGuid = None
    to_catalog_item_id: str | None = None
    to_subscription_id: OptGuid = None
    quantity: int | None = None
    term_duration: str | None = None
    billing_cycle: EnumStr = None
    transition_type: EnumStr = None
    promotion_id: str | None = None
    status: EnumStr = None
    events: Annotated[list[TransitionEvent], NoneAsEmpty] = []
    links: Links | None = None
    attributes: ResourceAttributes | None = None

    def latest_statuses(self) -> dict[str, str]:
        """Return each event name's latest status, lower case (the log's last word).

        An event without a name counts as a Conversion.
        """
        latest: dict[str, str] = {}
        for event in self.events:
            name = (event.name or "conversion").lower()
            latest[name] = (event.status or "").lower()
        return latest

    @property
    def finished(self) -> bool:
        """Return True when Partner Center says the transition is over.

        The top-level status when there is one; otherwise the log: the Conversion
        reached Completed or Failed and no event is still Started or InProgress.
        """
        done = {"completed", "failed"}
        if self.status:
            return self.status.lower() in done
        latest = self.latest_statuses()
        return latest.get("conversion") in done and all(
            status in done for status in latest.values()
        )

    @property
    def failed(self) -> bool:
        """Return True if the transition, or any event's latest entry, failed."""
        if (self.status or "").lower() == "failed":
            return True
        return "failed" in self.latest_statuses().values()

    @property
    def event_errors(self) -> list[TransitionError]:
        """Return the errors of every event (e.g. users left behind, code 12)."""
        return [error for event in self.events for error in event.errors]


class TransitionHistory(PCModel):
    """The answer to GET transitions: the docs wrap it in ``transition``.

    A collection (``items``) or a bare array is read the same way.
    """

    items: Annotated[list[Transition], NoneAsEmpty] = []

    @model_validator(mode="before")
    @classmethod
    def _accept_every_wrapper(cls, data: Any) -> Any:
        if isinstance(data, list):
            return {"items": data}
        if isinstance(data, dict) and "items" not in data:
            for key in ("transition", "transitions", "Transition"):
                if key in data:
                    value = data[key]
                    items = value if isinstance(value, list) else [value]
                    return {**data, "items": items}
        return data
