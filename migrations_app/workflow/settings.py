"""The engine's timings, read from Django settings when needed (never at import)."""

from __future__ import annotations

from django.conf import settings

# A transient failure (5xx, timeout, lost connection) of one call is retried this
# many times, with exponential backoff, before the migration fails.
MAX_TRANSIENT_ATTEMPTS = 6
BACKOFF_BASE_SECONDS = 5.0
BACKOFF_CAP_SECONDS = 300.0
# Waits up to this long go back to Celery as a countdown; longer ones are left
# to beat (far below the broker's visibility timeout either way).
COUNTDOWN_LIMIT_SECONDS = 60.0


def provisioning_poll_seconds() -> float:
    """Return the pause between two looks at a subscription being provisioned."""
    return float(settings.PARTNERHUB_PROVISIONING_POLL_SECONDS)


def order_listing_delay_seconds() -> float:
    """Return how long a new order may take to appear in the customer's order list.

    Reference: https://learn.microsoft.com/en-us/partner-center/developer/purchase-new-commerce-license-based
    ("a delay of up to 15 minutes before the order appears").
    """
    return float(settings.PARTNERHUB_ORDER_LISTING_DELAY_SECONDS)


def backoff_seconds(attempt: int) -> float:
    """Return the wait before transient attempt number `attempt` (1-based)."""
    return min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** max(0, attempt - 1))
