"""Template filters for long ids: shown short, the full value kept for hover and copy."""

from __future__ import annotations

import re

from django import template

register = template.Library()

_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-")
# Ids up to this long are shown whole.
SHORT_LENGTH = 13


@register.filter
def short_id(value: object) -> str:
    """Return a GUID as its first 8 characters and an ellipsis, other long ids as
    their first 12; short values unchanged. The template keeps the full value in
    `title` and `data-copy`."""
    text = "" if value is None else str(value)
    if _GUID.match(text):
        return text[:8] + "\u2026"
    if len(text) > SHORT_LENGTH:
        return text[: SHORT_LENGTH - 1] + "\u2026"
    return text
