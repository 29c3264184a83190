"""The registration window on the pages: the home page and both register pages agree; outside it, refused."""

from __future__ import annotations

from datetime import datetime

from workflow_fixtures import PW, page_token

from calendars import TZ
from engine.accounts.models import Org, User
from engine.clock import FixedClock
from engine.deployment import read_sources
from engine.paths import bpmn_dir
from engine.store import services
from webapp.extensions import db

ID_A = "50011619800101123X"
CLOSED = "用户注册已于2020年11月16日（24:00）截止"


def post_form(client, path: str, data: dict, *, token_from: str):
    token = page_token(client.get(token_from).get_data(as_text=True))
    return client.post(path, data={**data, "csrf_token": token})


def _state(html: str) -> str:
    return (
        "open"
        if 'data-registration="open"' in html
        else "closed"
        if 'data-registration="closed"' in html
        else ""
    )


def test_open_window_home_and_register_pages_agree(client):
    home, page = client.get("/").get_data(as_text=True), client.get("/auth/register").get_data(as_text=True)
    assert _state(home) == _state(page) == "open"
    assert (
        "用户注册开放中，2020年11月16日（24:00）截止" in home
        and "用户注册时间：2020年10月20日至11月16日" in page
    )
    assert 'id="id_number"' in page


def test_after_the_window_every_page_says_closed_and_registration_is_refused(make_app):
    app = make_app(clock=FixedClock(datetime(2020, 11, 17, 0, 0, tzinfo=TZ)))
    client = app.test_client()
    home, page = client.get("/").get_data(as_text=True), client.get("/auth/register").get_data(as_text=True)
    assert _state(home) == _state(page) == "closed"
    assert CLOSED in home and CLOSED in page
    assert 'id="id_number"' not in page and "个人注册</a> " not in home  # no form, no button to a dead end
    person = {
        "real_name": "张三",
        "id_number": ID_A,
        "mobile": "13800138000",
        "password": PW,
        "password2": PW,
    }
    r = post_form(client, "/auth/register", person, token_from="/auth/login")
    assert r.status_code == 409 and "现在不能注册：" + CLOSED in r.get_data(as_text=True)
    with app.app_context():
        assert db.session.query(User).count() == 0


def test_org_registration_shares_the_window(make_app, tree, login_as):
    # `tree` filled the test database; a second app on that file runs after the window
    app = make_app(clock=FixedClock(datetime(2020, 11, 20, 10, tzinfo=TZ)))
    client = app.test_client()
    login_as(client, "jj_office")
    page = client.get("/orgs/register").get_data(as_text=True)
    assert _state(page) == "closed" and 'id="credit_code"' not in page
    r = post_form(client, "/orgs/register", {"org_type": "unit", "name": "某单位"}, token_from="/auth/email")
    assert r.status_code == 409 and "现在不能注册" in r.get_data(as_text=True)
    with app.app_context():
        assert db.session.query(Org).filter_by(name="某单位").count() == 0


def test_several_deployed_campaigns_take_the_union_and_list_each(make_app):
    clock = FixedClock(datetime(2020, 11, 12, 10, tzinfo=TZ))  # the pilot's window closed, the 2020 one open
    app = make_app(clock=clock)
    example = bpmn_dir() / "scenarios" / "expert_precheck"
    sources = read_sources(example, example / "campaigns" / "cq-2020-expert-pilot.toml")
    name = next(n for n in sources if n.startswith("campaigns/"))
    sources[name] = sources[name].replace(
        "opens = 2020-10-20\ncloses = 2020-11-16", "opens = 2020-10-25\ncloses = 2020-11-10", 1
    )
    assert "closes = 2020-11-10" in sources[name]
    with app.app_context():
        services.deploy(db.session, clock, read_sources())
        # the pilot's new-tier lane (orgType city_hr_office) needs an active city office before it deploys
        db.session.add(Org(type="city_hr_office", name="市职改办", status="active", created_at=clock.now()))
        db.session.flush()
        services.deploy(db.session, clock, sources)
        db.session.commit()
    client = app.test_client()
    home, page = client.get("/").get_data(as_text=True), client.get("/auth/register").get_data(as_text=True)
    assert _state(home) == _state(page) == "open"
    assert "2020年11月16日（24:00）截止" in page and "各申报批次的用户注册时间" in page
    assert "2020年10月20日至11月16日" in page and "2020年10月25日至11月10日" in page
