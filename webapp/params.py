"""Parsing ids and query parameters without ever answering 500: out-of-range ids are 404, bad filters 400.

Database integers are 32-bit signed on PostgreSQL (and SQLite refuses Python ints past 64 bits), so an id
beyond that range can name nothing: the URL converter stops it before any query.
"""

from __future__ import annotations

from datetime import date

from flask import request
from werkzeug.exceptions import BadRequest
from werkzeug.routing import IntegerConverter

DB_INT_MAX = 2**31 - 1


class DbIntConverter(IntegerConverter):
    """`<int:…>` limited to the database's integer range; anything larger does not match (404)."""

    def __init__(self, map, fixed_digits=0, min=None, max=DB_INT_MAX, signed=False):  # noqa: A002
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


class BadParameter(BadRequest):
    """A query parameter that cannot be understood; the message names it in Chinese."""

    def __init__(self, label: str, reason: str):
        super().__init__(f"查询条件「{label}」无效：{reason}")


def int_arg(
    name: str, label: str, default: int | None = None, *, lo: int = 1, hi: int = DB_INT_MAX
) -> int | None:
    """An integer query parameter in [lo, hi], the default when absent or blank. Raises BadParameter."""
    raw = (request.args.get(name) or "").strip()
    if raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadParameter(label, "应为整数") from None
    if not lo <= value <= hi:
        raise BadParameter(label, f"应在 {lo} 到 {hi} 之间")
    return value


def date_arg(
    name: str, label: str, *, lo: date = date(2000, 1, 1), hi: date = date(2199, 12, 31)
) -> date | None:
    """A YYYY-MM-DD query parameter within [lo, hi] (so day arithmetic never overflows). Raises BadParameter."""
    raw = (request.args.get(name) or "").strip()
    if raw == "":
        return None
    try:
        value = date.fromisoformat(raw)
    except ValueError:
        raise BadParameter(label, "日期格式应为 YYYY-MM-DD") from None
    if not lo <= value <= hi:
        raise BadParameter(label, f"日期应在 {lo.isoformat()} 到 {hi.isoformat()} 之间")
    return value
