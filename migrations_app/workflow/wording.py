"""The words the engine and the pages share: counts, names, the usage-location rule."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from migrations_app.models import LicenseMove, Migration

NO_USAGE_LOCATION = "No usage location: set one before the licence can move."


class NamedUser(Protocol):
    """A user row (synced user or licence move): named by UPN, else by id."""

    user_id: str
    user_principal_name: str


def count(number: int, one: str, many: str) -> str:
    """Return "1 user" / "3 users" style words."""
    return f"{number} {one if number == 1 else many}"


def upns(users: Sequence[NamedUser], limit: int = 5) -> str:
    """Return the users' UPNs (display names repeat; UPNs do not), at most `limit`."""
    shown = [u.user_principal_name or u.user_id for u in users]
    text = ", ".join(shown[:limit])
    if len(shown) > limit:
        text += f" and {len(shown) - limit} more"
    return text


def lacking_usage_location(
    users: Iterable[NamedUser], located_user_ids: set[str]
) -> list[NamedUser]:
    """Return the users whose id is not among those with a usage location."""
    return [u for u in users if u.user_id not in located_user_ids]


def usage_location_problem(missing: Sequence[NamedUser], *, bought: bool) -> str:
    """Return the one message for users a licence cannot be assigned to.

    `bought` says whether the new subscription exists already (the seat check) or
    nothing was bought yet (the plan and the purchase step).
    """
    who = count(len(missing), "user has", "users have")
    names = upns(missing)
    if bought:
        return (
            f"{who} no usage location: {names}. Licences cannot be assigned "
            "without one. Set their usage location in the Microsoft 365 admin "
            "center, then retry."
        )
    return (
        f"{who} no usage location ({names}), so no licence can be assigned to "
        "them. Set their usage location in the Microsoft 365 admin center, Refresh "
        "the customer, then start again."
    )


def cancellation_summary(migration: Migration, moves: Sequence[LicenseMove]) -> str:
    """Return plain words on what a migration bought and moved before it stopped."""
    m = migration
    source = m.source_name
    moved = [mv for mv in moves if mv.status == "moved"]
    if m.purchase_request_id is None:
        return "Nothing was bought and no licence was moved."
    if m.bought:
        bought = (
            f"Bought {m.quantity} seats of {m.target_offer_name}"
            + (
                f" (subscription {m.new_subscription_id})"
                if m.new_subscription_id
                else ""
            )
            + (f", order {m.order_id}" if m.order_id else "")
            + ". "
        )
    else:
        bought = (
            f"An order for {m.quantity} seats of {m.target_offer_name} was sent "
            f"(MS-RequestId {m.purchase_request_id}) but its result was never "
            "confirmed: check the customer's subscriptions in Partner Center. "
        )
    if moved:
        names = ", ".join(mv.user_principal_name or mv.user_id for mv in moved)
        total = count(len(moves), "user", "users")
        users = f"{len(moved)} of {total} moved to the new licence: {names}. "
    else:
        users = "No licence was moved. "
    billed = (
        " The new subscription stays active and billed; cancel it in Partner Center "
        "within its cancellation window if it is not needed."
        if m.bought
        else ""
    )
    if m.is_provisioning:
        return (
            f"{bought}The customer's licences bought through another channel are "
            f"left untouched.{billed}"
        )
    return f"{bought}{users}The old subscription {source} is left untouched.{billed}"
