"""/healthz, /metrics, request ids and JSON logs."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta

import pytest
from flask_migrate import upgrade
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text
from sqlalchemy.orm import sessionmaker
from workflow_fixtures import beijing

from engine.clock import FixedClock, SystemClock
from engine.ops import beat
from engine.store.tables import DueTimer
from webapp import create_app
from webapp.extensions import db

NOW = datetime(2020, 11, 20, 2, 0, tzinfo=UTC)


@pytest.fixture
def migrated(tmp_path):
    """An app whose database was built by the migrations (so it is at head), with a fixed engine clock."""

    def build(**config):
        app = create_app(
            {
                "TESTING": True,
                "SECRET_KEY": "test",
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'ops.sqlite'}",
                "UPLOAD_DIR": str(tmp_path / "uploads"),
                "ZHICHENG_CLOCK": FixedClock(NOW),
                **config,
            }
        )
        with app.app_context():
            upgrade()
        return app

    return build


def _factory(app):
    with app.app_context():
        return sessionmaker(db.engine, expire_on_commit=False)


def test_healthz_503_without_a_worker_then_200_after_a_heartbeat(migrated):
    app = migrated()
    client = app.test_client()
    r = client.get("/healthz")
    assert r.status_code == 503 and r.is_json
    body = r.get_json()
    assert body["status"] == "unhealthy"
    assert body["checks"]["database"]["ok"] and body["checks"]["migrations"]["ok"]
    assert body["checks"]["worker"] == {"ok": False, "heartbeat_age_seconds": None, "max_age_seconds": 120.0}

    beat(_factory(app), SystemClock().now(), name="test-worker")
    r = client.get("/healthz")
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["checks"]["worker"]["heartbeat_age_seconds"] < 60
    assert r.get_json()["checks"]["timers"]["oldest_overdue_seconds"] == 0


def test_healthz_503_when_a_timer_is_overdue_or_the_worker_is_silent(migrated):
    app = migrated()
    factory = _factory(app)
    beat(factory, SystemClock().now() - timedelta(minutes=10), name="silent-worker")
    r = app.test_client().get("/healthz")
    assert r.status_code == 503 and not r.get_json()["checks"]["worker"]["ok"]

    beat(factory, SystemClock().now(), name="live-worker")
    with factory() as s:  # a timer due an hour before the engine clock's now, never fired
        s.execute(text("PRAGMA foreign_keys=OFF"))  # only due_timer is read: no application needed
        s.add(DueTimer(application_id=999, name="late", due_at=NOW - timedelta(hours=1), attempts=0))
        s.commit()
    r = app.test_client().get("/healthz")
    assert r.status_code == 503
    timers = r.get_json()["checks"]["timers"]
    assert not timers["ok"] and timers["oldest_overdue_seconds"] == 3600


def test_healthz_503_when_the_schema_is_behind_the_migrations(make_app):
    app = make_app()  # tables from the models, no alembic_version: "not at head"
    r = app.test_client().get("/healthz")
    assert r.status_code == 503
    assert r.get_json()["checks"]["migrations"]["current"] == []


def _samples(text: str) -> dict:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def _count(samples, name, **labels):
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_metrics_parse_and_move_when_actions_happen(wf):
    client = wf.app.test_client()
    before = _samples(client.get("/metrics").get_data(as_text=True))
    app_id = wf.start()
    r = wf.submit(app_id)
    assert r.status_code == 302, r.get_data(as_text=True)
    assert wf.act("unit_a", "unit_a", app_id, "unit_review", decision="").status_code == 422  # no decision
    stale = wf.act("unit_a", "unit_a", app_id, "unit_review", version="1")  # someone acted since version 1
    assert stale.status_code in (302, 409), stale.get_data(as_text=True)
    wf.move_to(beijing(2020, 12, 31))  # past every deadline: timers fire
    r = client.get("/metrics")
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/plain")
    after = _samples(r.get_data(as_text=True))

    def moved(name, **labels):
        return _count(after, name, **labels) - _count(before, name, **labels)

    assert moved("zhicheng_actions_total", stage="applicant_submit", outcome="completed") == 1
    assert moved("zhicheng_actions_total", stage="unit_review", outcome="invalid") == 1
    assert moved("zhicheng_actions_total", stage="unit_review", outcome="refused") == 1
    assert (
        moved("zhicheng_request_duration_seconds_count", endpoint="ops.metrics_endpoint", method="GET") == 1
    )
    assert _count(after, "zhicheng_database_up") == 1
    assert sum(v for (name, labels), v in after.items() if name == "zhicheng_applications") == 1
    assert ("zhicheng_timers_waiting", ()) in after and ("zhicheng_incidents_open", ()) in after
    assert ("zhicheng_outbox_pending", (("channel", "email"),)) in after


def test_metrics_refused_without_token_from_elsewhere_and_allowed_with_it(make_app):
    app = make_app(ZHICHENG_METRICS_TOKEN="s3cret-token", ZHICHENG_METRICS_ALLOW="10.0.0.0/8")
    client = app.test_client()
    outside = {"REMOTE_ADDR": "192.0.2.7"}
    assert client.get("/metrics", environ_base=outside).status_code == 403
    assert (
        client.get("/metrics", environ_base=outside, headers={"Authorization": "Bearer wrong"}).status_code
        == 403
    )
    ok = client.get("/metrics", environ_base=outside, headers={"Authorization": "Bearer s3cret-token"})
    assert ok.status_code == 200 and b"zhicheng_database_up" in ok.data
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "10.1.2.3"}).status_code == 200
    default = make_app()  # no token, default allow list: loopback only
    assert default.test_client().get("/metrics", environ_base=outside).status_code == 403
    assert default.test_client().get("/metrics").status_code == 200  # the test client is 127.0.0.1


def test_500_page_shows_the_request_id_that_the_json_log_carries(make_app, capsys):
    app = make_app(ZHICHENG_LOG_FORMAT="json", PROPAGATE_EXCEPTIONS=False)

    @app.get("/boom")
    def boom():
        raise RuntimeError("kaput")

    r = app.test_client().get("/boom", headers={"X-Request-ID": "abc123def456"})
    assert r.status_code == 500
    html = r.get_data(as_text=True)
    assert "abc123def456" in html and "错误编号" in html and "kaput" not in html
    assert r.headers["X-Request-ID"] == "abc123def456"
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    error = next(e for e in lines if e["level"] == "ERROR")
    assert error["request_id"] == "abc123def456" and "RuntimeError: kaput" in error["exception"]
    access = next(e for e in lines if e["logger"] == "zhicheng.request")
    assert access["status"] == 500 and access["path"] == "/boom" and access["request_id"] == "abc123def456"


def test_request_id_is_made_when_the_incoming_one_is_unsafe(make_app):
    r = make_app().test_client().get("/healthz", headers={"X-Request-ID": "<script>"})
    assert r.headers["X-Request-ID"] != "<script>" and len(r.headers["X-Request-ID"]) == 16


@pytest.fixture(autouse=True)
def _text_logs_after():
    yield
    from webapp.ops import logs

    logs.configure("text", "INFO")
    logging.getLogger("zhicheng").setLevel(logging.WARNING)


def test_worker_sweep_counts_fired_timers_with_their_lag_and_beats(wf):
    from engine.store.worker import tick
    from webapp.cli.store import worker_reporter

    client = wf.app.test_client()
    before = _samples(client.get("/metrics").get_data(as_text=True))
    app_id = wf.start()
    assert wf.submit(app_id).status_code == 302
    factory = _factory(wf.app)
    wf.clock.set(beijing(2020, 12, 31))  # every deadline of the unit has passed
    report = tick(factory, wf.clock)
    assert report.fired
    worker_reporter(factory, wf.clock, echo=False)(report)
    after = _samples(client.get("/metrics").get_data(as_text=True))
    fired = sum(
        v - before.get((n, labels), 0)
        for (n, labels), v in after.items()
        if n == "zhicheng_timers_fired_total"
    )
    assert fired == len(report.fired)
    assert (
        _count(after, "zhicheng_timer_lag_seconds_count") - _count(before, "zhicheng_timer_lag_seconds_count")
        == fired
    )
    assert _count(after, "zhicheng_timer_lag_seconds_sum") > _count(before, "zhicheng_timer_lag_seconds_sum")
    assert _count(after, "zhicheng_worker_fired_timers") == fired
    assert 0 <= _count(after, "zhicheng_worker_heartbeat_age_seconds") < 60


def test_multiprocess_mode_adds_up_the_counters_of_every_process(tmp_path):
    """What gunicorn with several workers does: each process writes to PROMETHEUS_MULTIPROC_DIR, any one reports."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    bump = "from webapp.ops.metrics import ACTIONS; ACTIONS.labels('unit_review', 'completed').inc()"
    for _ in range(2):  # two web workers, each counting one approval, then exiting
        subprocess.run([sys.executable, "-c", bump], env=env, check=True, timeout=120)
    report = (
        "from webapp.ops.metrics import exposition\n"
        "def down(): raise RuntimeError('no database here')\n"
        "print(exposition(down)[0].decode())"
    )
    text = subprocess.run(
        [sys.executable, "-c", report], env=env, check=True, timeout=120, capture_output=True, text=True
    ).stdout
    samples = _samples(text)
    assert _count(samples, "zhicheng_actions_total", stage="unit_review", outcome="completed") == 2
    assert _count(samples, "zhicheng_database_up") == 0
