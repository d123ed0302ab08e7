"""Load Partner Center's view of every customer into the database.

A run pages every customer, refreshes the offer catalogue, binds the SKU mappings
to offers by name, then loads each customer's subscriptions and subscribed SKUs,
and its users and licences when they may have changed or matter now (see
`users_read_reason`), reading several customers at once under the shared rate
limit. Each customer keeps the calls its sync made. Rows are compared field by
field and only the ones that differ are written, so a run over unchanged data
writes no Partner Center data at all (the per-customer `synced_at` freshness stamp,
with the calls made, is one bulk UPDATE per run and is not counted as data). A customer whose data cannot be read or parsed keeps its last
good rows, gets a plain `sync_error`, and does not stop the rest. Each run ends
with exactly one audit event. `sync_customer_refresh` re-reads a single customer
(on demand, everything; when its migration ends, all but the users its verify step
read back), also with exactly one audit event.
"""

from migrations_app.services.sync.customers import sync_customers
from migrations_app.services.sync.errors import SyncAlreadyRunning, SyncDataError
from migrations_app.services.sync.lock import (
    CUSTOMER_SYNC_LOCK_KEY,
    SYNC_LOCK_KEY,
    SYNC_LOCK_SECONDS,
    SYNC_SOFT_TIME_LIMIT,
    SYNC_TIME_LIMIT,
)
from migrations_app.services.sync.offers import (
    sync_bind_mappings,
    sync_offers,
    sync_products,
)
from migrations_app.services.sync.refresh import sync_customer_refresh
from migrations_app.services.sync.runs import (
    sync_close_interrupted_runs,
    sync_enqueue,
    sync_run,
    sync_run_exclusive,
)
from migrations_app.services.sync.snapshot import CustomerSyncResult, sync_customer

__all__ = [
    "CUSTOMER_SYNC_LOCK_KEY",
    "SYNC_LOCK_KEY",
    "SYNC_LOCK_SECONDS",
    "SYNC_SOFT_TIME_LIMIT",
    "SYNC_TIME_LIMIT",
    "CustomerSyncResult",
    "SyncAlreadyRunning",
    "SyncDataError",
    "sync_bind_mappings",
    "sync_close_interrupted_runs",
    "sync_customer",
    "sync_customer_refresh",
    "sync_customers",
    "sync_enqueue",
    "sync_offers",
    "sync_products",
    "sync_run",
    "sync_run_exclusive",
]
