"""Read queries for the renewal desk (`/`): what needs a decision first, across
all customers.

Each kind of row is one queryset function (`queries`); the desk counts it and lists
the soonest, and the customer list filters customers by the same function (see
`migrations_app.selectors.customers`), so a tile's number and the list it links to always
agree. No function here grows its query count with the customers.
"""

from migrations_app.selectors.desk.build import desk
from migrations_app.selectors.desk.counts import (
    CHART_WEEKS,
    desk_chart,
    desk_other_tiles,
    desk_retired_stamp,
    desk_retired_tiles,
)
from migrations_app.selectors.desk.pages import ChartWeek, Desk, DeskRow, Tile
from migrations_app.selectors.desk.queries import (
    DONE,
    IN_PROGRESS,
    NEEDS_ACTION,
    RENEWAL_TERMS,
    RENEWAL_WINDOWS,
    RETIRED_STATES,
    TO_MIGRATE,
    desk_cancellable_subscriptions,
    desk_expiring_subscriptions,
    desk_renewing_subscriptions,
    desk_retired_index,
    desk_retired_subscriptions,
    desk_suspended_subscriptions,
)
from migrations_app.selectors.desk.rows import (
    EXPORT_CHUNK,
    ROW_LIMIT,
    desk_cancellable_rows,
    desk_digest_rows,
    desk_export_rows,
    desk_renewal_rows,
    desk_seat_use,
    desk_suspended_rows,
)

__all__ = [
    "CHART_WEEKS",
    "DONE",
    "EXPORT_CHUNK",
    "IN_PROGRESS",
    "NEEDS_ACTION",
    "RENEWAL_TERMS",
    "RENEWAL_WINDOWS",
    "RETIRED_STATES",
    "ROW_LIMIT",
    "TO_MIGRATE",
    "ChartWeek",
    "Desk",
    "DeskRow",
    "Tile",
    "desk",
    "desk_cancellable_rows",
    "desk_cancellable_subscriptions",
    "desk_chart",
    "desk_digest_rows",
    "desk_expiring_subscriptions",
    "desk_export_rows",
    "desk_other_tiles",
    "desk_renewal_rows",
    "desk_renewing_subscriptions",
    "desk_retired_index",
    "desk_retired_stamp",
    "desk_retired_subscriptions",
    "desk_retired_tiles",
    "desk_seat_use",
    "desk_suspended_rows",
    "desk_suspended_subscriptions",
]
