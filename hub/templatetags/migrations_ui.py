"""Template helpers for the migration fragments other pages include."""

from __future__ import annotations

from typing import Any

from django import template

from hub.models import Customer
from hub.selectors.migrations import customer_panel, state_tone

register = template.Library()


@register.inclusion_tag("migrations/_panel.html", takes_context=True)
def migration_panel(context: template.Context, customer: Customer) -> dict[str, Any]:
    """Render a customer's migrations panel (it polls itself while one runs)."""
    return {
        "customer": customer,
        "panel": customer_panel(customer=customer),
        "request": context.get("request"),
        "csrf_token": context.get("csrf_token"),
        "can_operate": context.get("can_operate", False),
    }


@register.filter
def migration_tone(state: str) -> str:
    """Return the pill tone (ok, warn, bad, muted, info) of a migration state."""
    return state_tone(state)
