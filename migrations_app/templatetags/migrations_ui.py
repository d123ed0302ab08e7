"""Template filters for migrations. No filter reads the database."""

from __future__ import annotations

from django import template

from migrations_app.selectors.migrations import state_tone

register = template.Library()


@register.filter
def migration_tone(state: str) -> str:
    """Return the pill tone (ok, warn, bad, muted, info) of a migration state."""
    return state_tone(state)
