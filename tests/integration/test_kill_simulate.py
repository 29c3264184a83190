"""Durability under faults: a simulating process is SIGKILLed at random moments, 20 times, and restarted.

The child records an acknowledgement line after each action's commit returned. Afterwards: every
acknowledged action is in the history (nothing acknowledged is lost), every application verifies (a task
completed twice could not replay), every application rebuilds from its snapshot plus the events after it
with the cache cold, no incident was raised, and each applicant ends as its plan says.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, select

from engine.audit.verify import all_application_ids, verify_application
from engine.clock import SimulatedClock
from engine.store import live, services
from engine.store.tables import ApplicationRow, HistoryEvent, Incident

ROOT = Path(__file__).resolve().parents[2]
KILLS = 20
APPLICANTS = 8

CHILD = textwrap.dedent(
    """
    import sys
    from sqlalchemy.orm import sessionmaker
    from engine.db import make_engine
    from engine.store import services, simulate

    url, acks, applicants = sys.argv[1], sys.argv[2], int(sys.argv[3])
    out = open(acks, "a", buffering=1)
    real = services.perform_task

    def acknowledged(session, clock, app_id, stage, actor, data, expected_version=None):
        version = real(session, clock, app_id, stage, actor, data, expected_version)
        out.write(f"ack {app_id} {stage} {version}\\n")  # only after the commit returned
        return version

    services.perform_task = acknowledged
    factory = sessionmaker(make_engine(url), expire_on_commit=False)
    out.write("ready\\n")
    simulate.simulate(factory, applicants, seed=11, cohort=4)
    out.write("done\\n")
    """
)


def _run(url: str, acks: Path, kill_after: float | None) -> bool:
    """Run the child; SIGKILL it `kill_after` seconds after it is ready. True if it finished by itself."""
    before = acks.read_text().count("ready\n") if acks.exists() else 0
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, url, str(acks), str(APPLICANTS)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        if kill_after is None:
            return child.wait(timeout=600) == 0
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and child.poll() is None:
            if acks.exists() and acks.read_text().count("ready\n") > before:
                break
            time.sleep(0.02)
        time.sleep(kill_after)
        if child.poll() is not None:
            return child.returncode == 0
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=60)
        return False
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()


@pytest.mark.faults
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_twenty_sigkills_lose_nothing_acknowledged_and_apply_nothing_twice(
    database_url, session_factory, tmp_path
):
    rng = random.Random(14)
    acks = tmp_path / "acks.log"
    kills = attempts = 0
    while kills < KILLS and attempts < 2 * KILLS:
        attempts += 1
        if not _run(database_url, acks, kill_after=rng.uniform(0.0, 0.6)):
            kills += 1  # a run that finished before its kill is not counted
    assert kills == KILLS
    assert _run(database_url, acks, kill_after=None), "the restarted simulation did not finish"

    acked = Counter()
    for line in acks.read_text().splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[0] == "ack":
            acked[(int(parts[1]), parts[2])] += 1
    assert acked, "no action was acknowledged before the kills"
    live.CACHE.clear()  # everything below rebuilds from the database alone
    with session_factory() as session:
        completed = Counter(
            {
                (app_id, stage): n
                for app_id, stage, n in session.execute(
                    select(HistoryEvent.application_id, HistoryEvent.stage, func.count())
                    .where(HistoryEvent.event_type == "completed")
                    .group_by(HistoryEvent.application_id, HistoryEvent.stage)
                )
            }
        )
        lost = {key: n for key, n in acked.items() if completed[key] < n}
        assert lost == {}, f"acknowledged but not in the history: {lost}"
        ids = all_application_ids(session)
        assert len(ids) == APPLICANTS  # a restart never starts an applicant's declaration twice
        problems = {i: r.problems for i in ids if not (r := verify_application(session, i)).ok}
        assert problems == {}
        clock = SimulatedClock(session.scalar(select(func.max(HistoryEvent.at))))
        for app_id in ids:
            row, app = services.load(session, app_id, clock)  # snapshot + later events, no cache
            assert app.status().status == row.status
        assert session.scalar(select(func.count(Incident.id))) == 0
        statuses = Counter(session.scalars(select(ApplicationRow.status)))
    assert set(statuses) <= {"confirmed", "expired", "not_recommended"}, statuses
