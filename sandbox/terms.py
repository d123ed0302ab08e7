"""New-commerce term arithmetic: term ends, the 168-hour cancellation window and
refundable quantities. Pure functions on aware UTC datetimes and ISO text."""

from __future__ import annotations

import calendar
from datetime import UTC, datetime, timedelta
from typing import Any

#: How long after a purchase or renewal an NCE subscription may be cancelled.
CANCELLATION_WINDOW = timedelta(hours=168)
#: The day after the term end (00:00 UTC) is when a renewal runs.
RENEWAL_LAG = timedelta(days=1)
_MONTHS = {"P1M": 1, "P1Y": 12, "P3Y": 36}
TERM_DURATIONS = tuple(_MONTHS)
BILLING_CYCLES = ("monthly", "annual", "triennial")


def parse_iso(text: str) -> datetime:
    """Return the aware UTC datetime of Partner Center ISO text (``…Z``)."""
    value = text.strip().replace("Z", "+00:00")
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def add_months(moment: datetime, months: int) -> datetime:
    """Return ``moment`` plus whole calendar months (day clipped to month end)."""
    month = moment.month - 1 + months
    year = moment.year + month // 12
    month = month % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def term_months(term: str) -> int:
    """Return the whole months of a term duration (P1M, P1Y, P3Y; else 12)."""
    return _MONTHS.get(term.upper(), 12)


def term_end(start: datetime, term: str) -> datetime:
    """Return the commitment end (00:00 UTC of the last day) of a term from start."""
    day = start.replace(hour=0, minute=0, second=0, microsecond=0)
    return add_months(day, term_months(term)) - timedelta(days=1)


def renewal_due(record: dict[str, Any]) -> datetime | None:
    """Return when a subscription's term runs out, or None (no real end date)."""
    end = record.get("commitmentEndDate")
    if not end or str(end).startswith("9999"):
        return None
    return parse_iso(str(end)) + RENEWAL_LAG


def valid_term(term: Any, cycle: Any, allowed: tuple[tuple[str, str], ...]) -> bool:
    """Return whether (termDuration, billingCycle) is one of a SKU's terms."""
    return (str(term).upper(), str(cycle).lower()) in allowed
