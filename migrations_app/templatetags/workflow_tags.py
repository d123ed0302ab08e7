"""Filters over a migration's path: pure functions of the row, never queries."""

from __future__ import annotations

from django import template

from migrations_app.models import Migration
from migrations_app.workflow import registry

register = template.Library()


@register.filter
def state_label(state: str) -> str:
    """Return the reseller's words for a migration state."""
    return registry.state_label(state)


@register.filter
def steps_done(migration: Migration) -> int:
    """Return how many steps of its path are behind the migration."""
    return registry.steps_done(migration)


@register.filter
def steps_total(migration: Migration) -> int:
    """Return how many steps the migration's path has."""
    return len(registry.path_of(migration))
