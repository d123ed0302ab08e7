"""A typed, Django-free client for the Microsoft Partner Center REST API.

Build one with ``partner_center.config.build_client`` (or reuse this process's with
``shared_client``); see ``client.py`` for the operations, ``records.py`` for the
hooks and ``errors.py`` for what each failure means.
"""

from partner_center.auth import MemoryRefreshTokenStore, RefreshTokenStore
from partner_center.client import (
    CallRecord,
    Operation,
    PartnerCenterClient,
    WriteIntent,
)
from partner_center.config import (
    PartnerCenterConfig,
    build_client,
    clear_shared_clients,
    shared_client,
)
from partner_center.errors import (
    AgreementNotAccepted,
    AuthError,
    Conflict,
    Forbidden,
    GdapAccessDenied,
    MalformedResponse,
    MfaRequired,
    NotFound,
    PartnerCenterError,
    PermanentError,
    RefreshTokenExpired,
    Throttled,
    TransientError,
)
from partner_center.models import normalise_id

__all__ = [
    "AgreementNotAccepted",
    "AuthError",
    "CallRecord",
    "Conflict",
    "Forbidden",
    "GdapAccessDenied",
    "MalformedResponse",
    "MemoryRefreshTokenStore",
    "MfaRequired",
    "NotFound",
    "Operation",
    "PartnerCenterClient",
    "PartnerCenterConfig",
    "PartnerCenterError",
    "PermanentError",
    "RefreshTokenExpired",
    "RefreshTokenStore",
    "Throttled",
    "TransientError",
    "WriteIntent",
    "build_client",
    "clear_shared_clients",
    "normalise_id",
    "shared_client",
]
