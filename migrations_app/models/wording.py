"""The words the engine and the pages share: counts, names, the usage-location rule."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol, TypeVar

from django.db.models import Q

NO_USAGE_LOCATION = "No usage location: set one before the licence can move."


class NamedUser(Protocol):
    """A user row (synced user or licence move): named by UPN, else by id."""

    user_id: str
    user_principal_name: str


UserT = TypeVar("UserT", bound=NamedUser)


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


# The usage-location rule, once: a user whose usage location is empty (or only
# blanks) cannot be assigned a licence, so no migration may buy or move for them.
# The Python test, the query and the words below all follow it.


def has_usage_location(value: str | None) -> bool:
    """Return True if `value` (a synced or read-back usage location) is one."""
    return bool(value and value.strip())


def without_usage_location(prefix: str = "") -> Q:
    """Return the query for users without a usage location.

    `prefix` reaches the user through a relation, e.g. "user__".
    """
    return Q(**{f"{prefix}usage_location__regex": r"^\s*$"})


def lacking_usage_location(
    users: Iterable[UserT], located_user_ids: set[str]
) -> list[UserT]:
    """Return the users whose id is not among those with a usage location.

    A user missing from the synced rows altogether counts as lacking one.
    """
    return [u for u in users if u.user_id not in located_user_ids]


def usage_location_problem(missing: Sequence[NamedUser], *, bought: bool) -> str:
    """Return the one message for users a licence cannot be assigned to.

    `bought` says whether the new subscription exists already (the seat check) or
    nothing was bought yet (the plan page, the plan form, bulk runs and the
    purchase step all say it in these words).
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
