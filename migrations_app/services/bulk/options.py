"""What a bulk run is asked to do, and the checks that refuse a bad request."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from migrations_app.models import PathChoice, RetireChoice, StartWhen

MAX_DAYS_BEFORE = 365


class BulkNotAllowed(Exception):
    """The bulk run or schedule change cannot be made; the message says why."""


@dataclass(frozen=True)
class BulkOptions:
    """When a bulk run starts and how its subscriptions move."""

    when: str = StartWhen.NOW
    start_on: datetime | None = None
    days_before: int | None = None
    retire: str = RetireChoice.PLAN
    path: str = PathChoice.SAFEST


def bulk_options_check(options: BulkOptions, now: datetime) -> None:
    """Raise BulkNotAllowed if `options` cannot start a bulk run at `now`."""
    if options.when not in StartWhen.values:
        raise BulkNotAllowed("Choose when the migrations start.")
    if options.retire not in RetireChoice.values:
        raise BulkNotAllowed("Choose how the old subscriptions end.")
    if options.path not in PathChoice.values:
        raise BulkNotAllowed("Choose how the subscriptions move.")
    if options.when == StartWhen.ON_DATE:
        if options.start_on is None:
            raise BulkNotAllowed("Choose the date the migrations start on.")
        if options.start_on <= now:
            raise BulkNotAllowed("The start date must be in the future.")
    if options.when == StartWhen.BEFORE_END and not (
        options.days_before is not None and 0 <= options.days_before <= MAX_DAYS_BEFORE
    ):
        raise BulkNotAllowed(
            f"Choose how many days before the end date: 0 to {MAX_DAYS_BEFORE}."
        )
