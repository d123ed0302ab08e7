"""In-memory state of the sandbox: customers, subscriptions, users, orders, carts,
transitions, the clock, settings, fault rules, the request log and the MS-RequestId
de-duplication store.

Every read or write of a ``SandboxState`` happens while holding ``state.lock``. The
methods here assume the caller holds it. What happens over time (provisioning,
renewals) lives in ``sandbox.provisioning``; ``settle`` there brings the state up to
the clock before each call.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from sandbox import catalog, products
from sandbox.records import (
    OTHER_PARTNER_ID,
    PARTNER_ID,
    PARTNER_TENANT_ID,
    bump_etag,
    iso,
    make_etag,
    utcnow,
)
from sandbox.settings import (
    DEFAULT_FIDELITY,
    DEFAULT_SETTINGS,
    validate_settings,
)

__all__ = [
    "DEDUP_LIMIT",
    "OTHER_PARTNER_ID",
    "PARTNER_ID",
    "PARTNER_TENANT_ID",
    "SandboxState",
    "bump_etag",
    "iso",
    "make_etag",
    "utcnow",
    "validate_settings",
]

#: Most recent /v1 calls kept in the request log.
REQUEST_LOG_LIMIT = 100_000
#: Most recent writes remembered for MS-RequestId de-duplication.
DEDUP_LIMIT = 100_000

Store = dict[str, dict[str, dict[str, Any]]]


class SandboxState:
    """The whole mutable world of one sandbox: seeded data plus runtime bookkeeping."""

    def __init__(self, customers: int = 0, seed: int = 0) -> None:
        """Create an empty state; ``sandbox.seed.build_state`` fills it."""
        self.lock = threading.RLock()
        self.customer_count = customers
        self.seed = seed
        # Keys of every id-indexed dict are lower-case ids.
        self.customers: dict[str, dict[str, Any]] = {}
        self.invitations: dict[str, dict[str, Any]] = {}
        self.subscriptions: Store = {}
        self.users: Store = {}
        self.orders: Store = {}
        self.carts: Store = {}
        self.transitions: Store = {}
        #: Seconds the sandbox clock runs ahead of (or behind) the real clock.
        self.clock_offset = 0.0
        #: Clock time (epoch seconds) of the next thing due (None: scan again).
        self.next_due: float | None = None
        #: Issued access tokens: token -> {expires, kind: app|user, mfa}.
        self.access_tokens: dict[str, dict[str, Any]] = {}
        #: Issued or redeemed refresh tokens: token -> {issued, replacedAt, mfa}.
        self.refresh_tokens: dict[str, dict[str, Any]] = {}
        self.settings: dict[str, Any] = {**DEFAULT_SETTINGS, **DEFAULT_FIDELITY}
        #: The fidelity switches the server started with; a reset restores them.
        self.fidelity_start: dict[str, Any] = dict(DEFAULT_FIDELITY)
        self.faults: list[dict[str, Any]] = []
        self.requests: deque[dict[str, Any]] = deque(maxlen=REQUEST_LOG_LIMIT)
        self.writes: deque[dict[str, Any]] = deque(maxlen=REQUEST_LOG_LIMIT)
        self.dedup: OrderedDict[tuple[str, str, str], dict[str, Any]] = OrderedDict()
        self._customer_ids: list[str] | None = None
        #: True when the state changed since it was last saved (see sandbox.persist).
        self.dirty = False

    # ------------------------------------------------------------------ lifecycle

    def replace_data(self, other: SandboxState) -> None:
        """Take over the seeded data of another state; clear faults, logs and dedup.

        Settings are kept, fidelity switches go back to the values the server
        started with; the clock goes back to real time.
        """
        self.settings.update(self.fidelity_start)
        self.customer_count = other.customer_count
        self.seed = other.seed
        self.customers = other.customers
        self.invitations = other.invitations
        self.subscriptions = other.subscriptions
        self.users = other.users
        self.orders = other.orders
        self.carts = other.carts
        self.transitions = other.transitions
        self.clock_offset = other.clock_offset
        self.next_due = None
        self.dirty = True
        self.faults = []
        self.requests.clear()
        self.writes.clear()
        self.dedup.clear()
        self._customer_ids = None

    # ------------------------------------------------------------------ clock

    def time(self) -> float:
        """Return the sandbox clock as epoch seconds."""
        return time.time() + self.clock_offset

    def now(self) -> datetime:
        """Return the sandbox clock as an aware UTC datetime."""
        return datetime.fromtimestamp(self.time(), UTC)

    def due_at(self, moment: float) -> None:
        """Note that something is due at clock time ``moment``."""
        if self.next_due is None or moment < self.next_due:
            self.next_due = moment

    # ------------------------------------------------------------------ lookups

    def customer_ids(self) -> list[str]:
        """Return the listing order of (accepted) customers as lower-case ids."""
        if self._customer_ids is None:
            self._customer_ids = list(self.customers)
        return self._customer_ids

    def customer(self, customer_id: str) -> dict[str, Any] | None:
        """Return a listed customer record, or None (unknown or pending)."""
        return self.customers.get(customer_id.lower())

    def customer_by_name(self, company_name: str) -> dict[str, Any]:
        """Return the customer (or pending invitation) with this company name.

        Raise KeyError if there is none.
        """
        for record in list(self.customers.values()) + list(self.invitations.values()):
            if record["companyName"] == company_name:
                return record
        raise KeyError(company_name)

    def subscriptions_of(self, customer_id: str) -> list[dict[str, Any]]:
        """Return the subscription records of a tenant."""
        return list(self.subscriptions.get(customer_id.lower(), {}).values())

    def users_of(self, customer_id: str) -> list[dict[str, Any]]:
        """Return the user records of a tenant."""
        return list(self.users.get(customer_id.lower(), {}).values())

    def subscription(self, customer_id: str, sub_id: str) -> dict[str, Any] | None:
        """Return one subscription record, or None."""
        return self.subscriptions.get(customer_id.lower(), {}).get(sub_id.lower())

    def user(self, customer_id: str, user_id: str) -> dict[str, Any] | None:
        """Return one user record, or None."""
        return self.users.get(customer_id.lower(), {}).get(user_id.lower())

    def add_subscription(self, sub: dict[str, Any]) -> None:
        """Store a subscription record under its customer; its term end is due."""
        self.subscriptions.setdefault(sub["customerId"].lower(), {})[
            sub["id"].lower()
        ] = sub
        self.next_due = None

    # ------------------------------------------------------------------ invitations

    def accept_invitation(self, tenant_id: str) -> dict[str, Any] | None:
        """Turn a pending invitation into a reseller customer and return it.

        Return the existing customer when it was already accepted, None when unknown.
        """
        key = tenant_id.lower()
        if key in self.customers:
            return self.customers[key]
        record = self.invitations.pop(key, None)
        if record is None:
            return None
        record["relationshipToPartner"] = "reseller"
        record["pendingInvitation"] = False
        self.customers[key] = record
        self._customer_ids = None
        return record

    # ------------------------------------------------------------------ licences

    def sku_units(self, customer_id: str) -> dict[str, dict[str, int]]:
        """Return per skuId: activeUnits, suspendedUnits and consumedUnits.

        Units come from every subscription of the tenant (any partner) granting the
        skuId, plus licences the tenant bought through other channels (the customer's
        ``otherChannelUnits``): active ones count as active, suspended ones as
        suspended. Consumed units are the users holding the skuId. Only skuIds with a
        subscription that is not deleted, other-channel units or a holder appear.
        """
        units: dict[str, dict[str, int]] = {}

        def row(sku: str) -> dict[str, int]:
            return units.setdefault(sku, {"active": 0, "suspended": 0, "consumed": 0})

        for sub in self.subscriptions.get(customer_id.lower(), {}).values():
            status = sub.get("status")
            if status == "deleted":
                continue
            counts = row(sub["skuId"])
            if status == "active":
                counts["active"] += int(sub.get("quantity") or 0)
            elif status == "suspended":
                counts["suspended"] += int(sub.get("quantity") or 0)
        tenant = self.customers.get(customer_id.lower()) or {}
        for sku, count in (tenant.get("otherChannelUnits") or {}).items():
            row(sku.lower())["active"] += int(count)
        for user in self.users.get(customer_id.lower(), {}).values():
            for sku in user.get("licenses", ()):
                row(sku)["consumed"] += 1
        return units

    # ------------------------------------------------------------------ dump

    def dump(self) -> dict[str, Any]:
        """Return the whole state as JSON-ready plain data."""

        def flat(source: Store) -> list[dict[str, Any]]:
            return [dict(r) for per in source.values() for r in per.values()]

        subscriptions = flat(self.subscriptions)
        return {
            "seed": self.seed,
            "customer_count": self.customer_count,
            "partner_id": PARTNER_ID,
            "clock": {"offsetSeconds": self.clock_offset},
            "customers": [dict(c) for c in self.customers.values()],
            "invitations": [dict(c) for c in self.invitations.values()],
            "subscriptions": subscriptions,
            "billing": [_billing(s) for s in subscriptions],
            "users": flat(self.users),
            "orders": flat(self.orders),
            "carts": flat(self.carts),
            "transitions": flat(self.transitions),
            "offers": [dict(o) for o in catalog.OFFERS],
            "products": [
                asdict(s) | {"catalogItemId": s.catalog_item_id} for s in products.SKUS
            ],
            "settings": dict(self.settings),
            "faults": [
                {k: v for k, v in f.items() if not k.startswith("_")}
                for f in self.faults
            ],
            "requests": list(self.requests),
            "writes": list(self.writes),
        }


def _billing(sub: dict[str, Any]) -> dict[str, Any]:
    """Return whether (and through when) a subscription is being billed."""
    row: dict[str, Any] = {
        "subscriptionId": sub["id"],
        "customerId": sub["customerId"],
        "subscriptionStatus": sub.get("status"),
    }
    ledger = sub.get("billing")
    if isinstance(ledger, dict):
        row["commerce"] = "new"
        row["billing"] = ledger.get("status")
        row["billedThrough"] = ledger.get("billedThrough")
        row["events"] = ledger.get("events", [])
        return row
    row["commerce"] = "legacy"
    row["billing"] = "billing" if sub.get("status") == "active" else "stopped"
    return row
