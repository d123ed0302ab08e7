"""What the renewal desk shows: tiles, rows, the chart's weeks and the desk itself."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from migrations_app.models import Customer, Subscription
from migrations_app.selectors.desk.queries import IN_PROGRESS


@dataclass(frozen=True)
class Tile:
    """One number on the desk: subscriptions, at how many customers, and the
    customer-list query string that shows exactly those customers."""

    key: str
    label: str
    subscriptions: int
    customers: int
    query: str


@dataclass
class DeskRow:
    """One subscription as a desk section lists it."""

    section: str
    subscription: Subscription
    customer: Customer
    when: datetime | None = None
    days_left: int | None = None
    hours_left: int | None = None
    assigned: int | None = None
    unused: int | None = None

    @property
    def in_days(self) -> str:
        """Return "today", "tomorrow" or "in N days" (N whole calendar days)."""
        if self.days_left is None:
            return ""
        if self.days_left <= 0:
            return "today"
        if self.days_left == 1:
            return "tomorrow"
        return f"in {self.days_left} days"

    @property
    def hours_text(self) -> str:
        if self.hours_left is None:
            return ""
        if self.hours_left < 1:
            return "under an hour left"
        return f"{self.hours_left} hour{'' if self.hours_left == 1 else 's'} left"


@dataclass(frozen=True)
class ChartWeek:
    """Renewals and expirations of the subscriptions whose term ends in one week."""

    start: datetime
    renewals: int
    expirations: int

    @property
    def total(self) -> int:
        return self.renewals + self.expirations


@dataclass
class Desk:
    """Everything the renewal desk shows."""

    retired_tiles: list[Tile]
    renewal_tiles: list[Tile]
    cancellable_tile: Tile
    suspended_tile: Tile
    renewals: list[DeskRow] = field(default_factory=list)
    cancellable: list[DeskRow] = field(default_factory=list)
    suspended: list[DeskRow] = field(default_factory=list)
    chart: list[ChartWeek] = field(default_factory=list)
    has_mappings: bool = False

    @property
    def running(self) -> int:
        """Return how many retired subscriptions have a migration running."""
        return next(t.subscriptions for t in self.retired_tiles if t.key == IN_PROGRESS)
