"""Web fixtures in the flaskr style: `app` (temp SQLite, FixedClock, CSRF on), `client`, `runner`, `auth`."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from engine.accounts import services as acc
from engine.clock import FixedClock
from engine.db import Base
from webapp import create_app
from webapp.extensions import db

UPLOADS = Path(__file__).resolve().parents[1] / "data" / "uploads"
PW = "secret123"
# Valid GB 11643 IDs (江津区 region code) and GB 32100 credit codes.
ID_A, ID_B, ID_C = "50011619800101123X", "500116198505052342", "500116199009093457"
CODE_A, CODE_B, CODE_C = "91500116MA5U000008", "91500116MA5U000109", "12500116MA5U00020F"
START = datetime(2020, 10, 21, 2, 0, tzinfo=UTC)  # 2020-10-21 10:00 Beijing, registration open


@pytest.fixture(autouse=True)
def _fast_password_hash(monkeypatch):
    monkeypatch.setattr("engine.accounts.people.PASSWORD_HASH_METHOD", "pbkdf2:sha256:1000")


@pytest.fixture
def make_app(tmp_path):
    """Build an app on a fresh SQLite file with the given clock and config overrides; tables created."""

    def build(clock=None, **config):
        app = create_app(
            {
                "TESTING": True,
                "SECRET_KEY": "test",
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'web.sqlite'}",
                "UPLOAD_DIR": str(tmp_path / "uploads"),
                "ZHICHENG_CLOCK": clock or FixedClock(START),
                **config,
            }
        )
        with app.app_context():
            Base.metadata.create_all(db.engine)
        return app

    return build


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def csrf_token(client, path: str) -> str:
    """GET a page and return the CSRF token of its form (the session cookie stays in the client)."""
    html = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    assert match, f"no csrf_token on {path}"
    return match.group(1)


def post_form(client, path: str, data: dict, *, token_from: str | None = None, **kwargs):
    """POST a form with a fresh CSRF token taken from `token_from` (default: the same path)."""
    data = {**data, "csrf_token": csrf_token(client, token_from or path)}
    return client.post(path, data=data, **kwargs)


class AuthActions:
    def __init__(self, client):
        self._client = client

    def register(self, id_number=ID_A, real_name="张三", mobile="13800138000", password=PW, password2=None):
        return post_form(
            self._client,
            "/auth/register",
            {
                "real_name": real_name,
                "id_number": id_number,
                "mobile": mobile,
                "password": password,
                "password2": password if password2 is None else password2,
            },
        )

    def login(self, username=ID_A, password=PW):
        return post_form(self._client, "/auth/login", {"username": username, "password": password})

    def logout(self):
        return post_form(self._client, "/auth/logout", {}, token_from="/")


@pytest.fixture
def auth(client):
    """Register / login / logout helpers on `client`."""
    return AuthActions(client)


@pytest.fixture
def make_auth():
    """AuthActions for another client (e.g. one built with make_app)."""
    return AuthActions


@pytest.fixture
def post(client):
    """post(path, data, token_from=None, **kw): a form POST carrying a valid CSRF token."""
    return lambda path, data, token_from=None, **kw: post_form(
        client, path, data, token_from=token_from, **kw
    )


@pytest.fixture
def login_as(make_auth):
    """login_as(client, username): log a client in with the shared test password."""
    return lambda client, username: make_auth(client).login(username=username)


@pytest.fixture
def tree(app):
    """Preset orgs: a committee, the Jiangjin and Yubei HR offices, a municipal dept (admins: PW)."""
    with app.app_context():
        clock = FixedClock(START)
        committee = acc.create_preset_org(
            db.session,
            clock,
            org_type="committee",
            name="工程系列评委会",
            admin_username="committee",
            admin_password=PW,
            series_codes="ENG",
        )
        ids = {"committee": committee.id}
        for key, name, district, user in (
            ("office", "江津区职改办", "江津区", "jj_office"),
            ("other_office", "渝北区职改办", "渝北区", "yb_office"),
        ):
            ids[key] = acc.create_preset_org(
                db.session,
                clock,
                org_type="district_hr_office",
                name=name,
                admin_username=user,
                admin_password=PW,
                parent_id=committee.id,
                district=district,
            ).id
        ids["muni"] = acc.create_preset_org(
            db.session,
            clock,
            org_type="municipal_dept",
            name="市经信委",
            admin_username="muni",
            admin_password=PW,
            parent_id=committee.id,
        ).id
        db.session.commit()
    return ids


# Workflow-page fixtures (deployed campaign, org chain, reviewers): see workflow_fixtures.py.
from workflow_fixtures import wf  # noqa: E402,F401
