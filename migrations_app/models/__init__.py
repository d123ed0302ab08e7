from migrations_app.models.audit import (
    AuditChainHead,
    AuditEvent,
    AuditLogIsAppendOnly,
    AuditVerification,
    Outcome,
)
from migrations_app.models.bulk import (
    BulkCustomerOutcome,
    BulkRun,
    BulkRunCustomer,
    MigrationSchedule,
    PathChoice,
    RetireChoice,
    ScheduleState,
    StartWhen,
)
from migrations_app.models.catalog import SkuMapping, SkuMappingTarget
from migrations_app.models.invitations import (
    InvitationLink,
    InvitationStatus,
    ResellerInvitation,
)
from migrations_app.models.migration import (
    ATTENTION_STATES,
    CLOSED_STATES,
    HANDED_OVER_STATES,
    TERMINAL_STATES,
    Migration,
    MigrationPath,
    MigrationState,
    RetireMode,
)
from migrations_app.models.migration_parts import LicenseMove, MigrationTarget
from migrations_app.models.notifications import Notification
from migrations_app.models.partner import (
    Customer,
    CustomerUser,
    Offer,
    SubscribedSku,
    SyncRun,
    UserLicense,
)
from migrations_app.models.pc_values import (
    BIGINT_MAX,
    clip,
    clip_int,
    date_text,
    indirect_reseller,
    normalise_guid,
    normalise_offer_id,
)
from migrations_app.models.secrets import StoredSecret
from migrations_app.models.subscription import Subscription
from migrations_app.models.writes import (
    PendingWrite,
    pending_write_open,
    pending_write_settle,
)

__all__ = [
    "ATTENTION_STATES",
    "BIGINT_MAX",
    "CLOSED_STATES",
    "HANDED_OVER_STATES",
    "TERMINAL_STATES",
    "AuditChainHead",
    "AuditEvent",
    "AuditLogIsAppendOnly",
    "AuditVerification",
    "BulkCustomerOutcome",
    "BulkRun",
    "BulkRunCustomer",
    "Customer",
    "CustomerUser",
    "InvitationLink",
    "InvitationStatus",
    "LicenseMove",
    "Migration",
    "MigrationPath",
    "MigrationSchedule",
    "MigrationState",
    "MigrationTarget",
    "Notification",
    "Offer",
    "Outcome",
    "PathChoice",
    "PendingWrite",
    "ResellerInvitation",
    "RetireChoice",
    "RetireMode",
    "ScheduleState",
    "SkuMapping",
    "SkuMappingTarget",
    "StartWhen",
    "StoredSecret",
    "SubscribedSku",
    "Subscription",
    "SyncRun",
    "UserLicense",
    "clip",
    "clip_int",
    "date_text",
    "indirect_reseller",
    "normalise_guid",
    "normalise_offer_id",
    "pending_write_open",
    "pending_write_settle",
]
