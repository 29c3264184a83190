"""`simulate --workers W`: cohorts over several processes give the same campaign as one process, and every
application verifies afterwards (SQLite file and PostgreSQL)."""

from __future__ import annotations

from engine.audit.verify import all_application_ids, verify_application
from engine.store.simulate import simulate


def _expected_outcomes(plans) -> dict:
    """What each plan must end as: lapses expire, 不予上报 is not recommended, everything else is confirmed."""
    out: dict[str, int] = {}
    for plan, count in plans.items():
        status = (
            "expired"
            if plan.startswith("lapse")
            else "not_recommended"
            if plan.startswith("not_recommend")
            else "confirmed"
        )
        out[status] = out.get(status, 0) + count
    return out


def test_two_workers_give_the_campaign_of_one_and_verify(database_url, session_factory):
    one = simulate(session_factory, 6, seed=5, prefix="one", cohort=4)
    two = simulate(session_factory, 6, seed=5, prefix="two", cohort=2, workers=2, database_url=database_url)
    assert one.plans == two.plans  # each applicant's plan is its own, whatever the sharding
    assert dict(one.outcomes) == dict(two.outcomes) == _expected_outcomes(one.plans)
    assert (one.actions, one.timers_fired) == (two.actions, two.timers_fired)
    with session_factory() as session:
        ids = all_application_ids(session)
        assert len(ids) == 12
        problems = {i: r.problems for i in ids if not (r := verify_application(session, i)).ok}
    assert problems == {}


def test_cohorts_cover_every_applicant_once_and_end_small_with_several_workers():
    from engine.store.simulate import cohort_bounds

    for total, size, workers in [(10, 4, 1), (10_000, 1000, 2), (2500, 1000, 2), (5, 1000, 2), (7, 3, 3)]:
        bounds = cohort_bounds(total, size, workers)
        assert [i for first, last in bounds for i in range(first, last)] == list(range(total))
        assert all(0 < last - first <= size for first, last in bounds)
    assert cohort_bounds(10_000, 1000, 2)[-8:] == [(f, f + 250) for f in range(8000, 10_000, 250)]
    assert cohort_bounds(10, 4, 1) == [(0, 4), (4, 8), (8, 10)]
