"""What a bulk run (or a scheduled start) does with one customer's plan.

No operator reviews each subscription of a bulk run, so every choice is the
plan's own default, adjusted by the run's options: the path (the safest
Partner Center offers, or always buy), how the old subscription ends (the plan's
default, or let it expire), and, for a start at renewal, the scheduled change.
A subscription that cannot start that way says why; the others still start.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from migrations_app.domain.plan import Plan, PlanItem, TargetChoice, gdap_problem
from migrations_app.models import (
    MigrationPath,
    PathChoice,
    RetireChoice,
    RetireMode,
    StartWhen,
)
from migrations_app.models.pc_values import date_text
from migrations_app.models.wording import usage_location_problem

# A start "at renewal" sends the scheduled change this long before the term ends:
# the instruction is then in place (and visible in Partner Center) well before
# the renewal, which runs from 00:00 UTC the day after the end date, with time
# to wait out throttling; until then the schedule can still be edited or
# cancelled here, and no mid-term change made meanwhile can delete it.
AT_RENEWAL_LEAD = timedelta(days=7)

PATH_WORDS: dict[str, str] = {
    path: str(MigrationPath(path).label)
    for path in (MigrationPath.TRANSITION, MigrationPath.SCHEDULED, MigrationPath.BUY)
}


@dataclass
class BulkItem:
    """One subscription as the run would start it, or why it cannot."""

    plan: PlanItem
    target: TargetChoice | None
    path: str
    retire_mode: str
    quantity: int
    problem: str = ""

    @property
    def path_text(self) -> str:
        return PATH_WORDS.get(self.path, self.path)

    @property
    def users(self) -> int:
        return len(self.plan.users)


@dataclass
class BulkCustomerPlan:
    """One customer's plan as the run would start it."""

    plan: Plan
    items: list[BulkItem]
    # Why nothing of this customer can start ("" when something can).
    problem: str = ""

    @property
    def startable(self) -> list[BulkItem]:
        return [] if self.problem else [i for i in self.items if not i.problem]

    @property
    def left_out(self) -> list[str]:
        """Return, per subscription that stays behind, its name and why."""
        notes = [
            f"{i.plan.subscription.display_name}: {i.problem}"
            for i in self.items
            if i.problem
        ]
        notes += [
            f"{s.subscription.display_name}: {s.reason}" for s in self.plan.skipped
        ]
        return notes

    @property
    def end_date(self) -> datetime | None:
        """Return the soonest end date of the subscriptions that would start."""
        ends = [
            i.plan.subscription.ends_on
            for i in self.startable
            if i.plan.subscription.ends_on is not None
        ]
        return min(ends) if ends else None


def _item(item: PlanItem, *, when: str, retire: str, path: str) -> BulkItem:
    target = item.default_target
    quantity = item.default_quantity
    way = MigrationPath.BUY if path == PathChoice.BUY else item.default_path
    if when == StartWhen.AT_RENEWAL:
        way = MigrationPath.SCHEDULED
    mode = (
        RetireMode.EXPIRE.value
        if retire == RetireChoice.EXPIRE
        else str(item.default_retire_mode)
    )
    found = BulkItem(item, target, way, mode, quantity)
    if not item.source_sku_id:
        found.problem = (
            "PartnerHub cannot tell which licence it grants (its offer is not in "
            "the synced catalogue), so no user can be moved."
        )
    elif item.users_without_location:
        found.problem = usage_location_problem(
            item.users_without_location, bought=False
        )
    elif target is None:
        found.problem = "Its mapping names no target."
    elif target.problem or target.offer is None:
        found.problem = f"{target.name} is {target.problem or 'not bound'}."
    elif item.path_problem(target, way):
        found.problem = item.path_problem(target, way)
    elif not (
        target.offer.minimum_quantity <= quantity <= target.offer.maximum_quantity
    ):
        found.problem = (
            f"{target.offer.name} is sold in quantities from "
            f"{target.offer.minimum_quantity} to {target.offer.maximum_quantity}; "
            f"it needs {quantity}."
        )
    return found


def bulk_customer_plan(
    plan: Plan, *, when: str, retire: str, path: str
) -> BulkCustomerPlan:
    """Return what a bulk run with these options would start for `plan`'s customer."""
    items = [_item(i, when=when, retire=retire, path=path) for i in plan.items]
    found = BulkCustomerPlan(plan=plan, items=items)
    customer = plan.customer
    if customer.gdap_missing:
        found.problem = gdap_problem(customer)
    elif not plan.items and plan.skipped:
        found.problem = "Nothing left to migrate. " + " ".join(
            f"{s.subscription.display_name}: {s.reason}" for s in plan.skipped
        )
    elif not plan.items:
        found.problem = "No subscription on a retired SKU."
    elif not found.startable:
        found.problem = "No subscription can start: " + " ".join(found.left_out)
    return found


def schedule_start_at(
    found: BulkCustomerPlan,
    *,
    when: str,
    start_on: datetime | None,
    days_before: int | None,
    now: datetime,
) -> tuple[datetime | None, str]:
    """Return when a scheduled start of this customer runs, or (None, why not)."""
    if when == StartWhen.ON_DATE:
        return start_on, ""
    end = found.end_date
    if end is None:
        return None, "None of its subscriptions has an end date to count back from."
    if when == StartWhen.BEFORE_END:
        at = end - timedelta(days=days_before or 0)
    else:
        at = end - AT_RENEWAL_LEAD
    if at < now:
        # Already inside the window: start at the next look.
        at = now
    return at, ""


def when_text(when: str, start_on: datetime | None, days_before: int | None) -> str:
    """Return a schedule choice in words."""
    if when == StartWhen.ON_DATE and start_on is not None:
        return f"on {date_text(start_on)} at {start_on:%H:%M} UTC"
    if when == StartWhen.BEFORE_END:
        days = days_before or 0
        return f"{days} day{'' if days == 1 else 's'} before the end date"
    if when == StartWhen.AT_RENEWAL and start_on is not None:
        return (
            f"at renewal (the change is sent on {date_text(start_on)} at "
            f"{start_on:%H:%M} UTC)"
        )
    if when == StartWhen.AT_RENEWAL:
        return "at renewal (the change is sent a week before the end date)"
    return "now"
