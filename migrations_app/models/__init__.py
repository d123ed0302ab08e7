from migrations_app.models.audit import (
    AuditChainHead,
    AuditEvent,
    AuditLogIsAppendOnly,
    AuditVerification,
    Outcome,
)
from migrations_app.models.catalog import SkuMapping, SkuMappingTarget
from migrations_app.models.invitations import (
    InvitationLink,
    InvitationStatus,
    ResellerInvitation,
)
from migrations_app.models.migration import (
    CLOSED_STATES,
    STEPS,
    TERMINAL_STATES,
    LicenseMove,
    Migration,
    MigrationState,
    RetireMode,
)
from migrations_app.models.partner import (
    Customer,
    CustomerUser,
    Offer,
    SubscribedSku,
    Subscription,
    SyncRun,
    UserLicense,
)

__all__ = [
    "CLOSED_STATES",
    "STEPS",
    "TERMINAL_STATES",
    "AuditChainHead",
    "AuditEvent",
    "AuditLogIsAppendOnly",
    "AuditVerification",
    "Customer",
    "CustomerUser",
    "InvitationLink",
    "InvitationStatus",
    "LicenseMove",
    "Migration",
    "MigrationState",
    "Offer",
    "Outcome",
    "ResellerInvitation",
    "RetireMode",
    "SkuMapping",
    "SkuMappingTarget",
    "SubscribedSku",
    "Subscription",
    "SyncRun",
    "UserLicense",
]
