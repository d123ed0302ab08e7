"""Generated customers: realistic estates drawn from a per-customer random source."""

from __future__ import annotations

import random
from typing import Any

from sandbox import catalog, products
from sandbox.records import INDIRECT_RESELLERS
from sandbox.seed.builder import Builder
from sandbox.seed.names import PREFIXES, SUFFIX_NAMES, SUFFIXES, TRADES
from sandbox.state import OTHER_PARTNER_ID, PARTNER_ID

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


def company_name(b: Builder, rng: random.Random) -> tuple[str, str, str, str]:
    """Return a fresh (name, country, culture, domain stem)."""
    for _ in range(20):
        prefix = rng.choice(PREFIXES)
        trade = rng.choice(TRADES)
        suffix = rng.choice(SUFFIX_NAMES)
        name = f"{prefix} {trade} {suffix}"
        if name not in b.names:
            break
    else:
        n = 2
        while f"{name} {n}" in b.names:
            n += 1
        name = f"{name} {n}"
    country, culture = SUFFIXES[suffix]
    return name, country, culture, prefix + trade


def generated(b: Builder, index: int) -> None:
    """Create generated customer number ``index`` with a realistic 2026 estate:
    mostly new commerce; a fifth on a retired Dynamics AX SKU and a sixth on a
    retired CRM Online SKU (legacy, as in the seeds)."""
    rng = random.Random(f"{b.seed}:customer:{index}")
    name, country, culture, stem = company_name(b, rng)
    tenant = b.tenant(rng, name, country, culture, domain_stem=stem)
    low, high = rng.choices(_USER_BUCKETS, weights=_USER_WEIGHTS)[0]
    count = rng.randint(low, high)
    people = b.users(rng, tenant, count, missing_probability=0.02)

    kind = rng.random()
    if kind < 0.20:
        base = rng.choices(catalog.AX_RETIRED, weights=_AX_WEIGHTS)[0]
        retired(b, rng, tenant, people, base)
    elif kind < 0.35:
        base = rng.choices(_CRM_BASES, weights=_CRM_WEIGHTS)[0]
        base_sub, holders = retired(b, rng, tenant, people, base)
        if rng.random() < 0.15:
            addon = rng.choice((catalog.CRM_FIELD_SERVICE, catalog.CRM_PROJECT_SERVICE))
            subset = holders[: max(0, len(holders) // 2)]
            b.subscription(
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
    if kind >= 0.35 or rng.random() < 0.55:
        modern(b, rng, tenant, people)


def retired(
    b: Builder,
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
    sub = b.subscription(
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


_MAIN_SEATS: tuple[str, ...] = (
    products.BUSINESS_BASIC,
    products.BUSINESS_STANDARD,
    products.BUSINESS_PREMIUM,
    products.M365_E3,
    products.O365_E3,
    products.O365_E1,
    products.M365_E5,
)
_MAIN_WEIGHTS: tuple[float, ...] = (0.20, 0.20, 0.20, 0.15, 0.10, 0.10, 0.05)


def modern(
    b: Builder,
    rng: random.Random,
    tenant: dict[str, Any],
    people: list[dict[str, Any]],
) -> None:
    """Create the new-commerce subscriptions of a generated customer."""
    plan = [(rng.choices(_MAIN_SEATS, weights=_MAIN_WEIGHTS)[0], people)]
    if rng.random() < 0.25:
        plan.append((products.EXCHANGE_PLAN1, people[len(people) * 2 // 3 :]))
    if rng.random() < 0.10:
        dynamics = rng.choice((products.D365_CE_PLAN, products.D365_SALES_ENTERPRISE))
        plan.append((dynamics, people[: len(people) // 3]))
    reseller = PARTNER_ID
    if rng.random() < 0.08:
        reseller = rng.choice(tuple(INDIRECT_RESELLERS))
        tenant["indirectResellers"] = [reseller]
    for key, holders in plan:
        terms = products.sku(key).terms
        term, cycle = rng.choice(terms[:3]) if len(terms) > 2 else rng.choice(terms)
        months = 1 if term == "P1M" else 12
        started = rng.randint(0, 30 * months - 1)
        if rng.random() < 0.06:
            started = rng.randint(0, 6)  # inside the cancellation window
        roll = rng.random()
        status = "active"
        if roll < 0.03:
            status = "suspended"
        elif roll < 0.05:
            status, started = "expired", 30 * months + rng.randint(5, 60)
        b.nce_subscription(
            rng,
            tenant,
            key,
            max(1, len(holders) + rng.randint(0, 4)),
            holders=holders if status != "expired" else (),
            term=term,
            cycle=cycle,
            started_days_ago=started,
            auto_renew=status == "active" and rng.random() < 0.9,
            status=status,
            renewals=rng.randint(0, 3),
            partner_id=reseller,
        )
