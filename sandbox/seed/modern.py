"""Scenario customers of today's (2026) new-commerce world, listed after the seeds'
legacy ones: the Teams unbundling, the Dynamics 365 per-app split, a transition
with stragglers, subscriptions inside their cancellation window, a scheduled change
at renewal, a suspended subscription that keeps billing, end-of-sale products."""

from __future__ import annotations

from sandbox import products as p
from sandbox.seed.builder import Builder

PROSEWARE = "Proseware Inc"
MARGIES_TRAVEL = "Margie's Travel"
ALPINE_SKI_HOUSE = "Alpine Ski House"
BEST_FOR_YOU = "Best For You Organics Company"
GRAPHIC_DESIGN = "Graphic Design Institute"
FOURTH_COFFEE = "Fourth Coffee"
VANARSDEL = "VanArsdel Ltd"

#: Modern scenario customers in listing order.
MODERN_SCENARIOS: tuple[str, ...] = (
    PROSEWARE,
    MARGIES_TRAVEL,
    ALPINE_SKI_HOUSE,
    BEST_FOR_YOU,
    GRAPHIC_DESIGN,
    FOURTH_COFFEE,
    VANARSDEL,
)


def proseware(b: Builder) -> None:
    """Teams unbundling: Microsoft 365 E3 (end of sale) x20, 18 holders, annual
    term billed monthly, auto-renew on; successor E3 (no Teams) + Teams Enterprise."""
    rng, t = b.scenario_tenant(PROSEWARE, domain_stem="proseware")
    people = b.users(rng, t, 20)
    b.nce_subscription(
        rng, t, p.M365_E3, 20, holders=people[:18], started_days_ago=200, renewals=2
    )


def margies_travel(b: Builder) -> None:
    """Dynamics 365 per-app split: Customer Engagement Plan (end of sale) x8, annual,
    auto-renew off, ends in about 90 days; Business Premium monthly for everyone."""
    rng, t = b.scenario_tenant(MARGIES_TRAVEL, domain_stem="margiestravel")
    people = b.users(rng, t, 10)
    b.nce_subscription(
        rng,
        t,
        p.D365_CE_PLAN,
        8,
        holders=people[:8],
        cycle="annual",
        started_days_ago=275,
        auto_renew=False,
        renewals=1,
    )
    b.nce_subscription(
        rng,
        t,
        p.BUSINESS_PREMIUM,
        10,
        holders=people,
        term="P1M",
        started_days_ago=12,
        renewals=20,
    )


def alpine_ski_house(b: Builder) -> None:
    """Transition-eligible Office 365 E1 x12 (monthly term); a licence transfer
    leaves its last 2 holders behind on E1."""
    rng, t = b.scenario_tenant(ALPINE_SKI_HOUSE, domain_stem="alpineskihouse")
    people = b.users(rng, t, 12)
    sub = b.nce_subscription(
        rng,
        t,
        p.O365_E1,
        12,
        holders=people,
        term="P1M",
        started_days_ago=9,
        renewals=14,
    )
    sub["transitionStragglers"] = 2


def best_for_you(b: Builder) -> None:
    """Inside the cancellation window: Business Standard x10 bought 2 days ago
    (annual), Business Basic x6 bought 6 days ago (monthly)."""
    rng, t = b.scenario_tenant(BEST_FOR_YOU, domain_stem="bestforyouorganics")
    people = b.users(rng, t, 10)
    b.nce_subscription(
        rng,
        t,
        p.BUSINESS_STANDARD,
        10,
        holders=people,
        cycle="annual",
        started_days_ago=2,
    )
    b.nce_subscription(
        rng, t, p.BUSINESS_BASIC, 6, holders=people[:4], term="P1M", started_days_ago=6
    )


def graphic_design(b: Builder) -> None:
    """Scheduled-change candidate: Business Basic x15 renewing in 12 days (auto-renew
    on); Microsoft 365 E5 x3 (end of sale) with auto-renew off, ending in 30 days."""
    rng, t = b.scenario_tenant(GRAPHIC_DESIGN, domain_stem="graphicdesigninstitute")
    people = b.users(rng, t, 15)
    b.nce_subscription(
        rng, t, p.BUSINESS_BASIC, 15, holders=people, started_days_ago=353, renewals=1
    )
    b.nce_subscription(
        rng,
        t,
        p.M365_E5,
        3,
        holders=people[:3],
        cycle="annual",
        started_days_ago=335,
        auto_renew=False,
    )


def fourth_coffee(b: Builder) -> None:
    """A suspended Business Premium x8 (still billed to its term end) and an active
    Exchange Online (Plan 1) x4."""
    rng, t = b.scenario_tenant(FOURTH_COFFEE, domain_stem="fourthcoffee")
    people = b.users(rng, t, 8)
    b.nce_subscription(
        rng,
        t,
        p.BUSINESS_PREMIUM,
        8,
        holders=people,
        started_days_ago=150,
        status="suspended",
    )
    b.nce_subscription(rng, t, p.EXCHANGE_PLAN1, 4, holders=people[:4])


def vanarsdel(b: Builder) -> None:
    """Dynamics 365 Unified Operations Plan x6 (end of sale; successor Finance +
    Supply Chain Management Attach), Project Plan 3 x4 (end of sale) and Dynamics
    365 Team Members x10."""
    rng, t = b.scenario_tenant(VANARSDEL, "GB", "en-GB", domain_stem="vanarsdel")
    people = b.users(rng, t, 12)
    b.nce_subscription(
        rng, t, p.D365_UO_PLAN, 6, holders=people[:6], started_days_ago=100
    )
    b.nce_subscription(
        rng,
        t,
        p.PROJECT_PLAN3,
        4,
        holders=people[6:10],
        term="P1M",
        started_days_ago=20,
        renewals=30,
    )
    b.nce_subscription(
        rng,
        t,
        p.D365_TEAM_MEMBERS,
        10,
        holders=people[2:12],
        cycle="annual",
        started_days_ago=40,
    )


#: Scenario builders in listing order (matching ``MODERN_SCENARIOS``).
BUILDERS = (
    proseware,
    margies_travel,
    alpine_ski_house,
    best_for_you,
    graphic_design,
    fourth_coffee,
    vanarsdel,
)
