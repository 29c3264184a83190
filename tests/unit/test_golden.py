"""Frozen 2020 histories replay identically with today's engine (tests/data/golden, made before issue 10).

A failure here means a change altered how an application that already exists is interpreted: fix the
change (or make the deployment's pinned engine version keep the old meaning), never the golden file.
"""

from __future__ import annotations

import json

import golden_files
import pytest
from golden_files import FILES

from engine.audit.replay import compare_state, replay
from engine.clock import SimulatedClock
from engine.runtime import Application


def _instant(value):
    return value.isoformat() if value is not None else None


def test_there_are_golden_histories_of_every_outcome():
    assert len(FILES) >= 16
    outcomes = {json.loads(p.read_text(encoding="utf-8"))["status"]["status"] for p in FILES}
    assert {"confirmed", "expired", "not_recommended"} <= outcomes


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_golden_history_replays_identically(path):
    doc = json.loads(path.read_text(encoding="utf-8"))
    deployment = golden_files.deployment(doc["deployment"])
    events = golden_files.events(doc)
    replayed, divergence = replay(deployment, events)
    assert divergence is None, str(divergence)
    stored = Application.restore(deployment, doc["state"], SimulatedClock(replayed.clock.now()))
    assert compare_state(replayed, stored) is None
    for app in (replayed, stored):
        status = app.status()
        assert {
            "status": status.status,
            "stage": status.stage,
            "waiting_org": status.waiting_org,
            "deadline": _instant(status.deadline),
            "actionable_from": _instant(status.actionable_from),
            "responsible_org": status.responsible_org,
        } == doc["status"]
        ready = sorted(
            [t.stage, t.org_id, _instant(t.deadline), _instant(t.actionable_from)] for t in app.ready_tasks()
        )
        assert ready == doc["ready"]
