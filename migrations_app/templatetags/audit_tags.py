"""Template filters for audit events: labels and tones. No filter reads the database."""

from __future__ import annotations

import json
from typing import Any

from django import template

from migrations_app.models import Outcome
from migrations_app.services.audit import KNOWN_ACTIONS

register = template.Library()


@register.filter
def action_label(action: str) -> str:
    """Return the words for an action, or the action name if it is not known."""
    return KNOWN_ACTIONS.get(action, action)


@register.filter
def outcome_tone(outcome: str) -> str:
    """Return the pill class for an outcome."""
    tones: dict[str, str] = {
        Outcome.SUCCESS.value: "pill-ok",
        Outcome.FAILURE.value: "pill-bad",
        Outcome.DENIED.value: "pill-warn",
    }
    return tones.get(outcome, "pill-muted")


@register.filter
def status_tone(status: int | None) -> str:
    """Return the pill class for an HTTP status (none means no answer was read)."""
    if status is None:
        return "pill-bad"
    if status < 300:
        return "pill-ok"
    if status == 429 or status >= 500:
        return "pill-warn"
    return "pill-bad"


@register.filter
def pretty_json(value: Any) -> str:
    """Return a JSON value as compact, key-sorted text."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)
