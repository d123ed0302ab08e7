"""The audit CSV export quotes every cell and defuses formulas wherever a
spreadsheet could start a cell, not only at the start of the field."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import pytest
from django.urls import reverse

from migrations_app.services.audit import audit_record

pytestmark = pytest.mark.django_db

PAYLOADS = [
    "x;=cmd|'/C calc'!A0;",
    'Contoso,=HYPERLINK("http://evil")',
    "name\t+1+1",
    "first line\n@SUM(A1:A9)",
    "crlf\r\n-2+3",
    "spaced; =1+1",
    "pipe|=1",
    "nbsp;\u00a0=1",
    "fullwidth;\uff1d1+1",
    "=at the start",
]
# Where a spreadsheet may begin a new cell when it splits or re-splits text.
SEPARATORS = re.compile(r"[,;\t\r\n|]")
TRIGGERS = ("=", "+", "-", "@", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def _export(client: Any) -> str:
    response = client.get(reverse("audit_export"), {"action": "login_failed"})
    assert response.status_code == 200
    return b"".join(response.streaming_content).decode("utf-8-sig")


def test_every_cell_of_the_export_is_quoted(client: Any, viewer: Any) -> None:
    client.force_login(viewer)
    for payload in PAYLOADS:
        audit_record(action="login_failed", actor_label=payload, message=payload)

    body = _export(client)

    rows = list(csv.reader(io.StringIO(body)))
    assert len(rows) == len(PAYLOADS) + 1
    requoted = io.StringIO()
    csv.writer(requoted, quoting=csv.QUOTE_ALL).writerows(rows)
    assert body == requoted.getvalue()


def test_no_part_of_a_cell_starts_a_formula_after_a_separator(
    client: Any, viewer: Any
) -> None:
    client.force_login(viewer)
    for payload in PAYLOADS:
        audit_record(
            action="login_failed",
            actor_label=payload,
            customer_name=payload,
            message=payload,
            details={"username": payload},
        )

    rows = list(csv.reader(io.StringIO(_export(client))))

    cells = [cell for row in rows[1:] for cell in row]
    dangerous = [
        cell
        for cell in cells
        for piece in [cell, *SEPARATORS.split(cell)]
        if piece.lstrip(" \u00a0").startswith(TRIGGERS)
    ]
    assert dangerous == []
    # The text is still there to read, with a quote mark in front of each formula.
    assert "x;'=cmd|'/C calc'!A0;" in cells
    assert "spaced;' =1+1" in cells
    assert "'=at the start" in cells
