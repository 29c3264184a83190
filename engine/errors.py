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
    """A person asked for something the rules do not allow now (window, role, org, state)."""


class OutsideWindow(ActionRefused):
    """The action's stage window is not open."""


class NotPermitted(ActionRefused):
    """The actor's role or org may not act on this."""


class AlreadyHandled(ActionRefused):
    """Someone else acted first (optimistic lock, double submit)."""


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
