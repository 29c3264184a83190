"""The fuzz world: the demo org tree with an account for every role, one submitted application, a logged-in
client per role. Built once per module (Hypothesis runs many requests against the same world)."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from calendars import TZ
from engine.accounts.models import Org, User
from engine.clock import SimulatedClock
from engine.db import Base
from engine.demo import DEMO_PASSWORD, seed_demo
from engine.deployment import read_sources
from engine.store import queries, services
from webapp import create_app
from webapp.extensions import db

DECLARATION = yaml.safe_load(
    (Path(__file__).resolve().parents[2] / "bpmn/scenarios/data/declaration.yaml").read_text(encoding="utf-8")
)
# 2020-11-18 10:00 Beijing: applicants may submit, units may review.
T0 = datetime(2020, 11, 18, 10, tzinfo=TZ)


class FuzzWorld:
    def __init__(self, app, clients: dict, ids: dict):
        self.app, self.clients, self.ids = app, clients, ids


def _token(client) -> str:
    html = client.get("/auth/login").get_data(as_text=True)
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)


@pytest.fixture(scope="module")
def fuzz_world(tmp_path_factory):
    # Cheap hashes: thousands of generated logins must not each cost a production-strength scrypt.
    patch = pytest.MonkeyPatch()
    patch.setattr("engine.accounts.people.PASSWORD_HASH_METHOD", "pbkdf2:sha256:1000")
    tmp = tmp_path_factory.mktemp("fuzz")
    clock = SimulatedClock(T0)
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "fuzz",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp / 'fuzz.sqlite'}",
            "UPLOAD_DIR": str(tmp / "uploads"),
            "ZHICHENG_CLOCK": clock,
        }
    )
    with app.app_context():
        Base.metadata.create_all(db.engine)
        s = db.session
        services.deploy(s, clock, read_sources())
        accounts = seed_demo(s, clock)
        s.commit()
        users = dict(s.execute(select(User.username, User.id)).all())
        applicant = next(a.username for a in accounts if a.username.startswith("500116"))
        unit = s.scalar(select(Org.id).where(Org.name == "重庆市江津区建设工程有限公司"))
        app_id = services.start_application(s, clock, users[applicant], unit)
        services.complete_task(
            s, clock, app_id, "applicant_submit", queries.actor_for(s, users[applicant]), dict(DECLARATION)
        )
        org_ids = list(s.scalars(select(Org.id)))
    clients = {"anonymous": app.test_client()}
    for account in accounts:
        if account.username in clients:
            continue
        client = app.test_client()
        r = client.post(
            "/auth/login",
            data={"username": account.username, "password": DEMO_PASSWORD, "csrf_token": _token(client)},
        )
        assert r.status_code == 302, account.username
        clients[account.username] = client
    ids = {"app": [app_id], "org": org_ids, "user": list(users.values())}
    yield FuzzWorld(app, clients, ids)
    patch.undo()
