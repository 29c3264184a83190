"""The campaign file (one per annual notice): its typed form and the loader that checks its shape.

The loader checks structure only (keys, types) and reports every problem at once. Which windows there
must be is the BPMN's to say: `check_windows` cross-checks them against a deployment's stage model (a window
for every stage, none without one). Whether the dates make sense together is `engine.campaign_lint`'s job.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from engine.errors import CampaignError, ConfigError

# The one window that is not a BPMN stage: when people may register accounts before the first stage.
REGISTRATION = "registration"
SERIES_LEVELS = ("正高级", "副高级")


@dataclass(frozen=True)
class Notice:
    number: str
    issuer: str
    date: date
    title: str
    phone: str = ""


@dataclass(frozen=True)
class Series:
    code: str
    name: str
    level: str


@dataclass(frozen=True)
class Window:
    """A stage's window: both dates are whole local days (closes at 24:00 of `closes`)."""

    stage: str
    opens: date
    closes: date
    label: str = ""  # optional, for the reader of the file; pages show the BPMN task's name


@dataclass(frozen=True)
class Contact:
    role: str
    name: str = ""
    phone: str = ""
    email: str = ""


@dataclass(frozen=True)
class Campaign:
    id: str
    year: int
    process_id: str
    timezone: str
    notice_number: str
    title: str
    issuer: str
    forwarding: tuple[Notice, ...]
    series: tuple[Series, ...]
    stages: dict[str, Window]
    notice_working_days: int
    repeat_notice_after_return: bool
    committee_resubmit_by: date
    committee_recheck_by: date
    fee_cny: int
    fee_note: str
    review_form_copies: int
    notice_form_copies: int
    onsite_address: str
    contacts: tuple[Contact, ...]
    source_path: str
    source_text: str
    # [reminders]: remind N working days before each deadline, and on the day a window opens.
    reminder_days: tuple[int, ...] = ()
    remind_on_open: bool = False
    # [onsite] stage: the task at which the applicant brings the printed forms and the fee.
    onsite_stage: str | None = None

    def window(self, stage_id: str) -> Window:
        """The window of `stage_id`; raises ConfigError naming the stage if the campaign has none."""
        try:
            return self.stages[stage_id]
        except KeyError:
            raise ConfigError(
                f"活动文件没有环节 {stage_id!r} 的时间窗口：添加 [stages.{stage_id}] 一节，写明 opens 和 closes"
                f"（已有：{'、'.join(self.stages)}）",
                file=self.source_path,
                key=f"stages.{stage_id}",
            ) from None

    def opens_at(self, stage_id: str, calendar=None):
        """The aware instant the stage opens: 00:00 local of its first day."""
        return _calendar(calendar).start_of_day(self.window(stage_id).opens)

    def deadline(self, stage_id: str, calendar=None):
        """The aware instant the stage closes: 24:00 local of its last day."""
        return _calendar(calendar).end_of_day(self.window(stage_id).closes)

    def notice_end(self, approval_day: date, calendar=None):
        """When a public notice started by an approval on `approval_day` ends (24:00 of the N-th working day)."""
        return _calendar(calendar).notice_end(approval_day, self.notice_working_days)

    def series_name(self, code: str) -> str:
        """The Chinese name of a series offered in this campaign; ConfigError if it is not offered."""
        for series in self.series:
            if series.code == code:
                return series.name
        raise ConfigError(
            f"本批次不受理系列 {code!r}（受理的系列：{'、'.join(s.code for s in self.series)}）",
            file=self.source_path,
            key="series",
        )


def _calendar(calendar):
    if calendar is not None:
        return calendar
    from calendars import default_calendar  # only the date arithmetic needs the calendar, not loading

    return default_calendar()


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a campaign file, located by dotted key and line."""

    file: str
    key: str
    line: int | None
    reason: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.key}: {self.reason}" if self.key else f"{where}: {self.reason}"


def load_campaign(path: str | Path) -> Campaign:
    """Read and check a campaign file; raises CampaignError listing every problem found."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CampaignError([Problem(str(path), "", None, f"无法读取文件：{exc}")], file=str(path)) from None
    return parse_campaign(text, source=str(path))


def parse_campaign(text: str, source: str = "<string>") -> Campaign:
    """Check and type the TOML `text` of a campaign; raises CampaignError listing every problem found."""
    lines = _KeyLines(text)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"at line (\d+)", str(exc))
        line = int(match[1]) if match else None
        reason = f"TOML 语法错误：{exc}（日期写成 YYYY-MM-DD 不加引号，文字要加英文双引号）"
        raise CampaignError(
            [Problem(source, _dotted(lines.path_at(line)), line, reason)], file=source
        ) from None
    except RecursionError:  # tomllib recurses once per nesting level
        reason = "TOML nested too deeply: a campaign file needs only a few levels of tables and arrays"
        raise CampaignError([Problem(source, "", None, reason)], file=source) from None
    reader = _Reader(source, lines)
    campaign = reader.campaign(data, text)
    if reader.problems:
        raise CampaignError(reader.problems, file=source)
    return campaign


# --- checking the shape -------------------------------------------------------------------------------


def _text(value):
    return None if isinstance(value, str) and value.strip() else "应为非空文字，写在英文双引号中"


def _int(value):
    return None if isinstance(value, int) and not isinstance(value, bool) else "应为整数（不加引号），例如 5"


def _bool(value):
    return None if isinstance(value, bool) else "应为 true 或 false（不加引号）"


def _date(value):
    if isinstance(value, datetime):
        return "应为整天日期 YYYY-MM-DD，不写时刻（截止日当天 24:00 关闭）"
    if isinstance(value, date):
        return None
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
        return "应为日期：去掉引号，写成 YYYY-MM-DD"
    return "应为日期，写成 YYYY-MM-DD（不加引号）"


def _tables(value):
    ok = isinstance(value, list) and all(isinstance(v, dict) for v in value)
    return None if ok else "应为若干 [[...]] 小节"


def _day_offsets(value):
    ok = isinstance(value, list) and all(
        isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in value
    )
    return None if ok else "must be a list of whole numbers >= 1, e.g. [3, 1]"


def _table(value):
    return None if isinstance(value, dict) else "应为一个 [...] 小节"


REQ, OPT = True, False
_SPEC = {
    (): {
        "campaign": (_table, REQ),
        "series": (_tables, REQ),
        "stages": (_table, REQ),
        "public_notice": (_table, REQ),
        "resubmission": (_table, REQ),
        "fee": (_table, REQ),
        "print": (_table, REQ),
        "onsite": (_table, REQ),
        "contacts": (_tables, OPT),
        "reminders": (_table, OPT),
    },
    ("campaign",): {
        "id": (_text, REQ),
        "year": (_int, REQ),
        "process_id": (_text, REQ),
        "timezone": (_text, REQ),
        "notice_number": (_text, REQ),
        "title": (_text, REQ),
        "issuer": (_text, REQ),
        "forwarding": (_tables, OPT),
    },
    ("forwarding",): {
        "number": (_text, REQ),
        "issuer": (_text, REQ),
        "date": (_date, REQ),
        "title": (_text, REQ),
        "phone": (_text, OPT),
    },
    ("series",): {"code": (_text, REQ), "name": (_text, REQ), "level": (_text, REQ)},
    ("stage",): {"label": (_text, OPT), "opens": (_date, REQ), "closes": (_date, REQ)},
    ("public_notice",): {"working_days": (_int, REQ), "repeat_after_return": (_bool, REQ)},
    ("resubmission",): {"committee_resubmit_by": (_date, REQ), "committee_recheck_by": (_date, REQ)},
    ("fee",): {"amount_cny": (_int, REQ), "note": (_text, OPT)},
    ("print",): {"review_form_copies": (_int, REQ), "notice_form_copies": (_int, REQ)},
    ("onsite",): {"address": (_text, REQ), "stage": (_text, OPT)},
    ("reminders",): {"working_days_before": (_day_offsets, REQ), "window_opens": (_bool, OPT)},
    ("contacts",): {"role": (_text, REQ), "name": (_text, OPT), "phone": (_text, OPT), "email": (_text, OPT)},
}


def _has_required(fields: dict, spec_name: tuple) -> bool:
    """Every required key arrived well typed (the missing or mistyped ones are already reported)."""
    return all(key in fields for key, (_check, required) in _SPEC[spec_name].items() if required)


class _Reader:
    """Walks the parsed TOML, collecting every problem instead of stopping at the first."""

    def __init__(self, source: str, lines: _KeyLines):
        self.source, self.lines, self.problems = source, lines, []

    def problem(self, path: tuple, reason: str) -> None:
        self.problems.append(Problem(self.source, _dotted(path), self.lines.find(path), reason))

    def fields(self, data, path: tuple, spec_name: tuple) -> dict:
        """The keys of `data` that are known and well typed; reports unknown, missing and mistyped keys."""
        spec = _SPEC[spec_name]
        if not isinstance(data, dict):
            self.problem(path, "应为一个 [...] 小节")
            return {}
        for key in data:
            if key not in spec:
                close = difflib.get_close_matches(key, list(spec), n=1)
                hint = f"是不是 {close[0]!r}？" if close else ""
                self.problem(path + (key,), f"未知的键；{hint}这里可用的键：{'、'.join(spec)}")
        out = {}
        for key, (check, required) in spec.items():
            if key not in data:
                if required:
                    self.problem(path + (key,), "缺少此项（必填）")
                continue
            reason = check(data[key])
            if reason:
                self.problem(path + (key,), reason)
            else:
                out[key] = data[key]
        return out

    def campaign(self, data: dict, text: str) -> Campaign | None:
        top = self.fields(data, (), ())
        head = self.fields(top.get("campaign", {}), ("campaign",), ("campaign",))
        tz = head.get("timezone")
        if tz is not None:
            try:
                ZoneInfo(tz)
            except (ZoneInfoNotFoundError, ValueError):
                self.problem(("campaign", "timezone"), f'未知的时区 {tz!r}（应写 "Asia/Shanghai"）')
        forwarding = tuple(
            Notice(**f)
            for i, item in enumerate(head.get("forwarding", []))
            if _has_required(
                f := self.fields(item, ("campaign", "forwarding", i), ("forwarding",)), ("forwarding",)
            )
        )
        series = self.series(top.get("series", []))
        stages = self.stages(top.get("stages", {}))
        notice = self.fields(top.get("public_notice", {}), ("public_notice",), ("public_notice",))
        resub = self.fields(top.get("resubmission", {}), ("resubmission",), ("resubmission",))
        fee = self.fields(top.get("fee", {}), ("fee",), ("fee",))
        prints = self.fields(top.get("print", {}), ("print",), ("print",))
        onsite = self.fields(top.get("onsite", {}), ("onsite",), ("onsite",))
        if onsite.get("stage") and stages and onsite["stage"] not in stages:
            self.problem(
                ("onsite", "stage"), f"unknown stage {onsite['stage']!r}; stages are: {', '.join(stages)}"
            )
        reminders = (
            self.fields(top["reminders"], ("reminders",), ("reminders",)) if "reminders" in top else {}
        )
        contacts = []
        for i, item in enumerate(top.get("contacts", [])):
            c = self.fields(item, ("contacts", i), ("contacts",))
            if "role" in item and not (item.get("phone") or item.get("email")):
                self.problem(("contacts", i), "联系方式至少要有 phone 或 email 之一")
            if "role" in c:
                contacts.append(Contact(**c))
        if self.problems:
            return None
        return Campaign(
            id=head["id"],
            year=head["year"],
            process_id=head["process_id"],
            timezone=tz,
            notice_number=head["notice_number"],
            title=head["title"],
            issuer=head["issuer"],
            forwarding=forwarding,
            series=series,
            stages=stages,
            notice_working_days=notice["working_days"],
            repeat_notice_after_return=notice["repeat_after_return"],
            committee_resubmit_by=resub["committee_resubmit_by"],
            committee_recheck_by=resub["committee_recheck_by"],
            fee_cny=fee["amount_cny"],
            fee_note=fee.get("note", ""),
            review_form_copies=prints["review_form_copies"],
            notice_form_copies=prints["notice_form_copies"],
            onsite_address=onsite["address"],
            contacts=tuple(contacts),
            source_path=self.source,
            source_text=text,
            reminder_days=tuple(sorted(set(reminders.get("working_days_before", [])), reverse=True)),
            remind_on_open=reminders.get("window_opens", False),
            onsite_stage=onsite.get("stage"),
        )

    def series(self, items: list) -> tuple[Series, ...]:
        if not items:
            self.problem(("series",), "至少需要一个 [[series]] 小节（本批次受理的职称系列）")
        out, seen = [], set()
        for i, item in enumerate(items):
            s = self.fields(item, ("series", i), ("series",))
            if "level" in s and s["level"] not in SERIES_LEVELS:
                self.problem(("series", i, "level"), f"应为 {'、'.join(SERIES_LEVELS)} 之一")
            elif "code" in s and s["code"] in seen:
                self.problem(("series", i, "code"), f"系列编号 {s['code']!r} 重复：每个系列的 code 不同")
            elif len(s) == 3:
                seen.add(s["code"])
                out.append(Series(**s))
        return tuple(out)

    def stages(self, table: dict) -> dict[str, Window]:
        """Each window's shape; which windows there must be is checked against the BPMN (check_windows)."""
        out = {}
        for stage_id, item in table.items():
            w = self.fields(item, ("stages", stage_id), ("stage",))
            if "opens" in w and "closes" in w:
                out[stage_id] = Window(stage=stage_id, **w)
        if REGISTRATION not in table:
            self.problem(
                ("stages", REGISTRATION),
                f"缺少用户注册窗口：添加 [stages.{REGISTRATION}] 一节，写明 opens 和 closes",
            )
        return out


def check_windows(campaign: Campaign, model) -> list[Problem]:
    """Windows against the BPMN's stages, both ways: one for every stage, none without a stage.

    `model` is the deployment's `engine.stages.ProcessModel`. Correction stages have no window (their
    deadline follows the return); `registration` is the one window that is not a stage.
    """
    lines, out = _KeyLines(campaign.source_text), []
    where = campaign.source_path

    def problem(path, reason):
        out.append(Problem(where, _dotted(path), lines.find(path), reason))

    expected = [s for s in model.order]
    for stage_id in campaign.stages:
        if stage_id == REGISTRATION or stage_id in expected:
            continue
        if stage_id in model.corrections:
            problem(
                ("stages", stage_id),
                f"「{model.label(stage_id)}」是退回补正环节，期限随退回环节而定，不设时间窗口：删除这一节",
            )
            continue
        close = difflib.get_close_matches(stage_id, expected, n=1)
        hint = f"是不是 {close[0]!r}？" if close else ""
        problem(
            ("stages", stage_id),
            f"BPMN 中没有 id 为 {stage_id!r} 的用户任务；{hint}删除这一节，或改为 BPMN 中的任务 id"
            f"（{'、'.join(expected)}）",
        )
    if campaign.onsite_stage and campaign.onsite_stage not in model.stages:
        problem(
            ("onsite", "stage"),
            f"BPMN 中没有 id 为 {campaign.onsite_stage!r} 的用户任务：改为现场确认环节的任务 id"
            f"（{'、'.join(model.stages)}），或删除这一项",
        )
    for stage_id in expected:
        if stage_id not in campaign.stages:
            problem(
                ("stages", stage_id),
                f"缺少「{model.label(stage_id)}」的时间窗口：添加 [stages.{stage_id}] 一节，写明 opens 和 closes",
            )
    return out


# --- finding lines ------------------------------------------------------------------------------------

_PART = r"(?:[A-Za-z0-9_-]+|\"[^\"]*\"|'[^']*')"
_HEADER = re.compile(rf"^\s*(\[\[?)\s*({_PART}(?:\s*\.\s*{_PART})*)\s*\]\]?\s*(?:#.*)?$")
_KEY = re.compile(rf"^\s*({_PART}(?:\s*\.\s*{_PART})*)\s*=")


def _split(key: str) -> tuple[str, ...]:
    return tuple(p.strip("\"'") for p in re.findall(r"\"[^\"]*\"|'[^']*'|[^.\s]+", key))


def _dotted(path: tuple) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


class _KeyLines:
    """Maps dotted key paths to the line that defines them, by scanning the text (works on broken TOML too)."""

    def __init__(self, text: str):
        self.first: dict[tuple, int] = {}
        self.at: dict[int, tuple] = {}
        counts: dict[tuple, int] = {}
        current: tuple = ()
        for number, line in enumerate(text.splitlines(), 1):
            if match := _HEADER.match(line):
                parts = _split(match[2])
                if match[1] == "[[":
                    counts[parts] = counts.get(parts, -1) + 1
                    current = parts + (counts[parts],)
                else:
                    current = parts
                path = current
            elif match := _KEY.match(line):
                path = current + _split(match[1])
            else:
                path = current
            self.first.setdefault(path, number)
            self.at[number] = path

    def find(self, path: tuple) -> int | None:
        """The line defining `path`, else that of its nearest defined parent."""
        while path:
            if path in self.first:
                return self.first[path]
            path = path[:-1]
        return None

    def path_at(self, line: int | None) -> tuple:
        return self.at.get(line, ()) if line else ()
