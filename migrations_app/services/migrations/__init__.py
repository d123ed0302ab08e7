"""Start, retry, resume and cancel migrations; re-queue the ones that are due.

None of these call Partner Center: they change rows and enqueue the worker's task
once the transaction has committed.
"""

from migrations_app.services.migrations.actions import (
    REFUND_TASK,
    STALE_AFTER,
    migration_cancel,
    migration_refund,
    migration_resume,
    migration_retry,
    migrations_requeue_due,
)
from migrations_app.services.migrations.errors import (
    MigrationAlreadyRunning,
    MigrationNotAllowed,
)
from migrations_app.services.migrations.provision import (
    ProvisionChoice,
    provision_problem,
    provisioning_start,
)
from migrations_app.services.migrations.start import StartItem, migration_start

__all__ = [
    "REFUND_TASK",
    "STALE_AFTER",
    "MigrationAlreadyRunning",
    "MigrationNotAllowed",
    "ProvisionChoice",
    "StartItem",
    "migration_cancel",
    "migration_refund",
    "migration_resume",
    "migration_retry",
    "migration_start",
    "migrations_requeue_due",
    "provision_problem",
    "provisioning_start",
]
