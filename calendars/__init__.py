"""Working-day calendars (Asia/Shanghai). Pure Python on `holidays`: no I/O beyond reading its own data."""

from __future__ import annotations

from .errors import CalendarError, OverridesError, UnverifiedYear
from .workdays import (
    DAY_KINDS,
    OVERRIDES_ENV,
    TZ,
    WorkCalendar,
    default_calendar,
    end_of_day,
    is_working_day,
    load_calendar,
    notice_end,
    nth_working_day_after,
    working_days_between,
)

__all__ = [
    "DAY_KINDS",
    "OVERRIDES_ENV",
    "TZ",
    "CalendarError",
    "OverridesError",
    "UnverifiedYear",
    "WorkCalendar",
    "default_calendar",
    "end_of_day",
    "is_working_day",
    "load_calendar",
    "notice_end",
    "nth_working_day_after",
    "working_days_between",
]
