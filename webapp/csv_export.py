"""The one CSV writer every export uses: UTF-8 with BOM (Excel shows the Chinese), formula injection
neutralised, a safe download name.

A spreadsheet runs a cell that starts with = + - @ (or a tab or CR before one) as a formula, so a real name
`=HYPERLINK(...)` would become a link in the reviewer's Excel. Such text cells get a leading apostrophe,
the OWASP-recommended neutraliser; numbers stay numbers.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from urllib.parse import quote

from flask import Response

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value) -> str | int | float:
    """A cell value safe to open in a spreadsheet."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, int | float):
        return value
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_text(header: list[str], rows: Iterable[Iterable]) -> str:
    """The CSV document (with BOM) for a header and rows."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([neutralise(h) for h in header])
    for row in rows:
        writer.writerow([neutralise(cell) for cell in row])
    return "\ufeff" + out.getvalue()


def csv_response(
    header: list[str], rows: Iterable[Iterable], *, filename: str, ascii_name: str = "export.csv"
):
    """A CSV download named `filename` (UTF-8, percent-encoded) with an ASCII fallback name."""
    return Response(
        csv_text(header, rows),
        mimetype="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f"attachment; filename={ascii_name}; filename*=UTF-8''{quote(filename)}",
            "Cache-Control": "private, no-store",
        },
    )
