"""Refusals explained before the click (engine.store.gate) and claims (engine.store.claims): typed, with dates."""

from __future__ import annotations

import pytest
from test_store import APPROVE, _actor, _submitted, at

from engine import timefmt
from engine.errors import (
    ActionRefused,
    ClaimedByColleague,
    HandledByOther,
    Lapsed,
    NoticeRunning,
    NotPermitted,
    NotYetOpen,
    WindowClosed,
)
from engine.store import claims, gate, services, worker


def _check(session, clock, world, app_id, stage, org="unit_a", user="unit_a_admin"):
    return gate.check(session, clock.now(), app_id, stage, {world.orgs[org]}, world.users[user])


def test_report_during_the_notice_says_until_when_and_from_when(session_factory, clock, world):
    with session_factory() as session:
        app_id = _submitted(session, clock, world)
        clock.set(at(11, 26, 16))
        services.complete_task(
            session, clock, app_id, "unit_review", _actor(session, world, "unit_a_admin"), APPROVE
        )
        with pytest.raises(NoticeRunning, match="公示期未满：公示期至 12月3日，12月4日起可上报") as exc:
            _check(session, clock, world, app_id, "unit_report")
        assert exc.value.title == "公示期未满"
        # and the action itself gets the same refusal, nothing written
        with pytest.raises(NoticeRunning):
            services.complete_task(
                session, clock, app_id, "unit_report", _actor(session, world, "unit_a_admin"), APPROVE
            )


def test_second_submission_of_a_done_task_names_who_when_and_how(session_factory, clock, world):
    with session_factory() as session:
        app_id = _submitted(session, clock, world)
        clock.set(at(11, 24))
        services.complete_task(
            session, clock, app_id, "unit_review", _actor(session, world, "unit_a_admin"), APPROVE
        )
        with pytest.raises(
            HandledByOther, match=r"已由 unit_a_admin 于 2020-11-24 10:00 办理（审核通过"
        ) as exc:
            _check(session, clock, world, app_id, "unit_review", user="unit_a_reviewer")
        assert exc.value.title == "已被处理"


def test_committee_task_before_its_window_says_from_when(session_factory, clock, world):
    with session_factory() as session:
        app_id = _submitted(session, clock, world, applicant="bob")
        clock.set(at(11, 24))
        admin = _actor(session, world, "unit_a_admin")
        services.complete_task(session, clock, app_id, "unit_review", admin, APPROVE)
        clock.set(at(12, 4))
        worker_report = worker.tick(session_factory, clock)
        assert worker_report.fired
    with session_factory() as session:
        services.complete_task(
            session, clock, app_id, "unit_report", _actor(session, world, "unit_a_admin"), APPROVE
        )
        services.complete_task(
            session, clock, app_id, "tier2_review", _actor(session, world, "dept_reviewer"), APPROVE
        )
        services.complete_task(
            session, clock, app_id, "tier3_review", _actor(session, world, "hr_reviewer"), APPROVE
        )
        clock.set(at(12, 18))  # after the committee window (11-30..12-17), before the lapse timer fired
        with pytest.raises(WindowClosed, match="已于 12月17日截止（2020-12-17（24:00 截止））"):
            gate.check(
                session,
                clock.now(),
                app_id,
                "committee_review",
                {world.orgs["committee"]},
                world.users["committee_staff"],
            )


def test_onsite_desk_before_12_23_is_told_the_opening_day(session_factory, clock, world):
    with session_factory() as session:
        app_id = _submitted(session, clock, world)
        clock.set(at(11, 24))
        services.complete_task(
            session, clock, app_id, "unit_review", _actor(session, world, "unit_a_admin"), APPROVE
        )
    clock.set(at(12, 4))
    worker.tick(session_factory, clock)
    with session_factory() as session:
        services.complete_task(
            session, clock, app_id, "unit_report", _actor(session, world, "unit_a_admin"), APPROVE
        )
        services.complete_task(
            session, clock, app_id, "tier2_review", _actor(session, world, "dept_reviewer"), APPROVE
        )
        services.complete_task(
            session, clock, app_id, "tier3_review", _actor(session, world, "hr_reviewer"), APPROVE
        )
        services.complete_task(
            session,
            clock,
            app_id,
            "committee_review",
            _actor(session, world, "committee_staff"),
            {"decision": "approve", "opinion": "材料齐全，同意受理。"},
        )
        with pytest.raises(NotYetOpen, match="12月23日起可办理") as exc:
            gate.check(
                session, clock.now(), app_id, "onsite_confirm", {world.orgs["committee"]}, world.users["desk"]
            )
        assert timefmt.day(exc.value.opens) == "2020-12-23"


def test_lapsed_application_says_so_with_its_deadline(session_factory, clock, world):
    with session_factory() as session:
        app_id = _submitted(session, clock, world)
    clock.set(at(11, 27, 9))  # unit_review closed at 24:00 on 11-26
    worker.tick(session_factory, clock)
    with session_factory() as session:
        with pytest.raises(Lapsed, match="已逾期失效：「单位审核」已于 11月26日截止"):
            _check(session, clock, world, app_id, "unit_review")


def test_a_task_of_another_org_is_refused_without_detail(session_factory, clock, world):
    with session_factory() as session:
        app_id = _submitted(session, clock, world)
        with pytest.raises(ActionRefused, match="当前不在本单位待办中"):
            _check(session, clock, world, app_id, "unit_review", org="unit_b", user="unit_b_admin")


def test_claim_is_shown_to_colleagues_and_binds_their_action(session_factory, clock, world):
    unit = world.orgs["unit_a"]
    with session_factory() as session:
        app_id = _submitted(session, clock, world)
        clock.set(at(11, 24))
        view = claims.claim(session, clock, unit, app_id, "unit_review", world.users["unit_a_reviewer"])
        assert view.user_name == "unit_a_reviewer"
        assert (
            claims.holders(session, [app_id])[(app_id, "unit_review")].user_id
            == world.users["unit_a_reviewer"]
        )
        with pytest.raises(ClaimedByColleague, match="已由同事 unit_a_reviewer 于 2020-11-24 10:00 认领"):
            claims.claim(session, clock, unit, app_id, "unit_review", world.users["unit_a_admin"])
        with pytest.raises(ClaimedByColleague):
            services.complete_task(
                session, clock, app_id, "unit_review", _actor(session, world, "unit_a_admin"), APPROVE
            )


def test_only_the_holder_or_an_admin_releases_a_claim(session_factory, clock, world):
    unit = world.orgs["unit_a"]
    with session_factory() as session:
        app_id = _submitted(session, clock, world)
        claims.claim(session, clock, unit, app_id, "unit_review", world.users["unit_a_admin"])
        with pytest.raises(NotPermitted, match="只有其本人或本单位管理员可以释放"):
            claims.release(session, unit, app_id, "unit_review", world.users["unit_a_reviewer"])
        claims.claim(
            session, clock, unit, app_id, "unit_review", world.users["unit_a_admin"]
        )  # re-claim: no-op
        claims.release(session, unit, app_id, "unit_review", world.users["unit_a_admin"])
        claims.claim(session, clock, unit, app_id, "unit_review", world.users["unit_a_reviewer"])
        claims.release(
            session, unit, app_id, "unit_review", world.users["unit_a_admin"]
        )  # an admin releases anyone's
        assert claims.holder(session, app_id, "unit_review") is None


def test_a_claim_lapses_once_the_application_moves_on(session_factory, clock, world):
    unit = world.orgs["unit_a"]
    with session_factory() as session:
        app_id = _submitted(session, clock, world)
        clock.set(at(11, 24))
        claims.claim(session, clock, unit, app_id, "unit_review", world.users["unit_a_reviewer"])
        services.complete_task(
            session, clock, app_id, "unit_review", _actor(session, world, "unit_a_reviewer"), APPROVE
        )
        assert claims.holder(session, app_id, "unit_review") is None


def test_who_may_not_claim(session_factory, clock, world):
    with session_factory() as session:
        app_id = _submitted(session, clock, world)
        with pytest.raises(NotPermitted):  # a member of another org
            claims.claim(
                session, clock, world.orgs["unit_a"], app_id, "unit_review", world.users["unit_b_admin"]
            )
        with pytest.raises(ActionRefused, match="不在本单位待办中"):  # the org has no such task
            claims.claim(
                session, clock, world.orgs["dept"], app_id, "unit_review", world.users["dept_reviewer"]
            )
