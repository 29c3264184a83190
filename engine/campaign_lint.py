"""Checks that a campaign's dates hang together the way the notice's process needs them to.

The loader (`engine.campaign`) has already checked the file's shape; here each rule is one function of
the campaign and the working-day calendar, returning findings rather than raising.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from itertools import pairwise

from calendars import TZ, default_calendar
from calendars.errors import CalendarError, UnverifiedYear
from engine.campaign import Campaign

LEVELS = ("error", "warning", "info")
_DAY = timedelta(days=1)


@dataclass(frozen=True)
class Finding:
    level: str  # "error" | "warning" | "info"
    key: str
    message: str

    def __str__(self) -> str:
        return f"{self.level}: {self.key}: {self.message}"


def lint_campaign(campaign: Campaign, calendar=None) -> list[Finding]:
    """Every finding for `campaign`, errors first; an empty error list means the engine may run it."""
    cal = calendar if calendar is not None else default_calendar()
    out: list[Finding] = []
    out += _timezone(campaign)
    out += _amounts(campaign)
    out += _windows(campaign)
    out += _resubmission(campaign)
    unverified = _unverified_years(campaign, cal)
    out += unverified
    if not unverified:
        try:
            out += _public_notice(campaign, cal)
            out += _hand_overs(campaign, cal)
        except CalendarError as exc:  # a date walked past the verified years (e.g. a notice into January)
            out.append(Finding("error", "public_notice.working_days", str(exc)))
    return sorted(out, key=lambda f: LEVELS.index(f.level))


def _err(key: str, message: str) -> Finding:
    return Finding("error", key, message)


def _dated_keys(c: Campaign) -> list[tuple[str, date]]:
    keys = []
    for stage_id, w in c.stages.items():
        keys += [(f"stages.{stage_id}.opens", w.opens), (f"stages.{stage_id}.closes", w.closes)]
    keys += [
        ("resubmission.committee_resubmit_by", c.committee_resubmit_by),
        ("resubmission.committee_recheck_by", c.committee_recheck_by),
    ]
    return keys


def _timezone(c: Campaign) -> list[Finding]:
    if c.timezone != TZ.key:
        return [_err("campaign.timezone", f"the working-day calendar is {TZ.key} only; got {c.timezone!r}")]
    return []


def _amounts(c: Campaign) -> list[Finding]:
    checks = [
        ("public_notice.working_days", c.notice_working_days),
        ("fee.amount_cny", c.fee_cny),
        ("print.review_form_copies", c.review_form_copies),
        ("print.notice_form_copies", c.notice_form_copies),
    ]
    return [_err(key, f"must be greater than 0, got {value}") for key, value in checks if value <= 0]


def _unverified_years(c: Campaign, cal) -> list[Finding]:
    out, verified = [], cal.verified_years()
    for key, d in _dated_keys(c):
        if d.year not in verified:
            exc = UnverifiedYear(d.year)
            out.append(
                _err(
                    key,
                    f"{d} is in {exc.year}, a year the working-day calendar has not verified "
                    f"(verified: {', '.join(map(str, verified))}); fix the date, or verify {exc.year} "
                    f"in calendars/overrides.toml",
                )
            )
        elif d.year not in (c.year, c.year + 1):
            out.append(Finding("warning", key, f"{d} is far from the campaign year {c.year}"))
    return out


def _windows(c: Campaign) -> list[Finding]:
    """Each window is a real span, and each stage closes no earlier than the one feeding it."""
    s, out = c.stages, []
    for stage_id, w in s.items():
        if w.opens > w.closes:
            out.append(
                _err(f"stages.{stage_id}.closes", f"closes on {w.closes}, before it opens on {w.opens}")
            )
    if s["registration"].closes >= s["applicant_submit"].opens:
        out.append(
            _err(
                "stages.applicant_submit.opens",
                f"opens on {s['applicant_submit'].opens}, but registration runs until "
                f"{s['registration'].closes}; submission opens after registration closes",
            )
        )
    chain = [
        "applicant_submit",
        "unit_review",
        "unit_report",
        "tier2_review",
        "tier3_review",
        "committee_review",
    ]
    for before, after in pairwise(chain):
        if s[after].closes < s[before].closes:
            out.append(
                _err(
                    f"stages.{after}.closes",
                    f"closes on {s[after].closes}, before {before} closes on {s[before].closes}: "
                    f"work handed over on {before}'s last day could never be done",
                )
            )
        if s[after].opens < s[before].opens:
            out.append(
                Finding(
                    "warning",
                    f"stages.{after}.opens",
                    f"opens on {s[after].opens}, before {before} opens on {s[before].opens}",
                )
            )
    if s["onsite_confirm"].opens <= s["committee_review"].closes:
        out.append(
            _err(
                "stages.onsite_confirm.opens",
                f"opens on {s['onsite_confirm'].opens}; on-site confirmation comes after "
                f"committee_review closes on {s['committee_review'].closes}",
            )
        )
    return out


def _resubmission(c: Campaign) -> list[Finding]:
    committee, onsite, out = c.window("committee_review"), c.window("onsite_confirm"), []
    resubmit, recheck = c.committee_resubmit_by, c.committee_recheck_by
    if resubmit < committee.opens:
        out.append(
            _err(
                "resubmission.committee_resubmit_by",
                f"{resubmit} is before committee_review opens on {committee.opens}: "
                f"no committee return could be resubmitted",
            )
        )
    elif resubmit < committee.closes:
        out.append(
            Finding(
                "warning",
                "resubmission.committee_resubmit_by",
                f"{resubmit} is before committee_review closes on {committee.closes}: "
                f"a return in the committee's last days cannot be resubmitted",
            )
        )
    if recheck < resubmit:
        out.append(
            _err(
                "resubmission.committee_recheck_by",
                f"{recheck} is before committee_resubmit_by {resubmit}: the committee must re-check "
                f"after applicants resubmit",
            )
        )
    if onsite.closes < recheck:
        out.append(
            _err(
                "stages.onsite_confirm.closes",
                f"closes on {onsite.closes}, before committee_recheck_by {recheck}: an application "
                f"accepted on re-check could never be confirmed on site",
            )
        )
    return out


def _last_day(instant: datetime) -> date:
    """The local day at whose 24:00 `instant` falls."""
    return instant.astimezone(TZ).date() - _DAY


def _public_notice(c: Campaign, cal) -> list[Finding]:
    """An approval on unit_review's last day must leave the notice ended before unit_report's last day ends."""
    review, report, n = c.window("unit_review"), c.window("unit_report"), c.notice_working_days
    if n <= 0 or review.opens > review.closes:
        return []
    report_by = cal.end_of_day(report.closes)

    def fits(day: date) -> bool:  # the notice ends at a midnight, so this leaves the whole last day to report
        return cal.notice_end(day, n) < report_by

    latest = next((d for d in _days_back(review.closes, review.opens) if fits(d)), None)
    end = cal.notice_end(review.closes, n)
    if latest is None:
        return [
            _err(
                "stages.unit_review.closes",
                f"no approval day in unit_review ({review.opens}..{review.closes}) leaves a {n}-working-day "
                f"public notice ended before unit_report closes at 24:00 of {report.closes}; move "
                f"unit_report.closes later or shorten public_notice.working_days",
            )
        ]
    if latest != review.closes:
        return [
            _err(
                "stages.unit_review.closes",
                f"an approval on {review.closes} (unit_review's last day) starts a {n}-working-day public "
                f"notice ending at 24:00 of {_last_day(end)}, leaving no day to report before unit_report "
                f"closes at 24:00 of {report.closes}; the latest approval that fits is {latest}: close "
                f"unit_review then, or close unit_report on {_last_day(end) + _DAY} or later, "
                f"or shorten public_notice.working_days",
            )
        ]
    return [
        Finding(
            "info",
            "public_notice",
            f"latest unit approval that still fits: {latest} (the {n}-working-day notice ends at 24:00 of "
            f"{_last_day(end)}; unit_report closes at 24:00 of {report.closes})",
        )
    ]


def _days_back(start: date, stop: date):
    day = start
    while day >= stop:
        yield day
        day -= _DAY


def _hand_overs(c: Campaign, cal) -> list[Finding]:
    """No tier may close before the tier below could first hand an application over."""
    s, n, out = c.stages, c.notice_working_days, []
    if n <= 0:
        return out
    first_approval = max(s["unit_review"].opens, s["applicant_submit"].opens)
    first_report = max(_last_day(cal.notice_end(first_approval, n)) + _DAY, s["unit_report"].opens)
    why = (
        f"the earliest report is {first_report} (first approval {first_approval} + "
        f"{n}-working-day public notice)"
    )
    # Units under a municipal department skip tier 2, so tier 3 can be reached straight from the report.
    first_tier2 = max(first_report, s["tier2_review"].opens)
    arrivals = {
        "tier2_review": [(first_report, why)],
        "tier3_review": [
            (first_report, why),
            (first_tier2, f"the earliest tier-2 hand-over is {first_tier2}"),
        ],
    }
    first_tier3 = max(first_report, s["tier3_review"].opens)
    arrivals["committee_review"] = [(first_tier3, f"the earliest tier-3 hand-over is {first_tier3}")]
    for stage_id, candidates in arrivals.items():
        w = s[stage_id]
        for arrival, reason in candidates:
            if w.closes < arrival:
                out.append(
                    _err(
                        f"stages.{stage_id}.closes",
                        f"closes on {w.closes}, before any application can reach it: {reason}",
                    )
                )
        earliest, reason = min(candidates)
        if w.opens < earliest:
            out.append(
                Finding(
                    "warning",
                    f"stages.{stage_id}.opens",
                    f"opens on {w.opens}, but {reason}: its first days cannot be used",
                )
            )
    return out
