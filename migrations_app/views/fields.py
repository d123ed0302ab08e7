"""Form fields shared by the pages that take a number from a person."""

from __future__ import annotations

from typing import Any

from django import forms


class CountField(forms.IntegerField):
    """An IntegerField that reads the digits 0-9 only.

    Python's int() also reads other scripts' digits (Arabic-Indic "١٢٣" is 123,
    fullwidth ones too), so a count someone did not mean to type in those digits
    would be bought as read; such input gets the field's "invalid" message.
    """

    def to_python(self, value: Any) -> int | None:
        """Return the whole number, None when empty; raise ValidationError otherwise."""
        if isinstance(value, str) and not value.strip().isascii():
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return super().to_python(value)
