"""Deterministic seed data for the sandbox.

``build_state(customers, seed)`` returns a fresh ``SandboxState``. The named scenario
customers come first (their names are the constants below; their ids are stable for a
given seed), followed by generated companies. Three tenants are pending invitations:
known to the sandbox but not listed by ``GET /customers`` until accepted.

Dates are relative to the current UTC day (midnight), so two builds on the same day
with the same arguments produce identical data.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sandbox.seed import generated, legacy, live, modern
from sandbox.seed.builder import SEED_NAMESPACE, Builder, midnight
from sandbox.seed.legacy import (
    ADVENTURE_WORKS,
    COHO_WINERY,
    CONTOSO,
    FABRIKAM,
    INVITATIONS,
    LAMNA,
    LITWARE,
    LONG_NAME,
    NO_SUBSCRIPTIONS,
    NORTHWIND,
    TAILSPIN,
    TREY_RESEARCH,
    WIDE_WORLD,
)
from sandbox.seed.live import (
    HUMONGOUS,
    HUMONGOUS_RESELLER,
    RELECLOUD,
    WINGTIP,
    WOODGROVE,
)
from sandbox.seed.modern import (
    ALPINE_SKI_HOUSE,
    BEST_FOR_YOU,
    FOURTH_COFFEE,
    GRAPHIC_DESIGN,
    MARGIES_TRAVEL,
    PROSEWARE,
    VANARSDEL,
)
from sandbox.state import SandboxState

__all__ = [
    "ADVENTURE_WORKS",
    "ALPINE_SKI_HOUSE",
    "BEST_FOR_YOU",
    "COHO_WINERY",
    "CONTOSO",
    "FABRIKAM",
    "FOURTH_COFFEE",
    "GRAPHIC_DESIGN",
    "HUMONGOUS",
    "HUMONGOUS_RESELLER",
    "INVITATIONS",
    "LAMNA",
    "LITWARE",
    "LONG_NAME",
    "MARGIES_TRAVEL",
    "NORTHWIND",
    "NO_SUBSCRIPTIONS",
    "PROSEWARE",
    "RELECLOUD",
    "SCENARIO_CUSTOMERS",
    "TAILSPIN",
    "TREY_RESEARCH",
    "VANARSDEL",
    "WIDE_WORLD",
    "WINGTIP",
    "WOODGROVE",
    "build_state",
    "scenario_tenant_id",
]

#: Scenario customers in listing order (the first ``customers`` of them are seeded).
SCENARIO_CUSTOMERS: tuple[str, ...] = (
    legacy.LEGACY_SCENARIOS + modern.MODERN_SCENARIOS + live.LIVE_SCENARIOS
)
_SCENARIOS = legacy.BUILDERS + modern.BUILDERS + live.BUILDERS


def scenario_tenant_id(name: str, seed: int) -> str:
    """Return the tenant id a scenario customer or invitation gets for ``seed``."""
    return str(uuid.uuid5(SEED_NAMESPACE, f"{seed}:{name}"))


def build_state(customers: int, seed: int, now: datetime | None = None) -> SandboxState:
    """Return a new state with ``customers`` listed customers and 3 invitations.

    The first customers are the named scenarios (in ``SCENARIO_CUSTOMERS`` order), the
    rest are generated from ``seed``. Raise ValueError for a negative count.
    """
    if customers < 0:
        raise ValueError("customers must be >= 0")
    state = SandboxState(customers=customers, seed=seed)
    builder = Builder(state, seed, midnight(now))
    scenarios = _SCENARIOS[:customers]
    # Reserve every scenario name so generated customers never collide with them.
    builder.names.update(SCENARIO_CUSTOMERS + INVITATIONS)
    for make in scenarios:
        make(builder)
    legacy.invitations(builder)
    for index in range(len(scenarios), customers):
        generated.generated(builder, index)
    return state
