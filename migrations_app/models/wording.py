"""The words the engine and the pages share: counts, names, the usage-location rule."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

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
