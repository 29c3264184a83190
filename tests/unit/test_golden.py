"""Frozen 2020 histories replay identically with today's engine (tests/data/golden, made before issue 10).

A failure here means a change altered how an application that already exists is interpreted: fix the
change (or make the deployment's pinned engine version keep the old meaning), never the golden file.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest

from engine.audit.replay import compare_state, replay
from engine.clock import SimulatedClock
from engine.deployment import build_deployment, content_hash
from engine.events import RecordedEvent
from engine.runtime import Application

GOLDEN = Path(__file__).resolve().parents[1] / "data" / "golden"
FILES = sorted(GOLDEN.glob("*.json"))
_deployments: dict = {}


def _deployment(dep_id: str):
    if dep_id not in _deployments:
        doc = json.loads((GOLDEN / "deployments" / f"{dep_id[:16]}.json").read_text(encoding="utf-8"))
        assert content_hash(doc["sources"]) == dep_id, "golden sources were edited"
        _deployments[dep_id] = build_deployment(doc["sources"])
    return _deployments[dep_id]


def _instant(value):
    return value.isoformat() if value is not None else None


def test_there_are_golden_histories_of_every_outcome():
    assert len(FILES) >= 16
    outcomes = {json.loads(p.read_text(encoding="utf-8"))["status"]["status"] for p in FILES}
    assert {"confirmed", "expired", "not_recommended"} <= outcomes


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_golden_history_replays_identically(path):
    doc = json.loads(path.read_text(encoding="utf-8"))
    deployment = _deployment(doc["deployment"])
    events = [
        RecordedEvent(
            e["seq"],
            datetime.fromisoformat(e["at"]),
            e["actor_id"],
            e["org_id"],
            e["event_type"],
            e["stage"],
            e["data"],
        )
        for e in doc["events"]
    ]
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
