"""Which reminder a ready task is due, on the working-day calendar (2020: 11-23 Mon, 11-26 Thu)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from calendars import TZ, default_calendar
from engine.paths import bpmn_dir
from engine.reminders.policy import Policy, due_keys
from engine.scenario import run_scenario

POLICY = Policy((3, 1), True)


def at(month, day, hour=9):
    return datetime(2020, month, day, hour, tzinfo=TZ)


def end_of(month, day):
    return default_calendar().end_of_day(datetime(2020, month, day).date())


@pytest.mark.parametrize(
    ("now", "opens", "closes", "want"),
    [
        (at(11, 17), at(11, 17, 0), end_of(11, 23), ["opens"]),  # the window opens today
        (at(11, 18), at(11, 17, 0), end_of(11, 23), ["before:3"]),  # Wed -> Thu, Fri, Mon
        (at(11, 19), at(11, 17, 0), end_of(11, 23), ["before:3"]),  # still the 3-day band (sent once)
        (at(11, 20), at(11, 17, 0), end_of(11, 23), ["before:1"]),
        (at(11, 22), at(11, 17, 0), end_of(11, 23), ["before:1"]),  # Sunday counts from Friday
        (at(11, 23, 23), at(11, 17, 0), end_of(11, 23), ["before:1"]),  # the last day itself
        (at(11, 24, 0), at(11, 17, 0), end_of(11, 23), []),  # closed
        (at(11, 17), at(11, 17, 0), end_of(11, 26), ["opens"]),
        (at(11, 18), None, end_of(11, 26), []),  # a return cycle (no opening), 6 working days left
        (at(12, 22), at(12, 23, 0), end_of(12, 25), []),  # not open yet: nothing to act on
        (at(12, 24), at(12, 23, 0), end_of(12, 25), ["before:1"]),
    ],
)
def test_due_keys(now, opens, closes, want):
    assert due_keys(POLICY, default_calendar(), now, opens, closes) == want


def test_without_opening_reminders_the_opening_day_falls_in_a_band():
    policy = Policy((3, 1), False)
    assert due_keys(policy, default_calendar(), at(12, 23), at(12, 23, 0), end_of(12, 25)) == ["before:3"]


def test_wrong_reminder_expectation_fails_the_scenario(tmp_path: Path):
    src = bpmn_dir() / "scenarios" / "reminders.yaml"
    text = src.read_text(encoding="utf-8").replace(
        "reminders: [{to: alice, task: applicant_submit, offset: 3}]",
        "reminders: [{to: alice, task: applicant_submit, offset: 1}]",
        1,
    )
    target = tmp_path / "scenarios" / "broken.yaml"
    target.parent.mkdir()
    (target.parent / "data").symlink_to(src.parent / "data")
    target.write_text(text, encoding="utf-8")
    failed = [s for s in run_scenario(target).steps if s.failures]
    assert [s.index for s in failed] == [2]
    assert "提醒" in failed[0].failures[0] and "alice applicant_submit 3" in failed[0].failures[0]
