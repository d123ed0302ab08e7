"""In-memory state of the sandbox: customers, subscriptions, users, orders, settings,
fault rules, the request log and the MS-RequestId de-duplication store.

Every read or write of a ``SandboxState`` happens while holding ``state.lock``. The
methods here assume the caller holds it.
"""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from collections import OrderedDict, deque
from datetime import UTC, datetime
from typing import Any

from sandbox import catalog

#: Our partner's MPN id in the sandbox.
PARTNER_ID = "4847383"
#: MPN id carried by subscriptions sold by another partner or channel.
OTHER_PARTNER_ID = "9988776"
#: Our partner's own tenant id (appears in the reseller relationship request url).
PARTNER_TENANT_ID = str(uuid.uuid5(catalog.CATALOG_NAMESPACE, "partner-tenant"))

PAGE_END_STYLES = ("absent", "error2000")
DUPLICATE_REQUEST_ID_MODES = ("replay", "conflict")

#: Settings and their defaults (documented in sandbox/README.md).
DEFAULT_SETTINGS: dict[str, Any] = {
    "rate_limit_per_minute": 3000,
    "retry_after_seconds": None,
    "provisioning_delay_seconds": 2.0,
    "latency_ms": 0,
    "page_end_style": "absent",
    "duplicate_request_id": "replay",
}

#: Most recent /v1 calls kept in the request log.
REQUEST_LOG_LIMIT = 100_000
#: Most recent writes remembered for MS-RequestId de-duplication.
DEDUP_LIMIT = 100_000


def iso(moment: datetime) -> str:
    """Return a UTC datetime as Partner Center's ``YYYY-MM-DDTHH:MM:SSZ`` text."""
    if moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC)
    return moment.isoformat(timespec="seconds")[:19] + "Z"


def utcnow() -> datetime:
    """Return the current time as an aware UTC datetime."""
    return datetime.now(UTC)


def make_etag(record_id: str, version: int) -> str:
    """Return an opaque etag for a resource id and version."""
    raw = f'{{"id":{json.dumps(record_id)},"version":{int(version)}}}'
    return base64.b64encode(raw.encode()).decode()


def bump_etag(sub: dict[str, Any]) -> None:
    """Give a subscription record a new version and etag."""
    sub["version"] = int(sub.get("version", 0)) + 1
    sub["etag"] = make_etag(sub["id"], sub["version"])


def validate_settings(changes: dict[str, Any]) -> dict[str, Any]:
    """Return the settings changes coerced to their types.

    Raise ValueError for an unknown key or a bad value.
    """
    clean: dict[str, Any] = {}
    for key, value in changes.items():
        if key not in DEFAULT_SETTINGS:
            raise ValueError(f"unknown setting {key!r}")
        try:
            if key in ("rate_limit_per_minute", "latency_ms"):
                clean[key] = int(value)
            elif key == "retry_after_seconds":
                clean[key] = None if value is None else int(value)
            elif key == "provisioning_delay_seconds":
                clean[key] = float(value)
            elif key == "page_end_style":
                if value not in PAGE_END_STYLES:
                    raise ValueError(f"page_end_style must be one of {PAGE_END_STYLES}")
                clean[key] = value
            else:
                if value not in DUPLICATE_REQUEST_ID_MODES:
                    raise ValueError(
                        f"duplicate_request_id must be one of "
                        f"{DUPLICATE_REQUEST_ID_MODES}"
                    )
                clean[key] = value
        except (TypeError, ValueError) as exc:
            raise ValueError(f"bad value for {key}: {exc}") from exc
    return clean


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
        self.subscriptions: dict[str, dict[str, dict[str, Any]]] = {}
        self.users: dict[str, dict[str, dict[str, Any]]] = {}
        self.orders: dict[str, dict[str, dict[str, Any]]] = {}
        self.settings: dict[str, Any] = dict(DEFAULT_SETTINGS)
        self.faults: list[dict[str, Any]] = []
        self.requests: deque[dict[str, Any]] = deque(maxlen=REQUEST_LOG_LIMIT)
        self.writes: deque[dict[str, Any]] = deque(maxlen=REQUEST_LOG_LIMIT)
        self.dedup: OrderedDict[tuple[str, str, str], dict[str, Any]] = OrderedDict()
        self._customer_ids: list[str] | None = None

    # ------------------------------------------------------------------ lifecycle

    def replace_data(self, other: SandboxState) -> None:
        """Take over the seeded data of another state; clear faults, logs and dedup.

        Settings are kept.
        """
        self.customer_count = other.customer_count
        self.seed = other.seed
        self.customers = other.customers
        self.invitations = other.invitations
        self.subscriptions = other.subscriptions
        self.users = other.users
        self.orders = other.orders
        self.faults = []
        self.requests.clear()
        self.writes.clear()
        self.dedup.clear()
        self._customer_ids = None

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
        """Return the subscription records of a tenant (after provisioning)."""
        self.materialise(customer_id)
        return list(self.subscriptions.get(customer_id.lower(), {}).values())

    def users_of(self, customer_id: str) -> list[dict[str, Any]]:
        """Return the user records of a tenant."""
        return list(self.users.get(customer_id.lower(), {}).values())

    def subscription(self, customer_id: str, sub_id: str) -> dict[str, Any] | None:
        """Return one subscription record, or None."""
        self.materialise(customer_id)
        return self.subscriptions.get(customer_id.lower(), {}).get(sub_id.lower())

    def user(self, customer_id: str, user_id: str) -> dict[str, Any] | None:
        """Return one user record, or None."""
        return self.users.get(customer_id.lower(), {}).get(user_id.lower())

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

    # ------------------------------------------------------------------ orders

    def add_subscription(self, sub: dict[str, Any]) -> None:
        """Store a subscription record under its customer."""
        self.subscriptions.setdefault(sub["customerId"].lower(), {})[
            sub["id"].lower()
        ] = sub

    def materialise(self, customer_id: str, now: float | None = None) -> None:
        """Provision the subscriptions of the tenant's orders whose delay passed."""
        orders = self.orders.get(customer_id.lower())
        if not orders:
            return
        moment = time.time() if now is None else now
        for order in orders.values():
            due = order.get("provisionAt")
            if due is None or due > moment:
                continue
            self._provision(order)

    def materialise_all(self) -> None:
        """Provision every order whose delay has passed (all tenants)."""
        moment = time.time()
        for customer_id in list(self.orders):
            self.materialise(customer_id, moment)

    def _provision(self, order: dict[str, Any]) -> None:
        """Create the subscriptions of a pending order and mark it completed."""
        now = utcnow()
        created = datetime.fromtimestamp(order["provisionAt"], UTC)
        for item in order["lineItems"]:
            offer = catalog.offer_by_id(item["offerId"])
            if offer is None:  # validated at order time; defensive only
                continue
            sub_id = str(uuid.uuid4())
            end = created.replace(hour=0, minute=0, second=0, microsecond=0)
            try:
                end = end.replace(year=end.year + 1)
            except ValueError:  # 29 February
                end = end.replace(year=end.year + 1, day=28)
            sub: dict[str, Any] = {
                "id": sub_id,
                "offerId": offer["id"],
                "offerName": offer["name"],
                "friendlyName": item.get("friendlyName") or offer["name"],
                "quantity": item["quantity"],
                "unitType": "Licenses",
                "creationDate": iso(created),
                "effectiveStartDate": iso(
                    created.replace(hour=0, minute=0, second=0, microsecond=0)
                ),
                "commitmentEndDate": iso(end),
                "status": "active",
                "autoRenewEnabled": True,
                "isTrial": False,
                "hasPurchasableAddons": False,
                "billingType": "license",
                "billingCycle": order["billingCycle"],
                "termDuration": "P1Y",
                "contractType": "subscription",
                "partnerId": PARTNER_ID,
                "orderId": order["id"],
                "suspensionReasons": [],
                "customerId": order["customerId"],
                "skuId": offer["skuId"],
                "version": 0,
            }
            bump_etag(sub)
            self.add_subscription(sub)
            item["subscriptionId"] = sub_id
        order["status"] = "completed"
        order["provisionAt"] = None
        order["completedAt"] = iso(now)

    # ------------------------------------------------------------------ licences

    def sku_units(self, customer_id: str) -> dict[str, dict[str, int]]:
        """Return per skuId: activeUnits, suspendedUnits and consumedUnits.

        Units come from every subscription of the tenant (any partner) granting the
        skuId: active ones count as active, suspended ones as suspended. Consumed units
        are the users holding the skuId. Only skuIds with a live (not deleted)
        subscription or a holder appear.
        """
        self.materialise(customer_id)
        units: dict[str, dict[str, int]] = {}
        for sub in self.subscriptions.get(customer_id.lower(), {}).values():
            if sub.get("status") == "deleted":
                continue
            row = units.setdefault(
                sub["skuId"], {"active": 0, "suspended": 0, "consumed": 0}
            )
            if sub.get("status") == "active":
                row["active"] += int(sub.get("quantity") or 0)
            elif sub.get("status") == "suspended":
                row["suspended"] += int(sub.get("quantity") or 0)
        for user in self.users.get(customer_id.lower(), {}).values():
            for sku in user.get("licenses", ()):
                row = units.setdefault(
                    sku, {"active": 0, "suspended": 0, "consumed": 0}
                )
                row["consumed"] += 1
        return units

    # ------------------------------------------------------------------ dump

    def dump(self) -> dict[str, Any]:
        """Return the whole state as JSON-ready plain data (after provisioning)."""
        self.materialise_all()

        def flat(source: dict[str, dict[str, dict[str, Any]]]) -> list[dict[str, Any]]:
            return [dict(r) for per in source.values() for r in per.values()]

        return {
            "seed": self.seed,
            "customer_count": self.customer_count,
            "partner_id": PARTNER_ID,
            "customers": [dict(c) for c in self.customers.values()],
            "invitations": [dict(c) for c in self.invitations.values()],
            "subscriptions": flat(self.subscriptions),
            "users": flat(self.users),
            "orders": flat(self.orders),
            "offers": [dict(o) for o in catalog.OFFERS],
            "settings": dict(self.settings),
            "faults": [
                {k: v for k, v in f.items() if not k.startswith("_")}
                for f in self.faults
            ],
            "requests": list(self.requests),
            "writes": list(self.writes),
        }
