"""`zhicheng calendar …`: thin wrappers over the `calendars` package."""

from __future__ import annotations

import calendar as stdlib_calendar
import re
from datetime import date

import click

from calendars import CalendarError, WorkCalendar, default_calendar, load_calendar

_MARKS = {"holiday": "*", "makeup_workday": "+"}
_OVERRIDES_KEY = "zhicheng.calendar.overrides"
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _calendar(ctx: click.Context) -> WorkCalendar:
    """The calendar for this command: --overrides if given, else the default one."""
    path = ctx.meta.get(_OVERRIDES_KEY)
    try:
        return load_calendar(path) if path else default_calendar()
    except CalendarError as exc:
        raise click.ClickException(str(exc)) from exc


def _month(value: str) -> tuple[int, int]:
    match = re.fullmatch(r"(\d{4})-(\d{1,2})", value.strip())
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise click.BadParameter(f"{value!r} is not a month; write YYYY-MM, e.g. 2020-10")
    return int(match.group(1)), int(match.group(2))


@click.group("calendar")
@click.option(
    "--overrides",
    type=click.Path(dir_okay=False),
    help="Use this overrides TOML file instead of the configured one (to check it before deploying).",
)
@click.pass_context
def calendar_cli(ctx: click.Context, overrides: str | None) -> None:
    """Working-day calendar (Asia/Shanghai)."""
    # meta, not obj: FlaskGroup keeps its ScriptInfo in obj.
    ctx.meta[_OVERRIDES_KEY] = overrides


@calendar_cli.command("workdays")
@click.argument("day", metavar="DATE", type=click.DateTime(formats=["%Y-%m-%d"]))
@click.argument("n", type=click.IntRange(min=1))
@click.pass_context
def workdays_command(ctx: click.Context, day, n: int) -> None:
    """Print the N-th working day after DATE (YYYY-MM-DD); the ISO date is the last line."""
    cal = _calendar(ctx)
    try:
        result = cal.nth_working_day_after(day.date(), n)
        ends = cal.end_of_day(result)
    except CalendarError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(
        f"Working day {n} after {day.date().isoformat()}; a {n}-working-day public notice "
        f"approved that day ends at {ends.isoformat()} (Asia/Shanghai)."
    )
    click.echo(result.isoformat())


@calendar_cli.command("month")
@click.argument("month", metavar="YYYY-MM")
@click.pass_context
def month_command(ctx: click.Context, month: str) -> None:
    """Print a month as a Mon..Sun grid with holidays (*) and make-up workdays (+) marked."""
    year, number = _month(month)
    cal = _calendar(ctx)
    try:
        days = [date(year, number, d) for d in range(1, stdlib_calendar.monthrange(year, number)[1] + 1)]
        kinds = {d: cal.day_kind(d) for d in days}
        notes = {d: cal.holiday_name(d) or cal.workday_reason(d) for d in days}
    except CalendarError as exc:
        raise click.ClickException(str(exc)) from exc
    working = sum(kind in ("workday", "makeup_workday") for kind in kinds.values())
    click.echo(f"{year}-{number:02d} (Asia/Shanghai): {working} working days")
    click.echo(" ".join(f"{name:>4}" for name in _WEEKDAYS))
    for week in stdlib_calendar.Calendar(firstweekday=0).monthdatescalendar(year, number):
        cells = [f"{d.day:>3}{_MARKS.get(kinds[d], ' ')}" if d.month == number else "    " for d in week]
        click.echo(" ".join(cells).rstrip())
    click.echo(
        "Legend: * holiday (休息)   + make-up workday (调休上班)   Sat/Sun are rest days unless marked +"
    )
    for d in days:
        if notes[d]:
            click.echo(f"{d.isoformat()} {_WEEKDAYS[d.weekday()]} {_MARKS.get(kinds[d], ' ')} {notes[d]}")


@calendar_cli.command("years")
@click.pass_context
def years_command(ctx: click.Context) -> None:
    """List the verified calendar years and the State Council notices they were checked against."""
    for year, source in _calendar(ctx).verified_years().items():
        click.echo(f"{year}  {source}")
