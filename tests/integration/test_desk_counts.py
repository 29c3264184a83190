"""The desk's counts (one grouped read, classified per view) equal a fresh COUNT per view after every kind of
action, and a search resolved to application ids pages exactly like the joined search it replaces."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, select

from calendars import TZ
from engine.accounts.models import User
from engine.store import claims, desk, queries, services, worker
from engine.store.tables import ApplicationRow, WorkItem

DECLARATION = yaml.safe_load(
    (Path(__file__).resolve().parents[2] / "bpmn/scenarios/data/declaration.yaml").read_text(encoding="utf-8")
)
APPROVE = {"decision": "approve", "opinion": "经审核符合申报条件，同意推荐。"}
RETURN = {"decision": "return", "opinion": "材料不完整，请补正后重新提交。", "reason": "缺少学位证书"}


def at(month: int, day: int, hour: int = 10) -> datetime:
    return datetime(2020, month, day, hour, tzinfo=TZ)


def fresh_counts(session, clock, org_id: int, days: int) -> dict[str, int]:
    """One plain COUNT per view with the views' SQL filters: what desk.counts must equal."""
    now = clock.now()
    out = {
        view: session.scalar(
            select(func.count(WorkItem.id)).where(
                WorkItem.org_id == org_id, *queries._filters(view, now, days)
            )
        )
        for view in queries.INBOX_VIEWS[:-1]
    }
    out["lapsed"] = session.scalar(
        select(func.count(ApplicationRow.id)).where(
            ApplicationRow.responsible_org_id == org_id, ApplicationRow.status == "expired"
        )
    )
    return out


def check(session_factory, clock, world, seen: set) -> None:
    with session_factory() as session:
        for org_id in world.orgs.values():
            for days in (0, 3, 10):
                expected = fresh_counts(session, clock, org_id, days)
                assert desk.counts(session, clock, org_id, days) == expected, (org_id, days)
                for view in queries.INBOX_VIEWS:
                    page = desk.work(session, clock, org_id, view=view, due_within_working_days=days)
                    assert page.total == expected[view] and page.counts == expected
                    assert len(page.rows) == min(expected[view], desk.PER_PAGE)
                stages = set(session.scalars(select(WorkItem.stage).where(WorkItem.org_id == org_id)))
                for stage in stages:  # one stage's total (the menu's stage entries) comes from the same tally
                    for view in queries.INBOX_VIEWS[:-1]:
                        page = desk.work(
                            session,
                            clock,
                            org_id,
                            view=view,
                            search=desk.Search(stage=stage),
                            due_within_working_days=days,
                        )
                        assert page.total == session.scalar(
                            select(func.count(WorkItem.id)).where(
                                WorkItem.org_id == org_id,
                                WorkItem.stage == stage,
                                *queries._filters(view, clock.now(), days),
                            )
                        ), (org_id, stage, view, days)
                seen.update(k for k, n in expected.items() if n)


def _actor(session, world, name):
    return queries.actor_for(session, world.users[name])


def _act(session_factory, clock, world, app_id, stage, who, data):
    with session_factory() as session:
        services.complete_task(session, clock, app_id, stage, _actor(session, world, who), data)


def test_counts_equal_a_fresh_count_after_every_kind_of_action(session_factory, clock, world):
    seen: set[str] = set()
    with session_factory() as session:
        alice = services.start_application(session, clock, world.users["alice"], world.orgs["unit_a"])
        carol = services.start_application(session, clock, world.users["carol"], world.orgs["unit_a"])
        services.start_application(session, clock, world.users["bob"], world.orgs["unit_b"])  # lapses
    check(session_factory, clock, world, seen)
    clock.set(at(11, 20))
    for app_id, who in ((alice, "alice"), (carol, "carol")):
        _act(session_factory, clock, world, app_id, "applicant_submit", who, DECLARATION)
    check(session_factory, clock, world, seen)
    # claim and release change no count
    with session_factory() as session:
        claims.claim(
            session, clock, world.orgs["unit_a"], alice, "unit_review", world.users["unit_a_reviewer"]
        )
    check(session_factory, clock, world, seen)
    with session_factory() as session:
        claims.release(session, world.orgs["unit_a"], alice, "unit_review", world.users["unit_a_reviewer"])
    check(session_factory, clock, world, seen)
    clock.set(at(11, 24))  # bob's submission deadline has passed: a lapse, by the timer sweep
    worker.tick(session_factory, clock)
    check(session_factory, clock, world, seen)
    _act(session_factory, clock, world, carol, "unit_review", "unit_a_admin", RETURN)  # a return
    _act(session_factory, clock, world, alice, "unit_review", "unit_a_admin", APPROVE)  # an approval
    check(session_factory, clock, world, seen)
    clock.set(at(12, 4, 9))  # the notice has run
    worker.tick(session_factory, clock)
    check(session_factory, clock, world, seen)
    _act(session_factory, clock, world, alice, "unit_report", "unit_a_admin", APPROVE)
    check(session_factory, clock, world, seen)
    clock.set(at(12, 20))  # tier 2 let it run out, carol never corrected: lapses at two orgs
    worker.tick(session_factory, clock)
    check(session_factory, clock, world, seen)
    assert seen >= {"all", "actionable", "due_soon", "lapsed"}  # the walk exercised the views it checks


def test_every_window_shape_is_classified_as_sql_does(session_factory, clock, world):
    """Items with every mix of open/closed/NULL windows (written straight into the index table): the grouped
    classification equals the SQL filters of each view, NULLs included."""
    with session_factory() as session:
        app_id = services.start_application(session, clock, world.users["alice"], world.orgs["unit_a"])
        now = clock.now()
        marks = [
            None,
            now - timedelta(days=3),
            now,
            now + timedelta(hours=5),
            now + timedelta(days=2),
            now + timedelta(days=30),
        ]
        session.add_all(
            WorkItem(
                application_id=app_id,
                stage="unit_review",
                tier="unit",
                org_id=world.orgs["dept"],
                actionable_from=opens,
                deadline=deadline,
            )
            for opens in marks
            for deadline in marks
        )
        session.commit()
    seen: set[str] = set()
    check(session_factory, clock, world, seen)
    assert seen >= {"all", "actionable", "not_open", "due_soon"}


def _three_submitted(session_factory, clock, world) -> list[int]:
    """alice, bob and carol each start and submit an application at unit A (ids in that order)."""
    with session_factory() as session:
        ids = [
            services.start_application(session, clock, world.users[who], world.orgs["unit_a"])
            for who in ("alice", "bob", "carol")
        ]
    clock.set(at(11, 20))
    for app_id, who in zip(ids, ("alice", "bob", "carol"), strict=True):
        _act(session_factory, clock, world, app_id, "applicant_submit", who, DECLARATION)
    return ids


@pytest.mark.parametrize(
    "limit, join_below, inline",
    [
        (desk.RESOLVE_LIMIT, 0, desk.INLINE_IDS),
        (desk.RESOLVE_LIMIT, 0, 0),
        (0, 0, desk.INLINE_IDS),
        (desk.RESOLVE_LIMIT, desk.JOIN_BELOW, desk.INLINE_IDS),
    ],
    ids=["resolved to ids", "resolved, unit as a subquery", "broad: joined", "small org: joined"],
)
def test_resolved_and_joined_searches_page_alike(
    session_factory, clock, world, monkeypatch, limit, join_below, inline
):
    """Every search path (resolved to application ids, its unit to unit ids or a subquery, or joined)
    gives the same rows, totals and order."""
    monkeypatch.setattr(desk, "RESOLVE_LIMIT", limit)
    monkeypatch.setattr(desk, "JOIN_BELOW", join_below)
    monkeypatch.setattr(desk, "INLINE_IDS", inline)
    ids = _three_submitted(session_factory, clock, world)
    unit = world.orgs["unit_a"]
    with session_factory() as session:
        for search, expected in (
            (desk.Search(name="o"), {ids[1], ids[2]}),  # bob, carol
            (desk.Search(name="alice"), {ids[0]}),
            (desk.Search(name="nobody"), set()),
            (desk.Search(unit="unit_a"), set(ids)),
            (desk.Search(series="senior_engineer_full"), set(ids)),
        ):
            for sort in desk.SORTS:
                page = desk.work(session, clock, unit, view="all", search=search, sort=sort, per_page=2)
                rest = desk.work(
                    session, clock, unit, view="all", search=search, sort=sort, per_page=2, page=2
                )
                got = [r.item.application_id for r in page.rows + rest.rows]
                assert set(got) == expected and len(got) == len(expected) and page.total == len(expected)
        by_name = desk.work(session, clock, unit, view="all", sort="name", search=desk.Search(unit="unit_a"))
        assert [r.item.applicant_name for r in by_name.rows] == ["alice", "bob", "carol"]
        # another org's desk never shows unit A's applications, whatever the search
        assert (
            desk.work(session, clock, world.orgs["unit_b"], view="all", search=desk.Search(name="a")).total
            == 0
        )


def test_a_broad_search_on_a_large_org_counts_up_to_the_cap_and_says_so(
    session_factory, clock, world, monkeypatch
):
    monkeypatch.setattr(desk, "RESOLVE_LIMIT", 0)  # every search is "broad"
    monkeypatch.setattr(desk, "JOIN_BELOW", 0)
    monkeypatch.setattr(desk, "COUNT_CAP", 2)
    _three_submitted(session_factory, clock, world)
    unit = world.orgs["unit_a"]
    with session_factory() as session:
        broad = desk.work(session, clock, unit, view="all", search=desk.Search(unit="unit_a"), per_page=10)
        assert (broad.total, broad.capped, len(broad.rows)) == (2, True, 3)  # every row still listed
        narrow = desk.work(session, clock, unit, view="all", search=desk.Search(name="alice"))
        assert (narrow.total, narrow.capped) == (1, False)
        plain = desk.work(session, clock, unit, view="all")  # unsearched: the exact tab count, never capped
        assert (plain.total, plain.capped) == (3, False)


@pytest.mark.parametrize("descending", [False, True], ids=["ascending", "descending"])
def test_walking_the_application_index_pages_like_the_join_and_sort(
    session_factory, clock, world, monkeypatch, descending
):
    """An application-column sort on a large org walks the application index (on PostgreSQL through a
    LATERAL probe); every page equals the joined-and-sorted page it replaces, and another org's
    applications never appear."""
    ids = _three_submitted(session_factory, clock, world)
    with session_factory() as session:  # unit B holds an application too: the walk must skip it
        dave = User(username="dave", real_name="dave", password_hash="!", created_at=clock.now())
        session.add(dave)
        session.commit()
        world.users["dave"] = dave.id
        other = services.start_application(session, clock, dave.id, world.orgs["unit_b"])
    _act(session_factory, clock, world, other, "applicant_submit", "dave", DECLARATION)
    unit = world.orgs["unit_a"]

    def pages(walk: bool, sort: str, search: desk.Search) -> list[int]:
        monkeypatch.setattr(desk, "WALK_FROM", -1 if walk else 10**9)
        with session_factory() as session:
            got = []
            for page in (1, 2, 3):
                rows = desk.work(
                    session,
                    clock,
                    unit,
                    view="all",
                    sort=sort,
                    descending=descending,
                    search=search,
                    per_page=1,
                    page=page,
                ).rows
                got += [r.item.application_id for r in rows]
            return got

    for sort in sorted(set(desk.SORTS) - desk.ITEM_SORTS):
        for search in (desk.Search(), desk.Search(series="senior_engineer_full"), desk.Search(name="o")):
            walked = pages(True, sort, search)
            assert walked == pages(False, sort, search), (sort, search)
            assert other not in walked and set(walked) <= set(ids)
    assert pages(True, "name", desk.Search()) == (ids[::-1] if descending else ids)  # alice, bob, carol
