"""Read queries for a customer's Activity card: its latest events in plain words."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field

from migrations_app.models import AuditEvent, Outcome
from migrations_app.selectors.audit import customer_recent_events
from migrations_app.selectors.customers import (
    customer_migration_retire_modes,
    customer_user_names,
)

# Rows shown on a customer's page; licence moves of one migration share a row,
# so more events than that are read to fill them.
CUSTOMER_EVENTS = 20
CUSTOMER_EVENTS_READ = 200
PC_WRITE = "partner_center.write"

_LICENCE_PATH = re.compile(r"^/customers/[^/]+/users/[^/]+/licenseupdates$")
_ORDERS_PATH = re.compile(r"^/customers/[^/]+/orders$")
_ORDER_PATH = re.compile(r"^/customers/[^/]+/orders/[^/]+$")
_SUBSCRIPTION_PATH = re.compile(r"^/customers/[^/]+/subscriptions/[^/]+$")

# (words when it worked, words when it did not), by kind of write.
_WRITE_WORDS: dict[str, tuple[str, str]] = {
    "order": ("Order placed", "Order not placed"),
    "order_update": ("Order updated", "Order not updated"),
    "suspend": ("Subscription suspended", "Subscription not suspended"),
    "expire": ("Auto-renew turned off", "Auto-renew not turned off"),
    "subscription": ("Subscription updated", "Subscription not updated"),
    "cart": ("Cart prepared", "Cart not prepared"),
    "cancel": ("Subscription cancelled", "Subscription not cancelled"),
    "transition": ("Transition requested", "Transition not requested"),
    "schedule": ("Change at renewal scheduled", "Change at renewal not scheduled"),
    "auto_renew_on": ("Auto-renew turned on", "Auto-renew not turned on"),
}


@dataclass
class ActivityRow:
    """One row of a customer's activity: an event, or a run of licence moves."""

    event: AuditEvent
    what: str
    moves: list[tuple[str, AuditEvent]] = field(default_factory=list)


# What a write did, by the operation the client recorded where the call was made.
_OPERATION_KINDS = {
    "licence_update": "licence",
    "order": "order",
    "cart_checkout": "order",
    "subscription_suspend": "suspend",
    "subscription_auto_renew_off": "expire",
    "subscription_patch": "subscription",
    "cart_create": "cart",
    "cart_update": "cart",
    "subscription_cancel": "cancel",
    "subscription_auto_renew_on": "auto_renew_on",
    "transition": "transition",
    "scheduled_change": "schedule",
}


def _write_kind(event: AuditEvent, retire_modes: dict[int, str]) -> str:
    operation = (event.details or {}).get("operation", "")
    if operation in _OPERATION_KINDS:
        return _OPERATION_KINDS[operation]
    # Events written before operations were recorded: read the path.
    path = event.pc_path.split("?", 1)[0].rstrip("/")
    if event.pc_method == "POST" and _LICENCE_PATH.match(path):
        return "licence"
    if event.pc_method == "POST" and _ORDERS_PATH.match(path):
        return "order"
    if event.pc_method == "PATCH" and _ORDER_PATH.match(path):
        return "order_update"
    if event.pc_method == "PATCH" and _SUBSCRIPTION_PATH.match(path):
        mode = retire_modes.get(event.migration_id or 0, "")
        return mode if mode in ("suspend", "expire") else "subscription"
    return ""


def activity_rows(
    events: list[AuditEvent],
    *,
    names: dict[str, str],
    retire_modes: dict[int, str],
    limit: int = CUSTOMER_EVENTS,
) -> list[ActivityRow]:
    """Return events (newest first) as rows in plain words.

    Consecutive licence moves of one migration with one outcome share a row that
    lists each user with its MS-RequestId.
    """
    rows: list[ActivityRow] = []
    for event in events:
        kind = _write_kind(event, retire_modes) if event.action == PC_WRITE else ""
        ok = event.outcome == Outcome.SUCCESS.value
        if kind == "licence":
            who = names.get(event.target_user_id, event.target_user_id or "a user")
            last = rows[-1] if rows else None
            if (
                last is not None
                and last.moves
                and last.event.migration_id == event.migration_id
                and last.event.outcome == event.outcome
            ):
                last.moves.append((who, event))
                count = len(last.moves)
                last.what = (
                    f"Licences moved for {count} users"
                    if ok
                    else f"Licence moves failed for {count} users"
                )
                continue
            what = (
                f"Licence moved for {who}" if ok else f"Licence move failed for {who}"
            )
            rows.append(ActivityRow(event=event, what=what, moves=[(who, event)]))
        elif kind:
            done, failed = _WRITE_WORDS[kind]
            rows.append(ActivityRow(event=event, what=done if ok else failed))
        else:
            rows.append(ActivityRow(event=event, what=event.message))
        if len(rows) > limit:
            break
    return rows[:limit]


def customer_activity(*, tenant_id: uuid.UUID | str) -> list[ActivityRow]:
    """Return the customer's latest activity rows, newest first (empty if none).

    Three queries at most, however many events or users there are.
    """
    events = customer_recent_events(tenant_id=tenant_id, limit=CUSTOMER_EVENTS_READ)
    writes = [e for e in events if e.action == PC_WRITE]
    user_ids = sorted({e.target_user_id for e in writes if e.target_user_id})
    migration_ids = sorted(
        {e.migration_id for e in writes if e.migration_id and e.pc_method == "PATCH"}
    )
    return activity_rows(
        events,
        names=customer_user_names(tenant_id=tenant_id, user_ids=user_ids),
        retire_modes=customer_migration_retire_modes(migration_ids=migration_ids),
    )
