"""A typed, Django-free client for the Microsoft Partner Center REST API.

Build one with ``partner_center.config.build_client``; see ``client.py`` for the
operations and ``errors.py`` for what each failure means.
"""

from partner_center.client import (
    CallRecord,
    Operation,
    PartnerCenterClient,
    WriteIntent,
)
from partner_center.config import PartnerCenterConfig, build_client
from partner_center.errors import (
    AuthError,
    Conflict,
    Forbidden,
    MalformedResponse,
    NotFound,
    PartnerCenterError,
    PermanentError,
    Throttled,
    TransientError,
)
from partner_center.models import normalise_id

__all__ = [
    "AuthError",
    "CallRecord",
    "Conflict",
    "Forbidden",
    "MalformedResponse",
    "NotFound",
    "Operation",
    "PartnerCenterClient",
    "PartnerCenterConfig",
    "PartnerCenterError",
    "PermanentError",
    "Throttled",
    "TransientError",
    "WriteIntent",
    "build_client",
    "normalise_id",
]
