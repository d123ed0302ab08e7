"""Words the pages and the services share about a migration as a whole."""

from __future__ import annotations

from collections.abc import Sequence

from migrations_app.models import LicenseMove, Migration
from migrations_app.models.wording import count


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
