"""The named scenario customers and the pending invitations of the seeds' world
(legacy Dynamics AX / CRM Online estates). Their ids, names, users and
subscriptions are relied on by the app's tests: change them only with care."""

from __future__ import annotations

from sandbox import catalog
from sandbox.seed.builder import Builder
from sandbox.state import OTHER_PARTNER_ID

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

#: The seeds' scenario customers in listing order.
LEGACY_SCENARIOS: tuple[str, ...] = (
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


def contoso(b: Builder) -> None:
    """Seed the main demo: AX Enterprise x15, 12 holders, expiring in 60 days."""
    rng, t = b.scenario_tenant(CONTOSO, domain_stem="contoso")
    people = b.users(rng, t, 12)
    b.subscription(
        rng,
        t,
        catalog.AX_ENTERPRISE,
        15,
        holders=people,
        auto_renew=False,
        end_in_days=60,
        billing_cycle="annual",
    )


def fabrikam(b: Builder) -> None:
    """Seed CRM Online Professional (auto-renew on) plus Office 365 E3."""
    rng, t = b.scenario_tenant(FABRIKAM, domain_stem="fabrikam")
    people = b.users(rng, t, 10)
    b.subscription(
        rng,
        t,
        catalog.CRM_PROFESSIONAL,
        12,
        holders=people,
        auto_renew=True,
        end_in_days=150,
    )
    b.subscription(
        rng,
        t,
        catalog.O365_E3,
        10,
        holders=people,
        auto_renew=True,
        end_in_days=210,
    )


def northwind(b: Builder) -> None:
    """Seed CRM Online Basic sold by another partner."""
    rng, t = b.scenario_tenant(NORTHWIND, domain_stem="northwindtraders")
    people = b.users(rng, t, 5)
    b.subscription(
        rng,
        t,
        catalog.CRM_BASIC,
        5,
        holders=people,
        auto_renew=False,
        end_in_days=95,
        partner_id=OTHER_PARTNER_ID,
    )


def tailspin(b: Builder) -> None:
    """Seed an already suspended AX Task subscription."""
    rng, t = b.scenario_tenant(TAILSPIN, domain_stem="tailspintoys")
    people = b.users(rng, t, 6)
    b.subscription(
        rng,
        t,
        catalog.AX_TASK,
        6,
        holders=people,
        status="suspended",
        auto_renew=False,
        end_in_days=120,
    )


def adventure_works(b: Builder) -> None:
    """Seed an expired CRM Essential and a disabled Office 365 E1."""
    rng, t = b.scenario_tenant(ADVENTURE_WORKS, domain_stem="adventureworks")
    b.users(rng, t, 7)
    b.subscription(
        rng,
        t,
        catalog.CRM_ESSENTIAL,
        8,
        status="expired",
        auto_renew=False,
        end_in_days=-20,
    )
    b.subscription(
        rng,
        t,
        catalog.O365_E1,
        7,
        status="disabled",
        auto_renew=False,
        end_in_days=-75,
    )


def wide_world(b: Builder) -> None:
    """Seed AX Enterprise + CRM Field Service add-on; 2 users lack usageLocation."""
    rng, t = b.scenario_tenant(WIDE_WORLD, domain_stem="wideworldimporters")
    people = b.users(rng, t, 18, missing_location=2)
    b.subscription(
        rng,
        t,
        catalog.AX_ENTERPRISE,
        20,
        holders=people,
        auto_renew=False,
        end_in_days=45,
        billing_cycle="annual",
    )
    b.subscription(
        rng,
        t,
        catalog.CRM_FIELD_SERVICE,
        5,
        holders=people[:4],
        auto_renew=False,
        end_in_days=45,
    )


def long_name(b: Builder) -> None:
    """Seed a customer whose company name is about 90 characters long."""
    rng, t = b.scenario_tenant(
        LONG_NAME, "AU", "en-AU", domain_stem="consolidatedfreightoceania"
    )
    people = b.users(rng, t, 3)
    b.subscription(
        rng,
        t,
        catalog.CRM_ENTERPRISE,
        3,
        holders=people[:2],
        auto_renew=False,
        end_in_days=200,
    )


def no_subscriptions(b: Builder) -> None:
    """Seed a customer with users but no subscriptions at all."""
    rng, t = b.scenario_tenant(NO_SUBSCRIPTIONS, domain_stem="blueyonderairlines")
    b.users(rng, t, 3)


def litware(b: Builder) -> None:
    """Seed CRM Online Enterprise whose quantity equals its 4 users."""
    rng, t = b.scenario_tenant(LITWARE, domain_stem="litwaresmall")
    people = b.users(rng, t, 4)
    b.subscription(
        rng,
        t,
        catalog.CRM_ENTERPRISE,
        4,
        holders=people,
        auto_renew=False,
        end_in_days=75,
    )


def invitations(b: Builder) -> None:
    """Seed three pending invitations (tenants from another channel)."""
    rng, t = b.scenario_tenant(TREY_RESEARCH, pending=True, domain_stem="treyresearch")
    people = b.users(rng, t, 8)
    # Bought through another channel (Open, say): once accepted, only the tenant's
    # subscribedskus show them, never this partner's subscription list.
    e3 = catalog.offer_by_name(catalog.O365_E3)["skuId"]
    exchange = catalog.offer_by_name(catalog.EXCHANGE_PLAN1)["skuId"]
    t["otherChannelUnits"] = {e3: 8, exchange: 4}
    for user in people:
        user["licenses"].append(e3)
    for user in people[5:]:
        user["licenses"].append(exchange)
    rng, t = b.scenario_tenant(
        COHO_WINERY, "FR", "fr-FR", pending=True, domain_stem="cohowinery"
    )
    people = b.users(rng, t, 5)
    b.subscription(
        rng,
        t,
        catalog.CRM_PROFESSIONAL,
        5,
        holders=people,
        auto_renew=False,
        end_in_days=70,
        partner_id=OTHER_PARTNER_ID,
    )
    rng, t = b.scenario_tenant(
        LAMNA, "GB", "en-GB", pending=True, domain_stem="lamnahealthcare"
    )
    b.users(rng, t, 3)


#: Scenario builders in listing order (matching ``LEGACY_SCENARIOS``).
BUILDERS = (
    contoso,
    fabrikam,
    northwind,
    tailspin,
    adventure_works,
    wide_world,
    long_name,
    no_subscriptions,
    litware,
)
