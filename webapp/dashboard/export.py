"""Tables to CSV (UTF-8 with BOM, so Excel opens Chinese) and to an Excel workbook (openpyxl)."""

from __future__ import annotations

import io

from openpyxl import Workbook

from ..csv_export import csv_text, neutralise


def _safe(value):
    """A text cell that a spreadsheet would run as a formula is neutralised like every CSV cell; None stays empty."""
    return None if value is None else neutralise(value)


def to_csv(headers: list[str], rows: list[list]) -> bytes:
    """The one CSV writer (webapp/csv_export.py): BOM, formula cells neutralised."""
    return csv_text(headers, rows).encode("utf-8")


def to_xlsx(title: str, headers: list[str], rows: list[list]) -> bytes:
    book = Workbook(write_only=True)
    sheet = book.create_sheet(title=title[:31])
    sheet.append(headers)
    for row in rows:
        sheet.append([_safe(v) for v in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
