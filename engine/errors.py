"""Typed domain errors. Each carries a Chinese message for people and context for code."""

from __future__ import annotations


class ZhichengError(Exception):
    """Base of every error the engine raises on purpose."""

    def __init__(self, message: str, **context):
        super().__init__(message)
        self.message = message
        self.context = context

    def __str__(self) -> str:
        return self.message


class ConfigError(ZhichengError):
    """A data file (campaign, calendar overrides, BPMN, form, scenario) is malformed. Carries file/key/line."""

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        key: str | None = None,
        line: int | None = None,
        **context,
    ):
        where = ":".join(str(p) for p in (file, line) if p is not None)
        prefix = f"{where}: " if where else ""
        keypart = f"[{key}] " if key else ""
        super().__init__(f"{prefix}{keypart}{message}", file=file, key=key, line=line, **context)
        self.reason = message


class ActionRefused(ZhichengError):
    """A person asked for something the rules do not allow now (window, role, org, state).

    `title` is the short reason a page shows above the message (which carries the dates).
    """

    title = "不能办理"


class OutsideWindow(ActionRefused):
    """The action's stage window is not open."""


class NotPermitted(ActionRefused):
    """The actor's role or org may not act on this."""


class OwnApplication(NotPermitted):
    """Segregation of duties: nobody reviews, reports or confirms their own application, whatever roles they hold."""


class AlreadyHandled(ActionRefused):
    """Someone else acted first (optimistic lock, double submit)."""

    title = "已被处理"


class HandledByOther(AlreadyHandled):
    """The task was completed already; `by`, `at` and `outcome` say by whom, when and how."""

    def __init__(self, label: str, by: str, at, outcome: str, **context):
        from engine import timefmt

        who = f"由 {by} " if by else ""
        super().__init__(
            f"「{label}」已{who}于 {timefmt.instant(at)} 办理（{outcome}），本次提交未生效",
            by=by,
            at=at,
            outcome=outcome,
            **context,
        )
        self.by = by
        self.at = at


class NotYetOpen(OutsideWindow):
    """The task is ready but its window opens later; `opens` is when."""

    def __init__(self, label: str, opens, **context):
        from engine import timefmt

        super().__init__(
            f"「{label}」{timefmt.opens_cn(opens)}起可办理（{timefmt.opens(opens)} 开放），目前尚未开放",
            opens=opens,
            **context,
        )
        self.title = "尚未开放"
        self.opens = opens


class WindowClosed(OutsideWindow):
    """The task's deadline has passed (the lapse timer may not have fired yet); `deadline` is when."""

    def __init__(self, label: str, deadline, **context):
        from engine import timefmt

        super().__init__(
            f"「{label}」已于 {timefmt.deadline_cn(deadline)}截止（{timefmt.deadline(deadline)}），"
            "系统已关闭该环节",
            deadline=deadline,
            **context,
        )
        self.title = "已截止"
        self.deadline = deadline


class NoticeRunning(ActionRefused):
    """The application is in its public notice: nothing may be reported until it has run; `until` is its end."""

    def __init__(self, until, **context):
        from engine import timefmt

        super().__init__(
            f"公示期未满：公示期至 {timefmt.deadline_cn(until)}，{timefmt.opens_cn(until)}起可上报",
            until=until,
            **context,
        )
        self.title = "公示期未满"
        self.until = until


class Lapsed(ActionRefused):
    """The application lapsed (逾期失效) at a stage; `deadline` is when, `stage_label` where."""

    def __init__(self, stage_label: str, deadline, **context):
        from engine import timefmt

        when = f"已于 {timefmt.deadline_cn(deadline)}截止，" if deadline else ""
        super().__init__(
            f"该申请书已逾期失效：「{stage_label}」{when}不能再办理", deadline=deadline, **context
        )
        self.title = "已逾期失效"
        self.deadline = deadline


class ClaimedByColleague(ActionRefused):
    """A colleague of the same org has claimed the task; `by` is their name, `since` when they claimed it."""

    def __init__(self, by: str, since, **context):
        from engine import timefmt

        super().__init__(
            f"该事项已由同事 {by} 于 {timefmt.instant(since)} 认领办理；如需接手，请其释放或联系本单位管理员",
            by=by,
            since=since,
            **context,
        )
        self.title = "已被同事认领"
        self.by = by
        self.since = since


class FormInvalid(ActionRefused):
    """Submitted form data failed validation; `errors` maps field path to a Chinese message."""

    def __init__(self, errors: dict[str, str], message: str = "表单填写有误，请按提示修改"):
        super().__init__(message, errors=errors)
        self.errors = errors


class NotFound(ZhichengError):
    """The thing asked for does not exist, or is outside what the actor may see."""


class CampaignError(ConfigError):
    """A campaign file has problems; `problems` lists every one (each with file, key, line, reason)."""

    def __init__(self, problems, *, file: str | None = None):
        self.problems = list(problems)
        super().__init__(f"活动文件有 {len(self.problems)} 处问题", file=file, problems=self.problems)

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.problems)
