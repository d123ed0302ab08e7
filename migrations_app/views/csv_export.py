"""Streamed CSV downloads: every cell quoted, no cell a spreadsheet runs as a formula.

Shared by the audit log, customer list, migrations and renewal desk exports.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from django.http import StreamingHttpResponse
from django.utils import timezone

# A spreadsheet runs a cell that starts with one of these as a formula, after any
# leading spaces (the full-width forms too, which some programs fold to ASCII).
_FORMULA_TRIGGER = "[=+\\-@\uff1d\uff0b\uff0d\uff20]"
# Where a spreadsheet may start a cell inside one CSV field: at its start, and after
# any separator a program may split on when it imports or re-splits the text
# (comma, semicolon, tab, pipe, line break). A tab or carriage return opening the
# field is a trigger as well.
# https://owasp.org/www-community/attacks/CSV_Injection
_CELL_START = re.compile(rf"(^|[,;\t\r\n|])(?=\s*{_FORMULA_TRIGGER})|^(?=[\t\r])")


def csv_safe(value: Any) -> str:
    """Return `value` as CSV cell text no spreadsheet will run as a formula.

    A quote mark goes in front of every place where a cell could start with a
    formula, wherever a program splits the text: `x;=cmd` becomes `x;'=cmd`.
    """
    if value is None:
        return ""
    return _CELL_START.sub(lambda match: (match.group(1) or "") + "'", str(value))


class _Echo:
    """A file-like object whose write() returns the text, for csv.writer."""

    def write(self, value: str) -> str:
        return value


def csv_lines(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Iterator[str]:
    """Yield the CSV text of `header` then `rows`, one line at a time.

    Every cell is quoted (a program splitting on ; or tab still sees one cell) and
    passed through `csv_safe`; the first line opens with a byte-order mark, so
    spreadsheet programs read the file as UTF-8.
    """
    writer = csv.writer(_Echo(), quoting=csv.QUOTE_ALL)
    yield "\ufeff" + writer.writerow([csv_safe(name) for name in header])
    for row in rows:
        yield writer.writerow([csv_safe(value) for value in row])


def csv_response(lines: Iterator[str], *, name: str) -> StreamingHttpResponse:
    """Return a streamed attachment `partnerhub-<name>-<UTC time>.csv` of `lines`."""
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="partnerhub-{name}-{stamp}.csv"'
    )
    response["Cache-Control"] = "no-store"
    return response
