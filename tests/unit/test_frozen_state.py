"""A workflow state serialized by an earlier SpiffWorkflow must still restore and run on (upgrade guard).

tests/data/spiff_states/public_notice_2020 was written once (see its README) and is never regenerated. Its
deployment is the golden one of tests/data/golden (test_golden.py replays those histories; this state is
caught waiting on a timer, which must still fire after a restore and let the process go on).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from calendars import TZ
from engine.clock import SimulatedClock
from engine.deployment import build_deployment
from engine.runtime import Actor, Application

DATA = Path(__file__).resolve().parents[1] / "data"
FROZEN = DATA / "spiff_states" / "public_notice_2020"
FROZEN_ID = "70b61abbd13bf50c8ddc555817a3818816b72e75e77dc26c748e0391c6447299"
SOURCES = DATA / "golden" / "deployments" / f"{FROZEN_ID[:16]}.json"
UNIT = Actor(2, frozenset({(10, "admin")}), "单位管理员")


def _restore(clock) -> Application:
    sources = json.loads(SOURCES.read_text(encoding="utf-8"))["sources"]
    deployment = build_deployment(sources)
    assert deployment.id == FROZEN_ID  # the content hash of stored sources is stable too
    return Application.restore(deployment, (FROZEN / "state.json").read_text(encoding="utf-8"), clock)


def test_frozen_public_notice_state_restores_with_its_timer_and_data():
    app = _restore(SimulatedClock(datetime(2020, 12, 3, 23, 59, tzinfo=TZ)))
    status = app.status()
    assert (status.status, status.stage, status.waiting_org) == ("public_notice", "public_notice", 10)
    assert [(t.name, t.due_at) for t in app.due_timers()] == [
        ("public_notice", datetime(2020, 12, 3, 16, 0, tzinfo=UTC))  # 2020-12-03 24:00 Beijing
    ]
    assert app.applicant_id == 1 and app.chain["committee"] == 40
    assert app.advance() == []  # not yet due at 23:59


def test_frozen_state_runs_on_after_restore():
    clock = SimulatedClock(datetime(2020, 12, 4, 0, 0, tzinfo=TZ))
    app = _restore(clock)
    assert [t.name for t in app.advance()] == ["public_notice"]
    assert app.status().stage == "unit_report"
    clock.set(datetime(2020, 12, 4, 9, 0, tzinfo=TZ))
    app.complete("unit_report", UNIT, {"decision": "approve", "opinion": "公示无异议，同意上报。"})
    restored = Application.restore(app.deployment, app.to_json(), clock)
    assert restored.status().status == "in_review" and restored.status().stage == "tier2_review"
