"""The whole renewal desk, built from its tiles, rows and chart."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from migrations_app.selectors.desk.counts import (
    desk_chart,
    desk_other_tiles,
    desk_retired_tiles,
)
from migrations_app.selectors.desk.pages import Desk
from migrations_app.selectors.desk.queries import RENEWAL_WINDOWS, desk_retired_index
from migrations_app.selectors.desk.rows import (
    ROW_LIMIT,
    desk_cancellable_rows,
    desk_renewal_rows,
    desk_suspended_rows,
)


def desk(*, now: datetime | None = None, limit: int = ROW_LIMIT) -> Desk:
    """Return the renewal desk: tiles, the soonest rows of each section, the chart.

    A constant number of queries, however many customers and subscriptions.
    """
    now = now or timezone.now()
    retired = desk_retired_index()
    renewal_tiles, cancellable_tile, suspended_tile = desk_other_tiles(now)
    return Desk(
        retired_tiles=desk_retired_tiles(retired=retired),
        renewal_tiles=renewal_tiles,
        cancellable_tile=cancellable_tile,
        suspended_tile=suspended_tile,
        renewals=desk_renewal_rows(days=max(RENEWAL_WINDOWS), now=now, limit=limit),
        cancellable=desk_cancellable_rows(now=now, limit=limit),
        suspended=desk_suspended_rows(now=now, limit=limit),
        chart=desk_chart(now=now),
        has_mappings=retired.has_retired,
    )
