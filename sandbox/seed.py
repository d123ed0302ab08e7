"""Deterministic seed data for the sandbox.

``build_state(customers, seed)`` returns a fresh ``SandboxState``. The named scenario
customers come first (their names are the constants below; their ids are stable for a
given seed), followed by generated companies. Three tenants are pending invitations:
known to the sandbox but not listed by ``GET /customers`` until accepted.

Dates are relative to the current UTC day (midnight), so two builds on the same day
with the same arguments produce identical data.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sandbox import catalog
from sandbox.state import (
    OTHER_PARTNER_ID,
    PARTNER_ID,
    SandboxState,
    bump_etag,
    iso,
)

CONTOSO = "Contoso Ltd"
FABRIKAM = "Fabrikam Inc"
NORTHWIND = "Northwind Traders"
TAILSPIN = "Tailspin Toys"
ADVENTURE_WORKS = "Adventure Works"
WIDE_WORLD = "Wide World Importers"
LONG_NAME = (
    "Consolidated Intercontinental Freight, Customs Brokerage and Warehousing "
    "Services of Oceania"
)
NO_SUBSCRIPTIONS = "Blue Yonder Airlines"
LITWARE = "Litware Small"

#: Scenario customers in listing order (the first ``customers`` of them are seeded).
SCENARIO_CUSTOMERS: tuple[str, ...] = (
    CONTOSO,
    FABRIKAM,
    NORTHWIND,
    TAILSPIN,
    ADVENTURE_WORKS,
    WIDE_WORLD,
    LONG_NAME,
    NO_SUBSCRIPTIONS,
    LITWARE,
)

TREY_RESEARCH = "Trey Research"
COHO_WINERY = "Coho Winery"
LAMNA = "Lamna Healthcare Company"
#: Pending invitations (tenants not yet listed in GET /customers).
INVITATIONS: tuple[str, ...] = (TREY_RESEARCH, COHO_WINERY, LAMNA)

_SEED_NAMESPACE = uuid.UUID("0f6c5a3e-1b7d-4c2a-9e84-6d3b2a1c0e57")

_PREFIXES = (
    "Alpine",
    "Apex",
    "Atlas",
    "Aurora",
    "Beacon",
    "Birchwood",
    "Bright",
    "Cedar",
    "Clearwater",
    "Coastal",
    "Copper",
    "Crescent",
    "Crystal",
    "Delta",
    "Eagle",
    "Evergreen",
    "Falcon",
    "Granite",
    "Golden",
    "Harbor",
    "Highland",
    "Horizon",
    "Ironbridge",
    "Juniper",
    "Keystone",
    "Lakeside",
    "Lighthouse",
    "Maple",
    "Meridian",
    "Millstone",
    "Northern",
    "Oakridge",
    "Orchid",
    "Pacific",
    "Pinecrest",
    "Pioneer",
    "Prairie",
    "Quarry",
    "Redwood",
    "Ridgeline",
    "Riverbend",
    "Sage",
    "Silverline",
    "Summit",
    "Sterling",
    "Stonegate",
    "Sunrise",
    "Timber",
    "Valley",
    "Vertex",
    "Willow",
    "Zenith",
    "Bluewater",
    "Hawthorn",
    "Ashford",
    "Kingsway",
)
_TRADES = (
    "Analytics",
    "Bakery",
    "Brewing",
    "Builders",
    "Capital",
    "Consulting",
    "Dental",
    "Design",
    "Energy",
    "Engineering",
    "Foods",
    "Freight",
    "Health",
    "Hotels",
    "Insurance",
    "Labs",
    "Legal",
    "Logistics",
    "Manufacturing",
    "Media",
    "Medical",
    "Motors",
    "Outfitters",
    "Pharma",
    "Printing",
    "Properties",
    "Retail",
    "Robotics",
    "Software",
    "Solar",
    "Supply",
    "Systems",
    "Textiles",
    "Travel",
    "Ventures",
    "Wholesale",
    "Accounting",
    "Architects",
    "Clinics",
    "Marine",
)
# suffix -> (country, culture)
_SUFFIXES: dict[str, tuple[str, str]] = {
    "Ltd": ("GB", "en-GB"),
    "plc": ("GB", "en-GB"),
    "Inc": ("US", "en-US"),
    "LLC": ("US", "en-US"),
    "Co.": ("US", "en-US"),
    "Corporation": ("US", "en-US"),
    "GmbH": ("DE", "de-DE"),
    "AG": ("DE", "de-DE"),
    "BV": ("NL", "nl-NL"),
    "Pty Ltd": ("AU", "en-AU"),
    "SA": ("FR", "fr-FR"),
    "Group": ("CA", "en-CA"),
    "Partners": ("IE", "en-IE"),
}
_SUFFIX_NAMES = tuple(_SUFFIXES)
_FIRST_NAMES = (
    "Adele",
    "Alex",
    "Allan",
    "Amara",
    "Ben",
    "Bianca",
    "Carlos",
    "Chen",
    "Chloe",
    "Daniel",
    "Diego",
    "Elena",
    "Emily",
    "Farah",
    "Grace",
    "Hana",
    "Henrik",
    "Isaac",
    "Ivy",
    "Jamal",
    "Jana",
    "Joni",
    "Kenji",
    "Lara",
    "Lee",
    "Lidia",
    "Lynne",
    "Marta",
    "Megan",
    "Miriam",
    "Nestor",
    "Nina",
    "Omar",
    "Patti",
    "Pradeep",
    "Priya",
    "Raul",
    "Sofia",
    "Tomas",
    "Yuki",
    "Zoe",
    "Ahmed",
    "Olga",
    "Sven",
)
_LAST_NAMES = (
    "Vance",
    "Wilber",
    "Deyoung",
    "Okafor",
    "Walker",
    "Rossi",
    "Garcia",
    "Wei",
    "Martin",
    "Novak",
    "Alvarez",
    "Petrova",
    "Johnson",
    "Haddad",
    "Taylor",
    "Sato",
    "Larsen",
    "Cohen",
    "Brown",
    "Mensah",
    "Kowalski",
    "Sherman",
    "Tanaka",
    "Silva",
    "Park",
    "Ortiz",
    "Cameron",
    "Muller",
    "Bowen",
    "Katz",
    "Zakharov",
    "Ng",
    "Dubois",
    "Fernandez",
    "Kumar",
    "Shah",
    "Moreno",
    "Jensen",
    "Berg",
    "Ito",
    "Nakamura",
    "Hassan",
    "Ivanova",
    "Lindqvist",
)

# Bucketed users-per-customer distribution, weighted toward 3-15.
_USER_BUCKETS: tuple[tuple[int, int], ...] = (
    (0, 0),
    (1, 2),
    (3, 15),
    (16, 25),
    (26, 40),
)
_USER_WEIGHTS: tuple[float, ...] = (0.05, 0.10, 0.60, 0.15, 0.10)

_AX_WEIGHTS: tuple[float, ...] = (0.45, 0.25, 0.15, 0.15)
_CRM_BASES: tuple[str, ...] = (
    catalog.CRM_ENTERPRISE,
    catalog.CRM_PROFESSIONAL,
    catalog.CRM_BASIC,
    catalog.CRM_ESSENTIAL,
)
_CRM_WEIGHTS: tuple[float, ...] = (0.20, 0.35, 0.25, 0.20)


_V4_CLEAR = ~((0xF000 << 64) | (0xC000 << 48))
_V4_SET = (0x4000 << 64) | (0x8000 << 48)


def _uuid(rng: random.Random) -> str:
    """Return a random (version 4 shaped) lower-case GUID drawn from ``rng``.

    Same text as ``str(uuid.UUID(int=bits, version=4))``, without the object.
    """
    h = f"{(rng.getrandbits(128) & _V4_CLEAR) | _V4_SET:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _midnight(now: datetime | None) -> datetime:
    """Return today's UTC midnight (or that of ``now``)."""
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


class _Builder:
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
        tid = tenant_id or _uuid(rng)
        domain = self.domain_for(domain_stem or name)
        first = rng.choice(_FIRST_NAMES)
        last = rng.choice(_LAST_NAMES)
        record: dict[str, Any] = {
            "id": tid,
            "commerceId": _uuid(rng),
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
            first = rng.choice(_FIRST_NAMES)
            last = rng.choice(_LAST_NAMES)
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
                "id": _uuid(rng),
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
        order_id = _uuid(rng).upper()
        sub: dict[str, Any] = {
            "id": _uuid(rng),
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

    # -------------------------------------------------------------- generated

    def company_name(self, rng: random.Random) -> tuple[str, str, str, str]:
        """Return a fresh (name, country, culture, domain stem)."""
        for _ in range(20):
            prefix = rng.choice(_PREFIXES)
            trade = rng.choice(_TRADES)
            suffix = rng.choice(_SUFFIX_NAMES)
            name = f"{prefix} {trade} {suffix}"
            if name not in self.names:
                break
        else:
            n = 2
            while f"{name} {n}" in self.names:
                n += 1
            name = f"{name} {n}"
        country, culture = _SUFFIXES[suffix]
        return name, country, culture, prefix + trade

    def generated(self, index: int) -> None:
        """Create generated customer number ``index`` with a realistic estate."""
        rng = random.Random(f"{self.seed}:customer:{index}")
        name, country, culture, stem = self.company_name(rng)
        tenant = self.tenant(rng, name, country, culture, domain_stem=stem)
        low, high = rng.choices(_USER_BUCKETS, weights=_USER_WEIGHTS)[0]
        count = rng.randint(low, high)
        people = self.users(rng, tenant, count, missing_probability=0.02)

        kind = rng.random()
        if kind < 0.35:
            base = rng.choices(catalog.AX_RETIRED, weights=_AX_WEIGHTS)[0]
            self.retired(rng, tenant, people, base)
        elif kind < 0.65:
            base = rng.choices(_CRM_BASES, weights=_CRM_WEIGHTS)[0]
            base_sub, holders = self.retired(rng, tenant, people, base)
            if rng.random() < 0.15:
                addon = rng.choice(
                    (catalog.CRM_FIELD_SERVICE, catalog.CRM_PROJECT_SERVICE)
                )
                subset = holders[: max(0, len(holders) // 2)]
                self.subscription(
                    rng,
                    tenant,
                    addon,
                    max(1, len(subset) + rng.randint(0, 2)),
                    holders=subset,
                    status="active",
                    auto_renew=base_sub["autoRenewEnabled"],
                    end_in_days=rng.randint(5, 330),
                    partner_id=base_sub["partnerId"],
                    parent=base_sub,
                )
        if kind >= 0.65 or rng.random() < 0.55:
            self.current(rng, tenant, people)

    def retired(
        self,
        rng: random.Random,
        tenant: dict[str, Any],
        people: list[dict[str, Any]],
        offer_name: str,
    ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """Create a retired-SKU subscription for a generated customer."""
        share = rng.uniform(0.5, 1.0)
        held = max(1, round(len(people) * share)) if people else 0
        holders = people[:held]
        quantity = max(1, held + rng.randint(0, 5))
        roll = rng.random()
        status, end_days = "active", rng.randint(5, 330)
        if roll < 0.05:
            status = "suspended"
        elif roll < 0.07:
            status, end_days = "expired", -rng.randint(1, 90)
        elif roll < 0.085:
            status, end_days = "disabled", -rng.randint(30, 200)
        partner = OTHER_PARTNER_ID if rng.random() < 0.05 else PARTNER_ID
        auto_renew = status == "active" and rng.random() < 0.5
        sub = self.subscription(
            rng,
            tenant,
            offer_name,
            quantity,
            holders=holders if status in ("active", "suspended") else holders[:0],
            status=status,
            auto_renew=auto_renew,
            end_in_days=end_days,
            partner_id=partner,
            billing_cycle=rng.choice(("monthly", "annual")),
        )
        return sub, holders

    def current(
        self,
        rng: random.Random,
        tenant: dict[str, Any],
        people: list[dict[str, Any]],
    ) -> None:
        """Create one or two ordinary current-offer subscriptions."""
        main = rng.choice(
            (catalog.O365_E3, catalog.O365_E1, catalog.M365_BUSINESS_BASIC)
        )
        offers = [main]
        if rng.random() < 0.3:
            offers.append(catalog.EXCHANGE_PLAN1)
        for offer_name in offers:
            if offer_name == catalog.EXCHANGE_PLAN1:
                holders = people[: len(people) // 3]
            else:
                holders = people
            quantity = max(1, len(holders) + rng.randint(0, 4))
            roll = rng.random()
            status, end_days = "active", rng.randint(1, 365)
            if roll < 0.02:
                status = "suspended"
            elif roll < 0.03:
                status, end_days = "expired", -rng.randint(1, 60)
            self.subscription(
                rng,
                tenant,
                offer_name,
                quantity,
                holders=holders if status != "expired" else (),
                status=status,
                auto_renew=status == "active" and rng.random() < 0.9,
                end_in_days=end_days,
                partner_id=OTHER_PARTNER_ID if rng.random() < 0.03 else PARTNER_ID,
                billing_cycle=rng.choice(("monthly", "annual")),
            )

    # -------------------------------------------------------------- scenarios

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
        tenant_id = str(uuid.uuid5(_SEED_NAMESPACE, f"{self.seed}:{name}"))
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

    def contoso(self) -> None:
        """Seed the main demo: AX Enterprise x15, 12 holders, expiring in 60 days."""
        rng, t = self.scenario_tenant(CONTOSO, domain_stem="contoso")
        people = self.users(rng, t, 12)
        self.subscription(
            rng,
            t,
            catalog.AX_ENTERPRISE,
            15,
            holders=people,
            auto_renew=False,
            end_in_days=60,
            billing_cycle="annual",
        )

    def fabrikam(self) -> None:
        """Seed CRM Online Professional (auto-renew on) plus Office 365 E3."""
        rng, t = self.scenario_tenant(FABRIKAM, domain_stem="fabrikam")
        people = self.users(rng, t, 10)
        self.subscription(
            rng,
            t,
            catalog.CRM_PROFESSIONAL,
            12,
            holders=people,
            auto_renew=True,
            end_in_days=150,
        )
        self.subscription(
            rng,
            t,
            catalog.O365_E3,
            10,
            holders=people,
            auto_renew=True,
            end_in_days=210,
        )

    def northwind(self) -> None:
        """Seed CRM Online Basic sold by another partner."""
        rng, t = self.scenario_tenant(NORTHWIND, domain_stem="northwindtraders")
        people = self.users(rng, t, 5)
        self.subscription(
            rng,
            t,
            catalog.CRM_BASIC,
            5,
            holders=people,
            auto_renew=False,
            end_in_days=95,
            partner_id=OTHER_PARTNER_ID,
        )

    def tailspin(self) -> None:
        """Seed an already suspended AX Task subscription."""
        rng, t = self.scenario_tenant(TAILSPIN, domain_stem="tailspintoys")
        people = self.users(rng, t, 6)
        self.subscription(
            rng,
            t,
            catalog.AX_TASK,
            6,
            holders=people,
            status="suspended",
            auto_renew=False,
            end_in_days=120,
        )

    def adventure_works(self) -> None:
        """Seed an expired CRM Essential and a disabled Office 365 E1."""
        rng, t = self.scenario_tenant(ADVENTURE_WORKS, domain_stem="adventureworks")
        self.users(rng, t, 7)
        self.subscription(
            rng,
            t,
            catalog.CRM_ESSENTIAL,
            8,
            status="expired",
            auto_renew=False,
            end_in_days=-20,
        )
        self.subscription(
            rng,
            t,
            catalog.O365_E1,
            7,
            status="disabled",
            auto_renew=False,
            end_in_days=-75,
        )

    def wide_world(self) -> None:
        """Seed AX Enterprise + CRM Field Service add-on; 2 users lack usageLocation."""
        rng, t = self.scenario_tenant(WIDE_WORLD, domain_stem="wideworldimporters")
        people = self.users(rng, t, 18, missing_location=2)
        self.subscription(
            rng,
            t,
            catalog.AX_ENTERPRISE,
            20,
            holders=people,
            auto_renew=False,
            end_in_days=45,
            billing_cycle="annual",
        )
        self.subscription(
            rng,
            t,
            catalog.CRM_FIELD_SERVICE,
            5,
            holders=people[:4],
            auto_renew=False,
            end_in_days=45,
        )

    def long_name(self) -> None:
        """Seed a customer whose company name is about 90 characters long."""
        rng, t = self.scenario_tenant(
            LONG_NAME, "AU", "en-AU", domain_stem="consolidatedfreightoceania"
        )
        people = self.users(rng, t, 3)
        self.subscription(
            rng,
            t,
            catalog.CRM_ENTERPRISE,
            3,
            holders=people[:2],
            auto_renew=False,
            end_in_days=200,
        )

    def no_subscriptions(self) -> None:
        """Seed a customer with users but no subscriptions at all."""
        rng, t = self.scenario_tenant(
            NO_SUBSCRIPTIONS, domain_stem="blueyonderairlines"
        )
        self.users(rng, t, 3)

    def litware(self) -> None:
        """Seed CRM Online Enterprise whose quantity equals its 4 users."""
        rng, t = self.scenario_tenant(LITWARE, domain_stem="litwaresmall")
        people = self.users(rng, t, 4)
        self.subscription(
            rng,
            t,
            catalog.CRM_ENTERPRISE,
            4,
            holders=people,
            auto_renew=False,
            end_in_days=75,
        )

    def invitations(self) -> None:
        """Seed three pending invitations (tenants from another channel)."""
        rng, t = self.scenario_tenant(
            TREY_RESEARCH, pending=True, domain_stem="treyresearch"
        )
        people = self.users(rng, t, 8)
        self.subscription(
            rng,
            t,
            catalog.O365_E3,
            8,
            holders=people,
            auto_renew=True,
            end_in_days=40,
            partner_id=OTHER_PARTNER_ID,
        )
        rng, t = self.scenario_tenant(
            COHO_WINERY, "FR", "fr-FR", pending=True, domain_stem="cohowinery"
        )
        people = self.users(rng, t, 5)
        self.subscription(
            rng,
            t,
            catalog.CRM_PROFESSIONAL,
            5,
            holders=people,
            auto_renew=False,
            end_in_days=70,
            partner_id=OTHER_PARTNER_ID,
        )
        rng, t = self.scenario_tenant(
            LAMNA, "GB", "en-GB", pending=True, domain_stem="lamnahealthcare"
        )
        self.users(rng, t, 3)


_SCENARIOS: tuple[Callable[[_Builder], None], ...] = (
    _Builder.contoso,
    _Builder.fabrikam,
    _Builder.northwind,
    _Builder.tailspin,
    _Builder.adventure_works,
    _Builder.wide_world,
    _Builder.long_name,
    _Builder.no_subscriptions,
    _Builder.litware,
)


def scenario_tenant_id(name: str, seed: int) -> str:
    """Return the tenant id a scenario customer or invitation gets for ``seed``."""
    return str(uuid.uuid5(_SEED_NAMESPACE, f"{seed}:{name}"))


def build_state(customers: int, seed: int, now: datetime | None = None) -> SandboxState:
    """Return a new state with ``customers`` listed customers and 3 invitations.

    The first customers are the named scenarios (in ``SCENARIO_CUSTOMERS`` order), the
    rest are generated from ``seed``. Raise ValueError for a negative count.
    """
    if customers < 0:
        raise ValueError("customers must be >= 0")
    state = SandboxState(customers=customers, seed=seed)
    builder = _Builder(state, seed, _midnight(now))
    scenarios = _SCENARIOS[:customers]
    # Reserve every scenario name so generated customers never collide with them.
    builder.names.update(SCENARIO_CUSTOMERS + INVITATIONS)
    for make in scenarios:
        make(builder)
    builder.invitations()
    for index in range(len(scenarios), customers):
        builder.generated(index)
    return state
