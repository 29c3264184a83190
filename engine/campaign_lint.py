"""Checks that a campaign's dates hang together the way the notice's process needs them to.

The loader (`engine.campaign`) has already checked the file's shape; here each rule is one function of
the campaign, the stage model of its BPMN and the working-day calendar, returning findings rather than
raising. Messages are in Chinese, name the key and say the fix.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from itertools import pairwise
from pathlib import Path

from calendars import TZ, default_calendar
from calendars.errors import CalendarError, UnverifiedYear
from engine import paths
from engine.campaign import REGISTRATION, Campaign, check_windows

LEVELS = ("error", "warning", "info")
LEVEL_LABELS = {"error": "错误", "warning": "警告", "info": "提示"}
_DAY = timedelta(days=1)


@dataclass(frozen=True)
class Finding:
    level: str  # "error" | "warning" | "info"
    key: str
    message: str

    def __str__(self) -> str:
        return f"{LEVEL_LABELS[self.level]}: {self.key}: {self.message}"


def lint_campaign(campaign: Campaign, calendar=None, model=None) -> list[Finding]:
    """Every finding for `campaign`, errors first; an empty error list means the engine may run it.

    `model` is the stage model of the BPMN the campaign is deployed with (engine.stages); by default the
    shipped BPMN's. Which stages follow which, and where the public notice sits, come from it.
    """
    cal = calendar if calendar is not None else default_calendar()
    if model is None:
        model = default_model(campaign.process_id, campaign.source_path)
    # a BPMN the engine cannot read (a lane whose tier cannot be resolved, …): say so, naming the element
    out: list[Finding] = [_err(p.element_id, f"{p.file}:{p.line}: {p.message}") for p in model.problems]
    out += [_err(p.key, p.reason) for p in check_windows(campaign, model)]
    if out:
        return out  # the windows do not match the BPMN: the date rules below would only repeat it
    out += _timezone(campaign)
    out += _amounts(campaign)
    out += _windows(campaign, model)
    out += _resubmission(campaign, model)
    out += _stated_numbers(campaign, model)
    unverified = _unverified_years(campaign, cal)
    out += unverified
    if not unverified:
        try:
            out += _non_working_days(campaign, cal)
            out += _public_notice(campaign, model, cal)
            out += _hand_overs(campaign, model, cal)
        except CalendarError as exc:  # a date walked past the verified years (e.g. a notice into January)
            out.append(Finding("error", "public_notice.working_days", str(exc)))
    return sorted(out, key=lambda f: LEVELS.index(f.level))


def default_model(process_id: str | None = None, campaign_file: str | Path | None = None):
    """The stage model of the BPMN a campaign file goes with: the *.bpmn beside its `campaigns/` folder
    (bpmn/campaigns/x.toml -> bpmn/*.bpmn), else the shipped bpmn/ folder's."""
    from engine.stages import model_from_sources  # the BPMN is read only when no model is given

    root = paths.bpmn_dir()
    if campaign_file is not None:
        candidate = Path(campaign_file).resolve().parent.parent
        if any(candidate.glob("*.bpmn")):
            root = candidate
    sources = {p.name: p.read_text(encoding="utf-8") for p in sorted(root.glob("*.bpmn"))}
    return model_from_sources(sources, process_id)


def _err(key: str, message: str) -> Finding:
    return Finding("error", key, message)


def _warn(key: str, message: str) -> Finding:
    return Finding("warning", key, message)


def _d(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


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
        return [
            _err(
                "campaign.timezone", f'工作日日历只支持 {TZ.key}，这里写的是 {c.timezone!r}：改为 "{TZ.key}"'
            )
        ]
    return []


def _amounts(c: Campaign) -> list[Finding]:
    checks = [
        ("public_notice.working_days", c.notice_working_days),
        ("fee.amount_cny", c.fee_cny),
        ("print.review_form_copies", c.review_form_copies),
        ("print.notice_form_copies", c.notice_form_copies),
    ]
    return [_err(key, f"应大于 0，现在是 {value}：按通知填写") for key, value in checks if value <= 0]


def _unverified_years(c: Campaign, cal) -> list[Finding]:
    out, verified = [], cal.verified_years()
    for key, d in _dated_keys(c):
        if d.year not in verified:
            exc = UnverifiedYear(d.year)
            out.append(
                _err(
                    key,
                    f"{d} 在 {exc.year} 年，工作日日历尚未核对该年（已核对：{'、'.join(map(str, verified))}）："
                    f"改正日期，或在 calendars/overrides.toml 中核对 {exc.year} 年的放假安排",
                )
            )
        elif d.year not in (c.year, c.year + 1):
            out.append(_warn(key, f"{d} 离申报年度 {c.year} 太远：检查年份是否写错"))
    return out


def _non_working_days(c: Campaign, cal) -> list[Finding]:
    """A window opening or closing on a weekend or holiday is legal, but usually a typo or a surprise."""
    out = []
    for stage_id, w in c.stages.items():
        for key, day in (("opens", w.opens), ("closes", w.closes)):
            if not cal.is_working_day(day):
                why = cal.holiday_name(day) or "周末"
                out.append(
                    _warn(
                        f"stages.{stage_id}.{key}",
                        f"{_d(day)}不是工作日（{why}）：确认通知确实如此，否则改到相邻的工作日",
                    )
                )
    return out


def _windows(c: Campaign, model) -> list[Finding]:
    """Each window is a real span, and each stage closes no earlier than the one feeding it."""
    s, out = c.stages, []
    for stage_id, w in s.items():
        if w.opens > w.closes:
            out.append(
                _err(
                    f"stages.{stage_id}.closes",
                    f"截止日 {w.closes} 早于开始日 {w.opens}：把 closes 改到 opens 之后",
                )
            )
    first = model.submission
    if REGISTRATION in s and s[REGISTRATION].closes >= s[first].opens:
        out.append(
            _err(
                f"stages.{first}.opens",
                f"{s[first].opens} 开始填报，但用户注册到 {s[REGISTRATION].closes} 才结束：填报应在注册结束后开始，"
                f"把 stages.{first}.opens 改到 {s[REGISTRATION].closes + _DAY} 或之后",
            )
        )
    for before, after in pairwise(model.order):
        if s[after].closes < s[before].closes:
            out.append(
                _err(
                    f"stages.{after}.closes",
                    f"「{model.label(after)}」{s[after].closes} 截止，早于上一环节「{model.label(before)}」的截止日 "
                    f"{s[before].closes}：上一环节最后一天转来的申请书将无法办理，把 closes 改到 "
                    f"{s[before].closes} 或之后",
                )
            )
        if s[after].opens < s[before].opens:
            out.append(
                _warn(
                    f"stages.{after}.opens",
                    f"「{model.label(after)}」{s[after].opens} 开始，早于上一环节「{model.label(before)}」的开始日 "
                    f"{s[before].opens}",
                )
            )
        if model.applicant_responsible(after) and not model.stages[before].by_applicant:
            if s[after].opens <= s[before].closes:
                out.append(
                    _err(
                        f"stages.{after}.opens",
                        f"「{model.label(after)}」{s[after].opens} 开始，但「{model.label(before)}」到 "
                        f"{s[before].closes} 才截止：申报人办理的环节应在上一环节截止后开始",
                    )
                )
    return out


def _resubmission(c: Campaign, model) -> list[Finding]:
    """Dates of a return at a stage the correction goes straight back to (the committee in 2020)."""
    out = []
    resubmit, recheck = c.committee_resubmit_by, c.committee_recheck_by
    for stage in sorted(model.direct_returns):
        w, label = c.window(stage), model.label(stage)
        if resubmit < w.opens:
            out.append(
                _err(
                    "resubmission.committee_resubmit_by",
                    f"{resubmit} 早于「{label}」开始日 {w.opens}：任何退回都来不及重新提交，改到 {w.closes} 之后",
                )
            )
        elif resubmit < w.closes:
            out.append(
                _warn(
                    "resubmission.committee_resubmit_by",
                    f"{resubmit} 早于「{label}」截止日 {w.closes}：最后几天退回的申请书来不及补正",
                )
            )
        if recheck < resubmit:
            out.append(
                _err(
                    "resubmission.committee_recheck_by",
                    f"{recheck} 早于重新提交截止日 {resubmit}：复审应在申报人重新提交之后，改到 {resubmit} 或之后",
                )
            )
        after = model.after(stage)
        if after is not None and c.window(after).closes < recheck:
            out.append(
                _err(
                    f"stages.{after}.closes",
                    f"「{model.label(after)}」{c.window(after).closes} 截止，早于复审截止日 {recheck}："
                    f"复审通过的申请书将无法办理，把 closes 改到 {recheck} 或之后",
                )
            )
    return out


_NUMBER_RULES = (
    (re.compile(r"(\d+)\s*个?工作日"), "public_notice.working_days", "notice_working_days", "个工作日"),
    (re.compile(r"(\d+)\s*元"), "fee.amount_cny", "fee_cny", "元"),
    (re.compile(r"评审表一式\s*(\d+)\s*份"), "print.review_form_copies", "review_form_copies", "份"),
    (re.compile(r"公示表\s*(\d+)\s*份"), "print.notice_form_copies", "notice_form_copies", "份"),
)
_MONTH_DAY = re.compile(r"(\d{1,2})月(\d{1,2})日")


def _stated_numbers(c: Campaign, model) -> list[Finding]:
    """Numbers and dates written in BPMN labels or documentation that the campaign file contradicts.

    Better still, labels and documentation carry none: the campaign file is the one place for them.
    """
    texts = [(s.id, s.label + "\n" + s.documentation) for s in model.stages.values()]
    texts += [(w.id, w.label + "\n" + w.documentation) for w in model.waits.values()]
    days = {(d.month, d.day) for _, d in _dated_keys(c)}
    out = []
    for element, text in texts:
        for pattern, key, attr, unit in _NUMBER_RULES:
            for match in pattern.finditer(text):
                if int(match[1]) != getattr(c, attr):
                    out.append(
                        _warn(
                            key,
                            f"BPMN 中 {element} 的名称或说明写着“{match[0]}”，活动文件为 {getattr(c, attr)}{unit}："
                            f"删去 BPMN 中的数字（以活动文件为准），或改正其中一处",
                        )
                    )
        for match in _MONTH_DAY.finditer(text):
            if (int(match[1]), int(match[2])) not in days:
                out.append(
                    _warn(
                        f"stages.{element}" if element in c.stages else "stages",
                        f"BPMN 中 {element} 的名称或说明写着“{match[0]}”，活动文件中没有这个日期："
                        f"删去 BPMN 中的日期（以活动文件为准），或改正其中一处",
                    )
                )
    return out


def _last_day(instant: datetime) -> date:
    """The local day at whose 24:00 `instant` falls."""
    return instant.astimezone(TZ).date() - _DAY


def _public_notice(c: Campaign, model, cal) -> list[Finding]:
    """An approval on the last day of the stage before a notice must leave the notice ended before the
    stage after it closes (2020: unit_review, the public notice, unit_report)."""
    out, n = [], c.notice_working_days
    for wait in model.waits.values():
        if not (wait.after_stage and wait.before_stage) or n <= 0:
            continue
        r_id, p_id = wait.after_stage, wait.before_stage
        review, report = c.window(r_id), c.window(p_id)
        if review.opens > review.closes:
            continue
        report_by = cal.end_of_day(report.closes)

        def fits(
            day: date, report_by=report_by
        ) -> bool:  # the notice ends at a midnight: a whole day is left
            return cal.notice_end(day, n) < report_by

        latest = next((d for d in _days_back(review.closes, review.opens) if fits(d)), None)
        end = cal.notice_end(review.closes, n)
        r_label, p_label = model.label(r_id), model.label(p_id)
        if latest is None:
            out.append(
                _err(
                    f"stages.{r_id}.closes",
                    f"「{r_label}」（{review.opens}..{review.closes}）中任何一天通过，{n}个工作日的公示都无法在"
                    f"「{p_label}」截止（{report.closes} 24:00）前结束：把 stages.{p_id}.closes 改晚，"
                    f"或缩短 public_notice.working_days",
                )
            )
        elif latest != review.closes:
            out.append(
                _err(
                    f"stages.{r_id}.closes",
                    f"「{r_label}」最后一天 {review.closes} 通过的，{n}个工作日的公示到 {_last_day(end)} 24:00 结束，"
                    f"「{p_label}」{report.closes} 24:00 截止前已无一天可办：最晚能赶上的通过日是 {latest}；"
                    f"把 stages.{r_id}.closes 改为 {latest}，或把 stages.{p_id}.closes 改到 "
                    f"{_last_day(end) + _DAY} 或之后，或缩短 public_notice.working_days",
                )
            )
        else:
            out.append(
                Finding(
                    "info",
                    "public_notice",
                    f"「{r_label}」最晚通过日 {latest} 仍来得及：{n}个工作日的公示到 {_last_day(end)} 24:00 结束，"
                    f"「{p_label}」{report.closes} 24:00 截止",
                )
            )
    return out


def _days_back(start: date, stop: date):
    day = start
    while day >= stop:
        yield day
        day -= _DAY


def _hand_overs(c: Campaign, model, cal) -> list[Finding]:
    """No stage taking work from another org may close before that org could first hand an application
    over; opening before then is a warning. Earliest hand-overs follow the BPMN's flows and notices."""
    s, n, out = c.stages, c.notice_working_days, []
    if n <= 0:
        return out
    first_done: dict[str, date] = {}
    for stage in model.order:
        candidates = []
        for pred, waits in model.predecessors.get(stage, []):
            if pred not in first_done:
                continue
            arrival = first_done[pred]
            why = f"「{model.label(pred)}」最早 {arrival} 办完"
            for _ in waits:
                ended = _last_day(cal.notice_end(arrival, n))
                why += f"，再经{n}个工作日公示到 {ended}"
                arrival = ended + _DAY
            candidates.append((arrival, pred, f"{why}，最早 {arrival} 转到本环节"))
        w = s[stage]
        first_done[stage] = max([w.opens, min(a for a, _, _ in candidates)] if candidates else [w.opens])
        if not any(model.stages[p].tier != model.stages[stage].tier for _, p, _ in candidates):
            continue  # work moving inside one org is not a hand-over
        for arrival, _, reason in candidates:
            if w.closes < arrival:
                out.append(
                    _err(
                        f"stages.{stage}.closes",
                        f"「{model.label(stage)}」{w.closes} 截止，早于任何申请书能到达的日期：{reason}；"
                        f"把 closes 改到 {arrival} 或之后",
                    )
                )
        earliest, _, reason = min(candidates)
        if w.opens < earliest:
            out.append(
                _warn(
                    f"stages.{stage}.opens",
                    f"「{model.label(stage)}」{w.opens} 开始，但{reason}：开头几天用不上，可把 opens 改为 {earliest}",
                )
            )
    return out
