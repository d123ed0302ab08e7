"""Read queries for migration pages."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def customer_migration_summaries(*, customer_ids: Iterable[int]) -> dict[int, Any]:
    """Return each customer's migration summary for the customer list, by customer id."""
    return {}
