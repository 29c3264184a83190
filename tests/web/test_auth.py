"""Personal accounts through the web: register, login with throttling, logout, password, CSRF."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from engine.clock import SimulatedClock

ID_A, ID_B, PW = "50011619800101123X", "500116198505052342", "secret123"


def test_register_logs_in_and_shows_name(client, auth):
    response = auth.register()
    assert response.status_code == 302
    page = client.get("/").get_data(as_text=True)
    assert "张三" in page and "注册成功" in page and "退出" in page


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"id_number": "500116198001011231"}, "身份证号码：校验位不正确"),
        ({"password": "abcdefgh"}, "密码：须同时包含字母和数字"),
        ({"password": "short1"}, "密码：至少8位"),
        ({"mobile": "23800138000"}, "手机号码："),
        ({"password2": "different1"}, "确认密码：两次输入的密码不一致"),
    ],
)
def test_register_refusals_shown_beside_the_field(auth, kwargs, message):
    response = auth.register(**kwargs)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)


def test_duplicate_id_number_refused(client, auth):
    auth.register()
    auth.logout()
    response = auth.register(real_name="李四")
    assert response.status_code == 422
    assert "身份证号码：该身份证号码已注册" in response.get_data(as_text=True)


def test_post_without_csrf_token_refused_with_chinese_message(client):
    response = client.post(
        "/auth/register",
        data={
            "real_name": "张三",
            "id_number": ID_A,
            "mobile": "13800138000",
            "password": PW,
            "password2": PW,
        },
    )
    assert response.status_code == 400
    assert "安全令牌（CSRF）" in response.get_data(as_text=True)
    client.get("/auth/register")  # a session exists now; a wrong token is refused too
    response = client.post("/auth/login", data={"username": ID_A, "password": PW, "csrf_token": "forged"})
    assert response.status_code == 400


def test_login_logout_and_wrong_password(client, auth):
    auth.register()
    auth.logout()
    assert "登录" in client.get("/").get_data(as_text=True)
    response = auth.login(password="wrongpass1")
    assert response.status_code == 401
    assert "用户名或密码错误" in response.get_data(as_text=True)
    assert auth.login().status_code == 302
    assert "张三" in client.get("/").get_data(as_text=True)


def test_login_redirect_ignores_foreign_next(client, auth, post):
    auth.register()
    auth.logout()
    response = post(
        "/auth/login?next=https://evil.example/", {"username": ID_A, "password": PW}, token_from="/auth/login"
    )
    assert response.headers["Location"] == "/"


def test_login_failures_slow_down_on_the_engine_clock_but_never_lock(make_app, make_auth):
    clock = SimulatedClock(datetime(2020, 10, 21, 2, 0, tzinfo=UTC))
    client = make_app(clock).test_client()
    auth = make_auth(client)
    auth.register()
    auth.logout()
    for _ in range(6):
        assert auth.login(password="wrongpass1").status_code == 401
    throttled = auth.login()
    assert throttled.status_code == 429  # even the right password waits
    assert "登录尝试过于频繁，请 1 秒后再试" in throttled.get_data(as_text=True)
    clock.advance(timedelta(seconds=1))
    assert auth.login().status_code == 302


def test_change_password(client, auth, post):
    auth.register()
    bad = post(
        "/auth/password",
        {"old_password": "nope12345", "new_password": "newpass123", "new_password2": "newpass123"},
    )
    assert bad.status_code == 422 and "原密码：不正确" in bad.get_data(as_text=True)
    ok = post(
        "/auth/password", {"old_password": PW, "new_password": "newpass123", "new_password2": "newpass123"}
    )
    assert ok.status_code == 302
    auth.logout()
    assert auth.login(password=PW).status_code == 401
    assert auth.login(password="newpass123").status_code == 302


def test_pages_need_login(client):
    response = client.get("/orgs/")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


def test_sandbox_banner_shows_simulated_time(make_app):
    client = make_app(ZHICHENG_SANDBOX=True).test_client()
    assert "当前为演示环境，系统时钟为模拟时钟：2020-10-21 10:00" in client.get("/").get_data(as_text=True)


def test_portal_shows_notice_windows_and_contacts(client):
    page = client.get("/").get_data(as_text=True)
    for text in (
        "渝职改办〔2020〕200号",
        "津职改办〔2020〕166号",
        "2020-12-04（24:00 截止）",
        "023-81803696",
        "47536971",
    ):
        assert text in page


def test_portal_survives_missing_campaign(make_app, tmp_path):
    client = make_app(ZHICHENG_CAMPAIGN_FILE=str(tmp_path / "none.toml")).test_client()
    response = client.get("/")
    assert response.status_code == 200 and "尚未发布" in response.get_data(as_text=True)


def test_register_form_has_labels_and_token(client):
    html = client.get("/auth/register").get_data(as_text=True)
    for name in ("real_name", "id_number", "mobile", "password", "password2"):
        assert f'<label for="{name}"' in html
    assert 'name="csrf_token"' in html


def test_unknown_page_is_chinese_404(client):
    response = client.get("/nowhere")
    assert response.status_code == 404 and "页面不存在" in response.get_data(as_text=True)


def test_second_user_id(auth):
    assert auth.register(id_number=ID_B, real_name="王五").status_code == 302


def test_reminder_email_set_shown_and_cleared_by_its_owner(client, auth, app):
    from engine.accounts.models import User
    from tests.web.conftest import post_form
    from webapp.extensions import db

    auth.register()
    assert "提醒邮箱" in client.get("/").get_data(as_text=True)
    response = post_form(client, "/auth/email", {"email": " zhang.san@example.cn "})
    assert response.status_code == 302
    assert 'value="zhang.san@example.cn"' in client.get("/auth/email").get_data(as_text=True)
    with app.app_context():
        assert db.session.query(User.email).filter_by(username=ID_A).scalar() == "zhang.san@example.cn"
    post_form(client, "/auth/email", {"email": ""})
    with app.app_context():
        assert db.session.query(User.email).filter_by(username=ID_A).scalar() is None


@pytest.mark.parametrize(
    "bad", ["no-at-sign", "a@b", "two@@example.cn", "sp ace@example.cn", "x" * 65 + "@e.cn"]
)
def test_reminder_email_refused_beside_the_field_and_kept(client, auth, app, bad):
    from engine.accounts.models import User
    from tests.web.conftest import post_form
    from webapp.extensions import db

    auth.register()
    post_form(client, "/auth/email", {"email": "ok@example.cn"})
    response = post_form(client, "/auth/email", {"email": bad})
    assert response.status_code == 422
    assert "电子邮箱：格式不正确" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.query(User.email).filter_by(username=ID_A).scalar() == "ok@example.cn"


def test_reminder_email_page_needs_a_login_and_a_csrf_token(client, auth):
    assert client.get("/auth/email").status_code == 302  # to the login page
    auth.register()
    assert client.post("/auth/email", data={"email": "x@example.cn"}).status_code == 400
