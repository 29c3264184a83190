"""The hash-chained history verifies, and detects an edited, deleted or re-hashed event."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import yaml
from sqlalchemy import delete, update

from calendars import TZ
from engine.store import history, queries, services
from engine.store.tables import HistoryEvent

DECLARATION = yaml.safe_load(
    (Path(__file__).resolve().parents[2] / "bpmn/scenarios/data/declaration.yaml").read_text(encoding="utf-8")
)


def _app_with_history(session_factory, clock, world) -> int:
    with session_factory() as session:
        app_id = services.start_application(session, clock, world.users["alice"], world.orgs["unit_a"])
        clock.set(datetime(2020, 11, 20, 10, tzinfo=TZ))
        services.complete_task(
            session,
            clock,
            app_id,
            "applicant_submit",
            queries.actor_for(session, world.users["alice"]),
            DECLARATION,
        )
        services.complete_task(
            session,
            clock,
            app_id,
            "unit_review",
            queries.actor_for(session, world.users["unit_a_admin"]),
            {
                "decision": "return",
                "opinion": "材料不完整，请补正。",
                "reason": "业绩证明材料缺少盖章页，请补正后重新提交。",
            },
        )
    return app_id


def test_untouched_chain_verifies(session_factory, clock, world):
    app_id = _app_with_history(session_factory, clock, world)
    with session_factory() as session:
        check = history.verify_chain(session, app_id)
        assert check.ok and check.events == 3
        events = history.events(session, app_id)
        assert events[0].hash == history.event_hash(
            application_id=app_id,
            seq=1,
            at=events[0].at,
            actor_id=events[0].actor_id,
            org_id=events[0].org_id,
            event_type="started",
            stage=events[0].stage,
            data_json=history.canonical_json(events[0].data),
            prev_hash=history.GENESIS,
        )


def test_edited_event_is_detected(session_factory, clock, world):
    app_id = _app_with_history(session_factory, clock, world)
    with session_factory() as session:
        session.execute(
            update(HistoryEvent)
            .where(HistoryEvent.application_id == app_id, HistoryEvent.seq == 3)
            .values(data_json=history.canonical_json({"form": {"decision": "approve"}}))
        )
        session.commit()
        check = history.verify_chain(session, app_id)
    assert not check.ok and check.broken_seq == 3 and "修改" in check.reason


def test_rehashed_edit_breaks_the_next_link(session_factory, clock, world):
    app_id = _app_with_history(session_factory, clock, world)
    with session_factory() as session:
        row = session.query(HistoryEvent).filter_by(application_id=app_id, seq=2).one()
        row.actor_id = world.users["bob"]
        row.hash = history.event_hash(
            application_id=app_id,
            seq=2,
            at=row.at,
            actor_id=row.actor_id,
            org_id=row.org_id,
            event_type=row.event_type,
            stage=row.stage,
            data_json=row.data_json,
            prev_hash=row.prev_hash,
        )
        session.commit()
        check = history.verify_chain(session, app_id)
    assert not check.ok and check.broken_seq == 3


def test_deleted_event_is_detected(session_factory, clock, world):
    app_id = _app_with_history(session_factory, clock, world)
    with session_factory() as session:
        session.execute(
            delete(HistoryEvent).where(HistoryEvent.application_id == app_id, HistoryEvent.seq == 2)
        )
        session.commit()
        check = history.verify_chain(session, app_id)
    assert not check.ok and check.broken_seq == 3
