"""How zhicheng writes time for people: one time zone, one set of formats for pages, messages, CSV and prints.

The notice writes a deadline as its last day ("11月26日前"): a window that closes at 24:00 of 26 November is
stored as the instant 2020-11-27 00:00 local, and must never be shown as that next day. Every formatter here
reads an instant at exactly local midnight that ends something as 24:00 of the day before.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from calendars import TZ, default_calendar
from calendars.errors import CalendarError

__all__ = [
    "TZ",
    "day",
    "day_cn",
    "deadline",
    "deadline_cn",
    "instant",
    "last_day",
    "local",
    "opens",
    "opens_cn",
    "period",
    "working_days_left",
]

NEAR_WORKING_DAYS = 5  # a deadline this close shows how many working days are left


def local(value: datetime) -> datetime:
    """An aware instant in the one local zone (Asia/Shanghai)."""
    return value.astimezone(TZ)


def _at_midnight(value: datetime) -> bool:
    t = local(value)
    return t.hour == 0 and t.minute == 0 and t.second == 0 and t.microsecond == 0


def last_day(value: datetime) -> date:
    """The local day a deadline belongs to: an end at 24:00 (next day's 00:00) is the day before."""
    t = local(value)
    return (t - timedelta(days=1)).date() if _at_midnight(value) else t.date()


def instant(value: datetime | None) -> str:
    """A moment something happened, e.g. 2020-11-17 09:05."""
    return f"{local(value):%Y-%m-%d %H:%M}" if value else ""


def day(value: date | datetime | None) -> str:
    """A calendar day, e.g. 2020-11-26 (an instant: its local day)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = local(value).date()
    return value.isoformat()


def day_cn(value: date | datetime | None) -> str:
    """A calendar day in words, e.g. 2020年11月26日."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = local(value).date()
    return f"{value.year}年{value.month}月{value.day}日"


def deadline(value: datetime | date | None) -> str:
    """A deadline as the notice writes it: 2020-11-26（24:00 截止）, or 2020-11-26 17:30 截止 off midnight.

    A bare date is a last day (a window's `closes`).
    """
    if value is None:
        return ""
    if not isinstance(value, datetime):
        return f"{value.isoformat()}（24:00 截止）"
    if _at_midnight(value):
        return f"{last_day(value).isoformat()}（24:00 截止）"
    return f"{local(value):%Y-%m-%d %H:%M} 截止"


def deadline_cn(value: datetime | date | None) -> str:
    """A deadline in a sentence, e.g. 11月26日 (its last day; the time only when it is not 24:00)."""
    if value is None:
        return ""
    if not isinstance(value, datetime):
        return f"{value.month}月{value.day}日"
    d = last_day(value)
    text = f"{d.month}月{d.day}日"
    return text if _at_midnight(value) else f"{text}{local(value):%H:%M}"


def opens(value: datetime | None) -> str:
    """When a window opens: 2020-12-04 (a whole day), or 2020-12-04 09:00."""
    if value is None:
        return ""
    return day(value) if _at_midnight(value) else instant(value)


def opens_cn(value: datetime | None) -> str:
    """When a window opens, in a sentence: 12月4日, or 12月4日09:00."""
    if value is None:
        return ""
    t = local(value)
    text = f"{t.month}月{t.day}日"
    return text if _at_midnight(value) else f"{text}{t:%H:%M}"


def period(start: datetime | date | None, end: datetime | None) -> str:
    """A span from a day to a deadline's last day: 2020-11-26 至 2020-12-03."""
    if start is None or end is None:
        return ""
    return f"{day(start)} 至 {last_day(end).isoformat()}"


def working_days_left(now: datetime, value: datetime | None) -> int | None:
    """Working days left before a deadline, today included if it is one (0 once passed); None if unknown."""
    if value is None:
        return None
    if value <= now:
        return 0
    cal = default_calendar()
    try:
        today = cal.local_date(now)
        end = last_day(value)
        left = cal.working_days_between(today, end) + (1 if cal.is_working_day(today) else 0)
    except CalendarError:
        return None
    return max(left, 0)


def is_near(now: datetime, value: datetime | None) -> bool:
    """True when a deadline is close enough that its working days left are worth showing."""
    left = working_days_left(now, value)
    return left is not None and left <= NEAR_WORKING_DAYS
