"""Generated customers: realistic estates drawn from a per-customer random source."""

from __future__ import annotations

import random
from typing import Any

from sandbox import catalog
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
    """Create generated customer number ``index`` with a realistic estate."""
    rng = random.Random(f"{b.seed}:customer:{index}")
    name, country, culture, stem = company_name(b, rng)
    tenant = b.tenant(rng, name, country, culture, domain_stem=stem)
    low, high = rng.choices(_USER_BUCKETS, weights=_USER_WEIGHTS)[0]
    count = rng.randint(low, high)
    people = b.users(rng, tenant, count, missing_probability=0.02)

    kind = rng.random()
    if kind < 0.35:
        base = rng.choices(catalog.AX_RETIRED, weights=_AX_WEIGHTS)[0]
        retired(b, rng, tenant, people, base)
    elif kind < 0.65:
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
    if kind >= 0.65 or rng.random() < 0.55:
        current(b, rng, tenant, people)


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


def current(
    b: Builder,
    rng: random.Random,
    tenant: dict[str, Any],
    people: list[dict[str, Any]],
) -> None:
    """Create one or two ordinary current-offer subscriptions."""
    main = rng.choice((catalog.O365_E3, catalog.O365_E1, catalog.M365_BUSINESS_BASIC))
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
        b.subscription(
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
