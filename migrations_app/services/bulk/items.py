"""What one customer's bulk plan starts, and the note on what it leaves out."""

from __future__ import annotations

from migrations_app.domain.bulk import BulkCustomerPlan
from migrations_app.services.migrations import StartItem


def start_items(found: BulkCustomerPlan) -> list[StartItem]:
    """Return what `migration_start` takes for the startable subscriptions."""
    return [
        StartItem(
            plan=item.plan,
            target=item.target,
            quantity=item.quantity,
            retire_mode=item.retire_mode,
            path=item.path,
        )
        for item in found.startable
        if item.target is not None
    ]


def left_out_text(found: BulkCustomerPlan) -> str:
    """Return the note on the subscriptions the plan leaves out ("" if none)."""
    notes = found.left_out
    return ("Left out — " + " ".join(notes)) if notes else ""
