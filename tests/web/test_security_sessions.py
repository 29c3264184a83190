"""Issue 12: the secret key, login enumeration and throttling, sessions that really end, old-password checks."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from workflow_fixtures import page_token

from engine.accounts import services as acc
from engine.clock import SimulatedClock
from webapp import create_app
from webapp.extensions import db
from webapp.security import InsecureConfig

ID_A, ID_B, PW = "50011619800101123X", "500116198505052342", "secret123"
T = datetime(2020, 10, 21, 2, 0, tzinfo=UTC)


def post_form(client, path: str, data: dict):
    """POST with the CSRF token of the page at `path`."""
    token = page_token(client.get(path).get_data(as_text=True))
    return client.post(path, data={**data, "csrf_token": token})


# ---- 1. secret key ------------------------------------------------------------------------------------------
@pytest.fixture
def bare_env(monkeypatch, tmp_path):
    monkeypatch.delenv("ZHICHENG_SECRET_KEY", raising=False)
    monkeypatch.delenv("ZHICHENG_SANDBOX", raising=False)
    monkeypatch.setenv("ZHICHENG_INSTANCE", str(tmp_path / "instance"))
    return {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.sqlite'}"}


@pytest.mark.parametrize("key", [None, "dev-only-change-me", "short-key"])
def test_server_refuses_to_start_without_a_real_secret_key(bare_env, monkeypatch, key):
    if key:
        monkeypatch.setenv("ZHICHENG_SECRET_KEY", key)
    with pytest.raises(InsecureConfig) as exc:
        create_app(bare_env)
    assert "ZHICHENG_SECRET_KEY" in str(exc.value) and "secrets.token_hex" in str(exc.value)


def test_server_starts_with_a_real_secret_key(bare_env, monkeypatch):
    monkeypatch.setenv("ZHICHENG_SECRET_KEY", "k" * 16 + "9f2c41d07e5b8a36")
    assert create_app(bare_env).config["SECRET_KEY"] == "k" * 16 + "9f2c41d07e5b8a36"


def test_sandbox_generates_one_random_key_per_instance(bare_env, tmp_path):
    first = create_app({**bare_env, "ZHICHENG_SANDBOX": True}).config["SECRET_KEY"]
    again = create_app({**bare_env, "ZHICHENG_SANDBOX": True}).config["SECRET_KEY"]
    assert first == again and len(first) >= 32 and first != "dev-only-change-me"
    key_file = tmp_path / "instance" / "secret_key"
    assert key_file.stat().st_mode & 0o077 == 0  # readable by its owner only


def test_command_line_gets_a_throwaway_key(bare_env):
    a = create_app({**bare_env, "ZHICHENG_CLI": True}).config["SECRET_KEY"]
    b = create_app({**bare_env, "ZHICHENG_CLI": True}).config["SECRET_KEY"]
    assert a != b and len(a) >= 32


# ---- 4. enumeration -----------------------------------------------------------------------------------------
def _flashes(response) -> list[str]:
    found = re.findall(r'class="flash[^"]*"[^>]*>(.*?)<', response.get_data(as_text=True), re.S)
    return [f.strip() for f in found if f.strip()]


def test_unknown_user_and_wrong_password_get_the_same_answer_and_the_same_hashing(client, auth, monkeypatch):
    auth.register()
    auth.logout()
    import engine.accounts.people as people

    calls = []
    real = people.check_password_hash
    monkeypatch.setattr(people, "check_password_hash", lambda h, p: calls.append(h) or real(h, p))
    wrong = auth.login(password="wrongpass1")
    unknown = auth.login(username="nobody_here", password="wrongpass1")
    assert wrong.status_code == unknown.status_code == 401
    assert _flashes(wrong) == _flashes(unknown) == ["用户名或密码错误"]
    assert len(calls) == 2 and calls[1].startswith("pbkdf2:sha256:1000")  # a dummy hash of the same cost


# ---- 5. throttling ------------------------------------------------------------------------------------------
def test_throttle_is_shared_by_workers_through_the_database(make_app, make_auth, tmp_path):
    clock = SimulatedClock(T)
    worker_a = make_app(clock)
    make_auth(worker_a.test_client()).register()
    worker_b = create_app({**worker_a.config, "ZHICHENG_CLOCK": clock})  # a second process, same database
    client_a, client_b = worker_a.test_client(), worker_b.test_client()
    for i in range(6):
        client = client_a if i % 2 else client_b
        assert make_auth(client).login(password="wrongpass1").status_code == 401
    assert make_auth(client_a).login().status_code == 429
    assert make_auth(client_b).login().status_code == 429


def test_password_spraying_from_one_address_is_slowed_across_accounts(make_app, make_auth):
    clock = SimulatedClock(T)
    client = make_app(clock).test_client()
    auth = make_auth(client)
    for i in range(20):  # one guess per account: no account throttle, the address adds up
        assert auth.login(username=f"user{i}", password="Spring2020").status_code == 401
    assert auth.login(username="user20", password="Spring2020").status_code == 401
    assert auth.login(username="user21", password="Spring2020").status_code == 429


def test_anonymous_failures_cannot_keep_the_owner_out_for_long(make_app, make_auth):
    clock = SimulatedClock(T)
    client = make_app(clock).test_client()
    auth = make_auth(client)
    auth.register()
    auth.logout()
    for _ in range(30):  # an attacker hammering the account, waiting out each delay
        auth.login(password="wrongpass1")
        clock.advance(timedelta(minutes=5))
    clock.advance(timedelta(minutes=5))  # the account's delay is capped at 5 minutes
    assert auth.login().status_code == 302


def test_operator_sees_and_clears_throttles(wf):
    anon = wf.app.test_client()
    for _ in range(7):
        html = anon.get("/auth/login").get_data(as_text=True)
        anon.post(
            "/auth/login", data={"username": "unit_a", "password": "wrong", "csrf_token": page_token(html)}
        )
    page = wf.client("operator").get("/admin/throttles").get_data(as_text=True)
    assert "UNIT_A" in page and "账户" in page and "127.0.0.1" in page
    r = wf.post_page(
        "operator", "/admin/throttles/clear", {"key": "account:UNIT_A"}, form_from="/admin/throttles"
    )
    assert r.status_code == 302
    assert "UNIT_A" not in wf.client("operator").get("/admin/throttles").get_data(as_text=True)
    assert wf.client("unit_a").get("/admin/throttles").status_code == 403


def test_proxy_fix_only_when_configured(make_app, make_auth):
    clock = SimulatedClock(T)
    proxied = make_app(clock, ZHICHENG_PROXY_HOPS=1).test_client()
    for i in range(21):
        make_auth(proxied).login(username=f"u{i}", password="x1234567")  # 127.0.0.1 by default
    header = {"X-Forwarded-For": "203.0.113.9"}
    token = re.search(
        r'name="csrf_token"[^>]*value="([^"]+)"', proxied.get("/auth/login").get_data(as_text=True)
    )
    r = proxied.post(
        "/auth/login",
        data={"username": "u99", "password": "x1234567", "csrf_token": token[1]},
        headers=header,
    )
    assert r.status_code == 401  # the real client address, not the proxy's, is throttled
    with make_app(clock).app_context():
        keys = {t.key for t in acc.login_throttles(db.session, clock, actor_id=None)}
    assert "addr:203.0.113.9" in keys


# ---- 9. sessions end for real -------------------------------------------------------------------------------
def test_logout_ends_every_session_of_that_user(app, make_auth):
    phone, laptop = app.test_client(), app.test_client()
    make_auth(phone).register()
    assert make_auth(laptop).login().status_code == 302
    make_auth(phone).logout()
    assert laptop.get("/orgs/").status_code == 302  # sent to the login page


def test_password_change_ends_other_sessions_but_keeps_this_one(app, make_auth):
    phone, laptop = app.test_client(), app.test_client()
    make_auth(phone).register()
    stolen_cookie = phone.get_cookie("session").value
    make_auth(laptop).login()
    r = post_form(
        laptop,
        "/auth/password",
        {"old_password": PW, "new_password": "newpass123", "new_password2": "newpass123"},
    )
    assert r.status_code == 302
    assert laptop.get("/orgs/").status_code == 200
    assert phone.get("/orgs/").status_code == 302
    replay = app.test_client()
    replay.set_cookie("session", stolen_cookie)  # a copied cookie from before the change
    assert replay.get("/orgs/").status_code == 302


def test_admin_reset_ends_the_users_sessions(wf):
    c = wf.client("unit_a")
    assert c.get("/review/").status_code == 200
    r = wf.post_page(
        "operator",
        "/admin/throttles/reset-password",
        {"username": "unit_a", "new_password": "fresh12345"},
        form_from="/admin/throttles",
    )
    assert r.status_code == 302
    assert c.get("/review/").status_code == 302


def test_cli_reset_password_ends_sessions(wf):
    c = wf.client("unit_a")
    from webapp.cli.org import user_cli

    result = wf.app.test_cli_runner().invoke(
        user_cli, ["reset-password", "unit_a", "--password", "fresh12345"]
    )
    assert result.exit_code == 0, result.output
    assert c.get("/review/").status_code == 302


# ---- 11. old password throttled -----------------------------------------------------------------------------
def test_old_password_guessing_is_throttled_like_login(make_app, make_auth):
    clock = SimulatedClock(T)
    client = make_app(clock).test_client()
    make_auth(client).register()
    statuses = [
        post_form(
            client,
            "/auth/password",
            {"old_password": f"guess{i}xx1", "new_password": "newpass123", "new_password2": "newpass123"},
        ).status_code
        for i in range(7)
    ]
    assert statuses[:6] == [422] * 6 and statuses[6] == 429


@pytest.mark.parametrize("target", ["/\\evil.example/", "//evil.example/", "https://evil.example/"])
def test_login_never_redirects_off_site(client, auth, post, target):
    auth.register()
    auth.logout()
    r = post(f"/auth/login?next={target}", {"username": ID_A, "password": PW}, token_from="/auth/login")
    assert r.headers["Location"] == "/"
