"""What the client reports about its calls.

- ``WriteIntent`` goes to ``on_write`` just before a write (POST, PATCH, PUT,
  DELETE) is sent, so the app can record it before Partner Center can apply it.
- ``CallRecord`` goes to ``on_call`` after every HTTP attempt, reads included; a
  write's record carries the same ``request_id`` as its intent, so the app can
  complete the intent with the outcome.

``Operation`` names what an endpoint method was doing, so the app never has to
guess it from the URL.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = ["CallRecord", "Operation", "WriteIntent"]


class Operation(StrEnum):
    """Stable codes for what a call does; values are plain strings."""

    ORDER = "order"
    LICENCE_UPDATE = "licence_update"
    SUBSCRIPTION_PATCH = "subscription_patch"
    SUBSCRIPTION_SUSPEND = "subscription_suspend"
    SUBSCRIPTION_AUTO_RENEW_OFF = "subscription_auto_renew_off"
    SUBSCRIPTION_AUTO_RENEW_ON = "subscription_auto_renew_on"
    SUBSCRIPTION_CANCEL = "subscription_cancel"
    SCHEDULED_CHANGE = "scheduled_change"
    CART_CREATE = "cart_create"
    CART_UPDATE = "cart_update"
    CART_CHECKOUT = "cart_checkout"
    TRANSITION = "transition"
    RELATIONSHIP_REQUEST = "relationship_request"


@dataclass(frozen=True)
class CallRecord:
    """One HTTP attempt, for the audit log. Never holds headers or tokens.

    ``path`` is relative to the API root, without the query string. ``status`` is
    None when no answer was read. ``error_code`` is the Partner Center error code,
    or ``"timeout"`` / ``"connection_error"`` when no answer was read.
    ``operation`` is the ``Operation`` code of the endpoint method that made the
    call (also on the reads a write method makes, such as the GET before a PATCH),
    or None for plain reads. ``app_user`` is True when the call carried the
    app+user token (users, licences, subscribed SKUs, invitations).
    """

    method: str
    path: str
    status: int | None
    request_id: str
    correlation_id: str
    duration_ms: int
    error_code: str | None
    is_write: bool
    operation: str | None = None
    app_user: bool = False


@dataclass(frozen=True)
class WriteIntent:
    """A write about to be sent; never holds headers, tokens or the body.

    ``path`` is relative to the API root, without the query string. Exactly one
    ``CallRecord`` with the same ``request_id`` follows each intent (with
    ``status`` None when no answer was read).
    """

    method: str
    path: str
    request_id: str
    correlation_id: str
    operation: str | None = None
