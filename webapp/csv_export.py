"""One CSV writer for every export: UTF-8 with BOM (Excel shows the Chinese), cells neutralised against formula
injection (a cell starting with = + - @ or a control character is prefixed with an apostrophe, as OWASP advises).

Issue 12 may bring its own helper: merge into whichever lands first, keeping both behaviours.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from urllib.parse import quote

from flask import Response

_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n")


def safe_cell(value) -> str:
    """A cell as text that a spreadsheet will not evaluate."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_TRIGGERS) else text


def csv_response(filename: str, header: list[str], rows: Iterable[Iterable]) -> Response:
    """A CSV download named `filename` (UTF-8, RFC 5987 for the Chinese name)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([safe_cell(h) for h in header])
    for row in rows:
        writer.writerow([safe_cell(c) for c in row])
    return Response(
        "\ufeff" + out.getvalue(),
        mimetype="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f"attachment; filename=export.csv; filename*=UTF-8''{quote(filename)}"
        },
    )
