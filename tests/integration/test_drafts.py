"""Drafts in the store: the applicant's own, on the engine clock, refused once submitted, dropped on submission."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, select

from calendars import TZ
from engine.errors import ActionRefused, FormInvalid, NotFound
from engine.store import queries, services
from engine.store.tables import Draft

DECLARATION = yaml.safe_load(
    (Path(__file__).resolve().parents[2] / "bpmn/scenarios/data/declaration.yaml").read_text(encoding="utf-8")
)
APPROVE = {"decision": "approve", "opinion": "经审核符合申报条件，同意推荐。"}


def at(month: int, day: int, hour: int = 10) -> datetime:
    return datetime(2020, month, day, hour, tzinfo=TZ)


def _start(session, clock, world) -> int:
    return services.start_application(session, clock, world.users["alice"], world.orgs["unit_a"])


def test_draft_round_trip_on_the_engine_clock_and_replaced(session_factory, clock, world):
    alice = world.users["alice"]
    with session_factory() as session:
        app_id = _start(session, clock, world)
        assert services.load_draft(session, app_id, alice) is None
        clock.set(at(11, 18, 9))
        saved = services.save_draft(session, clock, app_id, alice, {"title_sought": "正高级工程师"})
        assert (saved.saved_at, saved.saved_by_id) == (at(11, 18, 9), alice)
        clock.set(at(11, 19, 15))
        services.save_draft(
            session, clock, app_id, alice, {"title_sought": "正高级工程师（水利）", "years_in_field": 20}
        )
    with session_factory() as session:
        draft = services.load_draft(session, app_id, alice)
        assert draft.data == {"title_sought": "正高级工程师（水利）", "years_in_field": 20}
        assert draft.saved_at == at(11, 19, 15)
        assert session.scalar(select(func.count()).select_from(Draft)) == 1


@pytest.mark.parametrize("who", ["bob", "unit_a_admin", "operator"])
def test_only_the_applicant_sees_or_saves_a_draft(session_factory, clock, world, who):
    with session_factory() as session:
        app_id = _start(session, clock, world)
        services.save_draft(session, clock, app_id, world.users["alice"], {"specialty": "土木工程"})
        with pytest.raises(NotFound, match=f"编号 {app_id}"):
            services.load_draft(session, app_id, world.users[who])
        with pytest.raises(NotFound):
            services.save_draft(session, clock, app_id, world.users[who], {"specialty": "篡改"})
        with pytest.raises(NotFound):
            services.load_draft(session, 424242, world.users["alice"])
        assert services.load_draft(session, app_id, world.users["alice"]).data == {"specialty": "土木工程"}


def test_submission_drops_the_draft_and_later_saves_are_refused(session_factory, clock, world):
    alice = world.users["alice"]
    with session_factory() as session:
        app_id = _start(session, clock, world)
        services.save_draft(session, clock, app_id, alice, {"specialty": "土木工程"})
        clock.set(at(11, 20))
        services.complete_task(
            session, clock, app_id, "applicant_submit", queries.actor_for(session, alice), DECLARATION
        )
        assert services.load_draft(session, app_id, alice) is None
        with pytest.raises(ActionRefused, match="已提交"):
            services.save_draft(session, clock, app_id, alice, {"specialty": "改"})
        assert session.scalar(select(func.count()).select_from(Draft)) == 0


def test_returned_application_takes_drafts_again(session_factory, clock, world):
    alice = world.users["alice"]
    with session_factory() as session:
        app_id = _start(session, clock, world)
        clock.set(at(11, 20))
        services.complete_task(
            session, clock, app_id, "applicant_submit", queries.actor_for(session, alice), DECLARATION
        )
        services.complete_task(
            session,
            clock,
            app_id,
            "unit_review",
            queries.actor_for(session, world.users["unit_a_admin"]),
            {**APPROVE, "decision": "return", "reason": "缺学位证书"},
        )
        saved = services.save_draft(session, clock, app_id, alice, {"specialty": "补正中"})
        assert services.load_draft(session, app_id, alice) == saved


def test_oversized_draft_is_refused(session_factory, clock, world):
    with session_factory() as session:
        app_id = _start(session, clock, world)
        with pytest.raises(FormInvalid, match="草稿过大"):
            services.save_draft(
                session, clock, app_id, world.users["alice"], {"achievements": "长" * 100_000}
            )
        assert services.load_draft(session, app_id, world.users["alice"]) is None
