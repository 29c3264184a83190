"""When a ready task is due a reminder: N working days before its deadline, or on the day its window opens.

Pure date arithmetic on the working-day calendar, shared by the database sweep and the scenario runner.
The offsets come from the campaign file's `[reminders]`. Each task is in at most one "before" band at a time
(the nearest offset whose day has come), so a task that became ready late gets the reminder that fits the
time left rather than a stale "3 working days" one; a task whose window opens today gets the opening reminder
today and its first "before" reminder from tomorrow.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from calendars import TZ
from engine import timefmt

OPENS = "opens"


def before_key(days: int) -> str:
    return f"before:{days}"


@dataclass(frozen=True)
class Policy:
    days_before: tuple[int, ...]  # descending, e.g. (3, 1)
    on_open: bool

    @classmethod
    def of(cls, campaign) -> Policy:
        return cls(tuple(sorted(campaign.reminder_days, reverse=True)), bool(campaign.remind_on_open))

    @property
    def enabled(self) -> bool:
        return bool(self.days_before) or self.on_open


def anchor_day(calendar, today: date) -> date:
    """Today if it is a working day, else the last working day before it."""
    day = today
    while not calendar.is_working_day(day):
        day -= timedelta(days=1)
    return day


@dataclass(frozen=True)
class Band:
    """Tasks whose last day is in (after, through] are due the reminder `key` today."""

    key: str
    through: date
    after: date | None


def bands(policy: Policy, calendar, now: datetime) -> list[Band]:
    """The "before" bands for today, nearest offset first; disjoint, so a task is in at most one."""
    anchor = anchor_day(calendar, now.astimezone(TZ).date())
    ordered = sorted(policy.days_before)
    out = []
    for i, days in enumerate(ordered):
        through = calendar.nth_working_day_after(anchor, days)
        after = calendar.nth_working_day_after(anchor, ordered[i - 1]) if i else None
        out.append(Band(before_key(days), through, after))
    return out


def start_of_today(now: datetime) -> datetime:
    local = now.astimezone(TZ)
    return datetime(local.year, local.month, local.day, tzinfo=TZ)


def due_keys(
    policy: Policy, calendar, now: datetime, actionable_from: datetime | None, deadline: datetime | None
) -> list[str]:
    """The reminders due now for one ready task (at most an opening one or one "before" one)."""
    if deadline is None or now >= deadline:
        return []
    today = start_of_today(now)
    if actionable_from is not None and now < actionable_from:
        return []  # not open yet: nothing to act on
    if policy.on_open and actionable_from is not None and actionable_from >= today:
        return [OPENS]
    end = timefmt.last_day(deadline)
    for band in bands(policy, calendar, now):
        if end <= band.through and (band.after is None or end > band.after):
            return [band.key]
    return []
