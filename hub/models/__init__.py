from hub.models.audit import (
    AuditChainHead,
    AuditEvent,
    AuditLogIsAppendOnly,
    AuditVerification,
    Outcome,
)
from hub.models.catalog import SkuMapping, SkuMappingTarget
from hub.models.invitations import (
    InvitationLink,
    InvitationStatus,
    ResellerInvitation,
)
from hub.models.migration import (
    CLOSED_STATES,
    STEPS,
    TERMINAL_STATES,
    LicenseMove,
    Migration,
    MigrationState,
    RetireMode,
)
from hub.models.partner import (
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
