"""The registration window (系统用户注册) over the current campaigns: open, not yet, closed, and the union."""

from __future__ import annotations

from datetime import datetime

import pytest

from calendars import TZ
from engine import registration
from engine.campaign import parse_campaign
from engine.errors import OutsideWindow
from engine.paths import bpmn_dir

TEXT = (bpmn_dir() / "campaigns" / "cq-2020-senior.toml").read_text(encoding="utf-8")


def campaign(opens="2020-10-20", closes="2020-11-16", cid="cq-2020-senior", number=None):
    text = TEXT.replace("opens = 2020-10-20\ncloses = 2020-11-16", f"opens = {opens}\ncloses = {closes}", 1)
    assert f"closes = {closes}" in text
    text = text.replace('id = "cq-2020-senior"', f'id = "{cid}"', 1)
    if number:
        text = text.replace('notice_number = "', f'notice_number = "{number}', 1)
    return parse_campaign(text)


def at(month, day, hour=10, minute=0):
    return datetime(2020, month, day, hour, minute, tzinfo=TZ)


@pytest.mark.parametrize(
    ("now", "is_open", "words"),
    [
        (at(10, 19, 23, 59), False, "用户注册尚未开始，2020年10月20日起可以注册"),
        (at(10, 20, 0, 0), True, "用户注册开放中，2020年11月16日（24:00）截止"),
        (at(11, 16, 23, 59), True, "2020年11月16日（24:00）截止"),
        (at(11, 17, 0, 0), False, "用户注册已于2020年11月16日（24:00）截止"),
    ],
)
def test_one_campaign_window_is_its_last_day_at_24_00(now, is_open, words):
    state = registration.state([campaign()], now)
    assert state.is_open is is_open and state.known
    assert words in state.message
    assert state.windows[0].text == "2020年10月20日至11月16日"


def test_several_campaigns_open_registration_while_any_window_is_open():
    early, late = campaign(), campaign("2020-11-01", "2020-11-30", "late", number="补充")
    state = registration.state([early, late], at(11, 20))
    assert state.is_open and "2020年11月30日（24:00）截止" in state.message
    assert [w.text for w in state.windows] == ["2020年10月20日至11月16日", "2020年11月1日至11月30日"]
    closed = registration.state([early, late], at(12, 1))
    assert not closed.is_open and "2020年11月30日" in closed.message
    between = registration.state([campaign("2020-12-10", "2020-12-20", "next")], at(12, 1))
    assert "2020年12月10日起" in between.message


def test_refusal_names_the_day_and_no_campaign_refuses_nothing():
    with pytest.raises(OutsideWindow, match="用户注册已于2020年11月16日"):
        registration.require_open([campaign()], at(11, 18))
    registration.require_open([campaign()], at(11, 1))
    assert registration.state([], at(11, 18)).is_open
    registration.require_open([], at(11, 18))
