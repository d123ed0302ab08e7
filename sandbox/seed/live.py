"""Scenario customers for what a live Partner Center does that a demo rarely shows:
a GDAP relationship without directory roles, licences bought through another
channel, a customer that has not accepted the Microsoft Customer Agreement, and an
indirect reseller of record."""

from __future__ import annotations

from sandbox import products as p
from sandbox.seed.builder import Builder

WINGTIP = "Wingtip Toys"
RELECLOUD = "Relecloud"
WOODGROVE = "Woodgrove Bank"
HUMONGOUS = "Humongous Insurance"
#: MPN id of the indirect reseller of record on Humongous Insurance's subscriptions.
HUMONGOUS_RESELLER = "6655443"

#: Live-readiness scenario customers in listing order.
LIVE_SCENARIOS: tuple[str, ...] = (WINGTIP, RELECLOUD, WOODGROVE, HUMONGOUS)


def wingtip(b: Builder) -> None:
    """GDAP grants only Billing Administrator: ``/users`` answers 403 code 2032 while
    ``/subscriptions`` answers 200. Business Standard x7 held by its 7 users."""
    rng, t = b.scenario_tenant(WINGTIP, domain_stem="wingtiptoys")
    t["gdapRoles"] = ["Billing Administrator"]
    people = b.users(rng, t, 7)
    b.nce_subscription(rng, t, p.BUSINESS_STANDARD, 7, holders=people)


def relecloud(b: Builder) -> None:
    """Other channels: our Microsoft 365 E3 (end of sale) x10, plus 8 E3 and 5
    Exchange Online (Plan 1) licences bought elsewhere, seen only in
    ``subscribedskus``; 16 users hold E3, 5 hold Exchange."""
    rng, t = b.scenario_tenant(RELECLOUD, domain_stem="relecloud")
    people = b.users(rng, t, 18)
    e3 = p.sku(p.M365_E3)
    exchange = p.sku(p.EXCHANGE_PLAN1)
    t["otherChannelUnits"] = {e3.entra_sku_id: 8, exchange.entra_sku_id: 5}
    b.nce_subscription(rng, t, p.M365_E3, 10, holders=people[:16], cycle="annual")
    for user in people[13:]:
        user["licenses"].append(exchange.entra_sku_id)


def woodgrove(b: Builder) -> None:
    """Has not accepted the Microsoft Customer Agreement: checkout and orders answer
    403 code 13605. Microsoft 365 E3 (end of sale) x6 held by its 6 users."""
    rng, t = b.scenario_tenant(WOODGROVE, domain_stem="woodgrovebank")
    t["mcaAccepted"] = False
    people = b.users(rng, t, 6)
    b.nce_subscription(rng, t, p.M365_E3, 6, holders=people, started_days_ago=300)


def humongous(b: Builder) -> None:
    """Sold through an indirect reseller: every subscription's ``partnerId`` is the
    reseller of record (``6655443``), and it is still ours to change. Microsoft 365
    E3 (end of sale) x9 and Business Premium x4."""
    rng, t = b.scenario_tenant(HUMONGOUS, domain_stem="humongousinsurance")
    t["indirectResellers"] = [HUMONGOUS_RESELLER]
    people = b.users(rng, t, 9)
    b.nce_subscription(
        rng, t, p.M365_E3, 9, holders=people, partner_id=HUMONGOUS_RESELLER
    )
    b.nce_subscription(
        rng,
        t,
        p.BUSINESS_PREMIUM,
        4,
        holders=people[:4],
        term="P1M",
        started_days_ago=15,
        partner_id=HUMONGOUS_RESELLER,
    )


#: Scenario builders in listing order (matching ``LIVE_SCENARIOS``).
BUILDERS = (wingtip, relecloud, woodgrove, humongous)
