"""The `bigint` path converter: a numeric id a 64-bit primary key can hold.

Registered once, here, when the module is first imported (`migrations_app.urls` and every
views module that uses it import it). An id above 2**63 - 1 does not match, so
Django answers 404 before any view or query sees it.
"""

from __future__ import annotations

from django.urls import register_converter

from migrations_app.models import BIGINT_MAX

__all__ = ["BIGINT_MAX", "BigIntConverter"]


class BigIntConverter:
    """Match a non-negative integer no larger than a signed 64-bit column holds."""

    # At most 19 digits: longer text never reaches int() at all.
    regex = "[0-9]{1,19}"

    def to_python(self, value: str) -> int:
        number = int(value)
        if number > BIGINT_MAX:
            # A ValueError makes the URL resolver treat the path as no match (404).
            raise ValueError("id out of range")
        return number

    def to_url(self, value: int | str) -> str:
        return str(int(value))


register_converter(BigIntConverter, "bigint")
