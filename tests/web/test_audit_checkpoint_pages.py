"""Auditor pages for checkpoints, the public key and printouts; the printed forms carry the verification code."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from calendars import TZ
from engine.accounts.models import Org, User
from engine.audit import signing
from engine.audit.checkpoints import make_checkpoint
from engine.clock import SimulatedClock
from engine.demo import DEMO_PASSWORD, seed_demo
from engine.deployment import read_sources
from engine.store import queries, services
from webapp.extensions import db

DECLARATION = yaml.safe_load(
    (Path(__file__).resolve().parents[2] / "bpmn/scenarios/data/declaration.yaml").read_text(encoding="utf-8")
)
APPROVE = {"decision": "approve", "opinion": "经审核符合申报条件，同意推荐。"}


@pytest.fixture
def world(make_app, tmp_path):
    """The demo world, one application approved by its unit (in public notice), one checkpoint signed."""
    private, public, _ = signing.generate_keypair(tmp_path / "keys" / "audit.pem")
    clock = SimulatedClock(datetime(2020, 11, 17, 9, tzinfo=TZ))
    app = make_app(
        clock=clock, AUDIT_KEY_PATH=str(tmp_path / "absent.pem"), AUDIT_PUBLIC_KEY_PATH=str(public)
    )
    with app.app_context():
        s = db.session
        services.deploy(s, clock, read_sources())
        seed_demo(s, clock)
        s.commit()
        users = dict(s.execute(select(User.username, User.id)).all())
        applicant = next(uid for name, uid in users.items() if name.startswith("500116"))
        unit = s.scalar(select(Org.id).where(Org.name == "重庆市江津区建设工程有限公司"))
        app_id = services.start_application(s, clock, applicant, unit)
        clock.set(datetime(2020, 11, 18, 10, tzinfo=TZ))
        services.complete_task(
            s, clock, app_id, "applicant_submit", queries.actor_for(s, applicant), dict(DECLARATION)
        )
        make_checkpoint(s, clock, signing.load_private_key(private))
        clock.set(datetime(2020, 11, 19, 10, tzinfo=TZ))
        services.complete_task(
            s, clock, app_id, "unit_review", queries.actor_for(s, users["unit_a_admin"]), dict(APPROVE)
        )
    return app, app_id, unit, public


def _login(client, username):
    html = client.get("/auth/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)
    client.post("/auth/login", data={"username": username, "password": DEMO_PASSWORD, "csrf_token": token})
    return client


def test_checkpoint_page_shows_the_latest_checkpoint_and_offers_the_public_key(world):
    app, app_id, _, public = world
    client = _login(app.test_client(), "auditor")
    page = client.get("/audit/checkpoints").get_data(as_text=True)
    assert "第 1 号" in page and "签名有效" in page and "2 项" in page and "下载审计公钥" in page
    assert "其余 1 条将在下一个检查点登记" in page
    key = client.get("/audit/public-key.pem")
    assert key.status_code == 200 and key.data == public.read_bytes()
    search = client.get("/audit/").get_data(as_text=True)
    assert "覆盖至第 2 条（另有 1 条待下次检查点）" in search
    verify = client.get(f"/audit/applications/{app_id}/verify").get_data(as_text=True)
    assert "第 1 号检查点已登记本申请书的前 2 条记录" in verify and "签名已用审计公钥核验" in verify


def test_printed_notice_form_carries_a_code_the_auditor_page_checks(world):
    app, app_id, unit, _ = world
    unit_client = _login(app.test_client(), "unit_a_admin")
    sheet = unit_client.get(f"/review/{unit}/app/{app_id}/print/notice_form").get_data(as_text=True)
    code = re.search(r'class="code">([^<]+)<', sheet).group(1)
    assert code.startswith(f"{app_id}-") and "<svg" in sheet and "核验码" in sheet
    auditor = _login(app.test_client(), "auditor")
    page = auditor.get(f"/audit/prints?code={code}").get_data(as_text=True)
    assert "一致：打印件与申请书" in page and "当前记录一致" in page
    with app.app_context():
        clock = app.config["ZHICHENG_CLOCK"]
        clock.set(datetime(2020, 11, 28, 9, tzinfo=TZ))
        from sqlalchemy.orm import sessionmaker

        from engine.store.worker import tick

        tick(sessionmaker(db.engine), clock)
    page = auditor.get(f"/audit/prints?code={code}").get_data(as_text=True)
    assert "此后又有 1 条记录" in page and "定时器触发" in page
    page = auditor.get(f"/audit/prints?code={app_id}-0000000000").get_data(as_text=True)
    assert "不一致" in page
    page = auditor.get("/audit/prints?code=abc").get_data(as_text=True)
    assert "核验码格式" in page and 'aria-invalid="true"' in page


def test_who_may_not_use_the_checkpoint_pages(world):
    app, app_id, _, _ = world
    for name in ("unit_a_admin", "500116197503100019"):
        client = _login(app.test_client(), name)
        for path in (
            "/audit/checkpoints",
            "/audit/public-key.pem",
            f"/audit/prints?code={app_id}-0000000000",
        ):
            assert client.get(path).status_code == 403, (name, path)
    anonymous = app.test_client()
    assert anonymous.get("/audit/checkpoints").status_code in (302, 401)


def test_without_a_configured_key_the_pages_say_signatures_are_unchecked(make_app, tmp_path):
    app = make_app(AUDIT_PUBLIC_KEY_PATH=str(tmp_path / "none.pem"))
    with app.app_context():
        seed_demo(db.session, app.config["ZHICHENG_CLOCK"])
        db.session.commit()
    client = _login(app.test_client(), "auditor")
    page = client.get("/audit/checkpoints").get_data(as_text=True)
    assert "尚未配置审计公钥" in page and "下载审计公钥" not in page
    assert client.get("/audit/public-key.pem").status_code == 404
