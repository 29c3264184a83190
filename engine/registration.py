"""The registration window (系统用户注册): when people may register personal accounts and orgs.

Each campaign file has one (`[stages.registration]`). With several campaigns current, registration is open
while any of their windows is: the union, and the page lists each campaign's own dates. The home page, the
register pages and the refusal all read this one answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from engine import timefmt
from engine.campaign import REGISTRATION, Campaign
from engine.errors import OutsideWindow


@dataclass(frozen=True)
class CampaignWindow:
    title: str  # the campaign's short name, e.g. 2020年 渝职改办〔2020〕200号
    opens: date
    closes: date  # last day: closes at 24:00
    opens_at: datetime
    closes_at: datetime

    @property
    def text(self) -> str:
        """2020年10月20日至11月16日."""
        end = (
            timefmt.deadline_cn(self.closes)
            if self.closes.year == self.opens.year
            else timefmt.day_cn(self.closes)
        )
        return f"{timefmt.day_cn(self.opens)}至{end}"


@dataclass(frozen=True)
class RegistrationState:
    is_open: bool
    known: bool  # False when no campaign says when registration is (nothing refused then)
    message: str  # one sentence, the same on every page
    windows: tuple[CampaignWindow, ...] = ()


def _windows(campaigns: Sequence[Campaign]) -> list[CampaignWindow]:
    out = []
    for c in campaigns:
        w = c.stages.get(REGISTRATION)
        if w is not None:
            out.append(
                CampaignWindow(
                    f"{c.year}年 {c.notice_number}",
                    w.opens,
                    w.closes,
                    c.opens_at(REGISTRATION),
                    c.deadline(REGISTRATION),
                )
            )
    return sorted(out, key=lambda w: (w.opens, w.closes))


def state(campaigns: Sequence[Campaign], now: datetime) -> RegistrationState:
    """Whether registration is open at `now` over the current campaigns, and the sentence that says so."""
    windows = tuple(_windows(campaigns))
    if not windows:
        return RegistrationState(True, False, "")
    open_now = [w for w in windows if w.opens_at <= now < w.closes_at]
    if open_now:
        until = max(w.closes_at for w in open_now)
        return RegistrationState(True, True, f"用户注册开放中，{_last_day(until)}（24:00）截止", windows)
    upcoming = [w for w in windows if now < w.opens_at]
    if upcoming:
        first = min(w.opens_at for w in upcoming)
        return RegistrationState(False, True, f"用户注册尚未开始，{timefmt.day_cn(first)}起可以注册", windows)
    last = max(w.closes_at for w in windows)
    return RegistrationState(
        False,
        True,
        f"用户注册已于{_last_day(last)}（24:00）截止；已注册的用户请直接登录",
        windows,
    )


def _last_day(deadline: datetime) -> str:
    return timefmt.day_cn(timefmt.last_day(deadline))


def require_open(campaigns: Sequence[Campaign], now: datetime) -> None:
    """Refuse registration outside every current campaign's window. Raises OutsideWindow saying when."""
    current = state(campaigns, now)
    if not current.is_open:
        raise OutsideWindow(f"现在不能注册：{current.message}", stage=REGISTRATION)
