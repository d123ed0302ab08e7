"""The seed builder: tenants, users and subscriptions (with their orders) written
into a ``SandboxState``. Scenario and generated estates use these primitives."""

from __future__ import annotations

import random
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sandbox import catalog, nce, products
from sandbox.seed.names import FIRST_NAMES, LAST_NAMES
from sandbox.state import PARTNER_ID, SandboxState, bump_etag, iso

#: Namespace of the stable scenario tenant ids (``uuid5(namespace, "seed:name")``).
SEED_NAMESPACE = uuid.UUID("0f6c5a3e-1b7d-4c2a-9e84-6d3b2a1c0e57")

_V4_CLEAR = ~((0xF000 << 64) | (0xC000 << 48))
_V4_SET = (0x4000 << 64) | (0x8000 << 48)


def guid(rng: random.Random) -> str:
    """Return a random (version 4 shaped) lower-case GUID drawn from ``rng``.

    Same text as ``str(uuid.UUID(int=bits, version=4))``, without the object.
    """
    h = f"{(rng.getrandbits(128) & _V4_CLEAR) | _V4_SET:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def midnight(now: datetime | None) -> datetime:
    """Return today's UTC midnight (or that of ``now``)."""
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


#: The roles a seeded GDAP relationship grants unless a scenario says otherwise.
DEFAULT_GDAP_ROLES = (
    "Directory Readers",
    "License Administrator",
    "User Administrator",
)


class Builder:
    """Fill a SandboxState with tenants, users, subscriptions and their orders."""

    def __init__(self, state: SandboxState, seed: int, today: datetime) -> None:
        """Prepare a builder writing into ``state``."""
        self.state = state
        self.seed = seed
        self.today = today
        self.names: set[str] = set()
        self.domains: set[str] = set()

    # -------------------------------------------------------------- primitives

    def domain_for(self, stem: str) -> str:
        """Return a unique ``*.onmicrosoft.com`` domain built from ``stem``."""
        base = "".join(ch for ch in stem.lower() if ch.isalnum())[:24] or "tenant"
        candidate, n = base, 1
        while candidate in self.domains:
            n += 1
            candidate = f"{base}{n}"
        self.domains.add(candidate)
        return f"{candidate}.onmicrosoft.com"

    def tenant(
        self,
        rng: random.Random,
        name: str,
        country: str,
        culture: str,
        *,
        tenant_id: str | None = None,
        pending: bool = False,
        scenario: bool = False,
        domain_stem: str | None = None,
    ) -> dict[str, Any]:
        """Create and store a tenant record; return it."""
        self.names.add(name)
        tid = tenant_id or guid(rng)
        domain = self.domain_for(domain_stem or name)
        first = rng.choice(FIRST_NAMES)
        last = rng.choice(LAST_NAMES)
        record: dict[str, Any] = {
            "id": tid,
            "commerceId": guid(rng),
            "companyName": name,
            "domain": domain,
            "relationshipToPartner": "none" if pending else "reseller",
            "country": country,
            "culture": culture,
            "billingFirstName": first,
            "billingLastName": last,
            "billingEmail": f"{first.lower()}.{last.lower()}@{domain}",
            "scenario": name if scenario else None,
            "pendingInvitation": pending,
            "mcaAccepted": True,
            # The GDAP roles the customer's relationship grants (a scenario may
            # grant fewer; PATCH /_sandbox/customers/{id} changes them).
            "gdapRoles": list(DEFAULT_GDAP_ROLES),
        }
        key = tid.lower()
        if pending:
            self.state.invitations[key] = record
        else:
            self.state.customers[key] = record
        self.state.subscriptions[key] = {}
        self.state.users[key] = {}
        self.state.orders[key] = {}
        return record

    def users(
        self,
        rng: random.Random,
        tenant: dict[str, Any],
        count: int,
        *,
        missing_location: int = 0,
        missing_probability: float = 0.0,
    ) -> list[dict[str, Any]]:
        """Create ``count`` users; the first ``missing_location`` lack usageLocation."""
        created: list[dict[str, Any]] = []
        store = self.state.users[tenant["id"].lower()]
        domain = tenant["domain"]
        seen: set[str] = set()
        for index in range(count):
            first = rng.choice(FIRST_NAMES)
            last = rng.choice(LAST_NAMES)
            local = f"{first}.{last}".lower()
            n = 1
            while local in seen:
                n += 1
                local = f"{first}.{last}{n}".lower()
            seen.add(local)
            lacks = index < missing_location or (
                missing_probability > 0 and rng.random() < missing_probability
            )
            user: dict[str, Any] = {
                "id": guid(rng),
                "customerId": tenant["id"],
                "userPrincipalName": f"{local}@{domain}",
                "firstName": first,
                "lastName": last,
                "displayName": f"{first} {last}",
                "usageLocation": None if lacks else tenant["country"],
                "userDomainType": "none",
                "state": "active",
                "licenses": [],
            }
            store[user["id"].lower()] = user
            created.append(user)
        return created

    def subscription(
        self,
        rng: random.Random,
        tenant: dict[str, Any],
        offer_name: str,
        quantity: int,
        *,
        holders: Sequence[dict[str, Any]] = (),
        status: str = "active",
        auto_renew: bool = True,
        end_in_days: int = 180,
        partner_id: str = PARTNER_ID,
        parent: dict[str, Any] | None = None,
        friendly_name: str | None = None,
        billing_cycle: str = "monthly",
    ) -> dict[str, Any]:
        """Create a subscription (and its completed order); give holders the licence."""
        offer = catalog.offer_by_name(offer_name)
        end = self.today + timedelta(days=end_in_days)
        start = end - timedelta(days=365)
        created = start - timedelta(
            days=365 * rng.randint(0, 3), seconds=rng.randint(3600, 80000)
        )
        order_id = guid(rng).upper()
        sub: dict[str, Any] = {
            "id": guid(rng),
            "offerId": offer["id"],
            "offerName": offer["name"],
            "friendlyName": friendly_name or offer["name"],
            "quantity": quantity,
            "unitType": "Licenses",
            "creationDate": iso(created),
            "effectiveStartDate": iso(start),
            "commitmentEndDate": iso(end),
            "status": status,
            "autoRenewEnabled": auto_renew,
            "isTrial": False,
            "hasPurchasableAddons": False,
            "billingType": "license",
            "billingCycle": billing_cycle,
            "termDuration": "P1Y",
            "contractType": "subscription",
            "partnerId": partner_id,
            "orderId": order_id,
            "suspensionReasons": (
                ["CustomerCancellation"] if status == "suspended" else []
            ),
            "customerId": tenant["id"],
            "skuId": offer["skuId"],
            "version": 0,
        }
        if parent is not None:
            sub["parentSubscriptionId"] = parent["id"]
        bump_etag(sub)
        self.state.add_subscription(sub)
        self.state.orders[tenant["id"].lower()][order_id.lower()] = {
            "id": order_id,
            "customerId": tenant["id"],
            "referenceCustomerId": tenant["id"],
            "billingCycle": billing_cycle,
            "currencyCode": "USD",
            "lineItems": [
                {
                    "lineItemNumber": 0,
                    "offerId": offer["id"],
                    "friendlyName": sub["friendlyName"],
                    "quantity": quantity,
                    "subscriptionId": sub["id"],
                }
            ],
            "creationDate": iso(created),
            "status": "completed",
            "provisionAt": None,
        }
        sku = offer["skuId"]
        for user in holders:
            if sku not in user["licenses"]:
                user["licenses"].append(sku)
        return sub

    def nce_subscription(
        self,
        rng: random.Random,
        tenant: dict[str, Any],
        key: str,
        quantity: int,
        *,
        holders: Sequence[dict[str, Any]] = (),
        term: str = "P1Y",
        cycle: str = "monthly",
        started_days_ago: int = 120,
        auto_renew: bool = True,
        status: str = "active",
        partner_id: str = PARTNER_ID,
        renewals: int = 0,
    ) -> dict[str, Any]:
        """Create a new-commerce subscription whose current term started
        ``started_days_ago`` (after ``renewals`` earlier terms), with its order;
        give holders the licence."""
        sku = products.sku(key)
        start = self.today - timedelta(days=started_days_ago)
        created = start - timedelta(
            days=365 * renewals, seconds=-rng.randint(600, 60000)
        )
        order_id = guid(rng).upper()
        sub = nce.create(
            sub_id=guid(rng),
            customer_id=tenant["id"],
            sku=sku,
            quantity=quantity,
            term=term,
            cycle=cycle,
            start=start,
            order_id=order_id,
            now=self.today,
            auto_renew=auto_renew,
            partner_id=partner_id,
            created=created,
        )
        if status == "suspended":
            nce.suspend(sub, self.today - timedelta(days=min(3, started_days_ago)))
        elif status != "active":
            sub["status"] = status
            sub["autoRenewEnabled"] = False
            sub["billing"]["status"] = "stopped"
            nce.refresh(sub, self.today)
        self.state.add_subscription(sub)
        self.state.orders[tenant["id"].lower()][order_id.lower()] = {
            "id": order_id,
            "customerId": tenant["id"],
            "referenceCustomerId": tenant["id"],
            "billingCycle": cycle,
            "currencyCode": "USD",
            "lineItems": [
                {
                    "lineItemNumber": 0,
                    "offerId": sku.catalog_item_id,
                    "friendlyName": sub["friendlyName"],
                    "quantity": quantity,
                    "termDuration": term,
                    "subscriptionId": sub["id"],
                }
            ],
            "creationDate": iso(created),
            "status": "completed",
            "provisionAt": None,
        }
        for user in holders:
            if sku.entra_sku_id not in user["licenses"]:
                user["licenses"].append(sku.entra_sku_id)
        return sub

    def scenario_tenant(
        self,
        name: str,
        country: str = "US",
        culture: str = "en-US",
        *,
        pending: bool = False,
        domain_stem: str | None = None,
    ) -> tuple[random.Random, dict[str, Any]]:
        """Create a named tenant with a stable id for this seed; return (rng, it)."""
        rng = random.Random(f"{self.seed}:scenario:{name}")
        tenant_id = str(uuid.uuid5(SEED_NAMESPACE, f"{self.seed}:{name}"))
        tenant = self.tenant(
            rng,
            name,
            country,
            culture,
            tenant_id=tenant_id,
            pending=pending,
            scenario=True,
            domain_stem=domain_stem,
        )
        return rng, tenant
