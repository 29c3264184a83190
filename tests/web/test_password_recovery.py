"""Password recovery through an admin (no e-mail, no SMS): who may reset whom, the one-time password shown
once, the forced change at the next login, sessions ended, the reset log, throttling and CSRF."""

from __future__ import annotations

import re

import pytest
from workflow_fixtures import PW, page_token

from engine.accounts import recovery
from engine.accounts.models import Membership, Org, PasswordReset, User
from webapp.extensions import db


def _ids(wf, *names):
    with wf.app.app_context():
        return [db.session.query(User.id).filter_by(username=n).scalar() for n in names]


def _add(wf, username, real_name, org_key, role, org_id=None):
    """Another staff account in an org of the world (admins for the tiers below the office)."""
    from engine.accounts import services as acc

    with wf.app.app_context():
        profile = acc.create_staff_user(
            db.session, wf.clock, username=username, real_name=real_name, password=PW
        )
        db.session.add(Membership(user_id=profile.id, org_id=org_id or wf.orgs[org_key], role=role))
        db.session.commit()
        return profile.id


@pytest.fixture
def world(wf):
    """wf plus admins: 单位甲 (unit_a_admin), 住建委 (dept_admin), and a second district's office and unit."""
    _add(wf, "unit_a_admin", "单位甲管理员", "unit_a", "admin")
    _add(wf, "unit_b_admin", "单位乙管理员", "unit_b", "admin")
    _add(wf, "dept_admin", "住建委管理员", "dept", "admin")
    with wf.app.app_context():
        s = db.session
        other_office = Org(
            type="district_hr_office",
            name="渝北区职改办",
            parent_id=wf.orgs["committee"],
            status="active",
            district="渝北区",
            created_at=wf.clock.now(),
        )
        s.add(other_office)
        s.flush()
        wf.orgs["other_office"] = other_office.id
        s.commit()
    _add(wf, "yb_office", "渝北职改办管理员", "other_office", "admin")
    return wf


def _reset(wf, actor, org_key, target_id):
    org_id = wf.orgs[org_key]
    return wf.post_page(
        actor, f"/orgs/{org_id}/passwords/{target_id}", {}, form_from=f"/orgs/{org_id}/passwords"
    )


def _one_time(html: str) -> str:
    match = re.search(r'<code class="password">([^<]+)</code>', html)
    assert match, "no one-time password on the page"
    return match.group(1)


def _login(wf, username, password):
    c = wf.app.test_client()
    token = page_token(c.get("/auth/login").get_data(as_text=True))
    r = c.post("/auth/login", data={"username": username, "password": password, "csrf_token": token})
    return c, r


def test_org_admin_resets_a_reviewer_who_must_change_it_before_anything_else(world):
    wf = world
    (reviewer,) = _ids(wf, "unit_a")
    old_session = wf.client("unit_a")
    assert old_session.get("/review/").status_code == 200
    r = _reset(wf, "unit_a_admin", "unit_a", reviewer)
    assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store"
    password = _one_time(r.get_data(as_text=True))
    assert len(password) == 12
    with wf.app.app_context():
        user = db.session.get(User, reviewer)
        assert password not in user.password_hash and user.must_change_password
        log = db.session.query(PasswordReset).filter_by(user_id=reviewer).one()
        assert log.org_id == wf.orgs["unit_a"]
    # the person's sessions ended; the old password no longer works; the one-time one does, once changed
    assert old_session.get("/review/").status_code == 302
    assert _login(wf, "unit_a", PW)[1].status_code == 401
    c, r = _login(wf, "unit_a", password)
    assert r.status_code == 302
    for path in ("/review/", "/apply/", "/orgs/", "/"):
        r = c.get(path)
        assert r.status_code == 302 and r.headers["Location"].endswith("/auth/password"), path
    page = c.get("/auth/password").get_data(as_text=True)
    assert "您的密码已由管理员重置" in page and "申请书审核" not in page  # the menu offers nothing else
    token = page_token(page)
    same = {
        "old_password": password,
        "new_password": password,
        "new_password2": password,
        "csrf_token": token,
    }
    assert c.post("/auth/password", data=same).status_code == 422
    fresh = {**same, "new_password": "newpass2021", "new_password2": "newpass2021"}
    assert c.post("/auth/password", data=fresh).status_code == 302
    assert c.get("/review/").status_code == 200
    # the reset shows once: the log lists it, the admin's page does not repeat the password
    again = wf.client("unit_a_admin").get(f"/orgs/{wf.orgs['unit_a']}/passwords").get_data(as_text=True)
    assert password not in again and "单位甲审核员" in again and "密码重置记录" in again


def test_unit_admin_resets_an_applicant_who_declared_through_the_unit(world):
    wf = world
    wf.start("applicant", unit="unit_a")
    (applicant,) = _ids(wf, "applicant")
    page = wf.client("unit_a_admin").get(f"/orgs/{wf.orgs['unit_a']}/passwords").get_data(as_text=True)
    assert "申报人" in page and "张三" in page
    assert _reset(wf, "unit_a_admin", "unit_a", applicant).status_code == 200
    assert _reset(wf, "unit_b_admin", "unit_b", applicant).status_code == 403  # declared through another unit


def test_district_office_resets_admins_of_its_orgs_and_the_operator_resets_the_office(world):
    wf = world
    unit_admin, dept_admin, office_admin = _ids(wf, "unit_a_admin", "dept_admin", "office")
    assert _reset(wf, "office", "office", unit_admin).status_code == 200
    assert _reset(wf, "office", "office", dept_admin).status_code == 200
    r = wf.post_page(
        "operator",
        "/admin/throttles/one-time-password",
        {"username": "office"},
        form_from="/admin/throttles",
    )
    assert r.status_code == 200 and _one_time(r.get_data(as_text=True))
    log = wf.client("operator").get("/admin/throttles").get_data(as_text=True)
    assert log.count("<td>系统管理员</td>") == 1 and "住建委管理员" in log


@pytest.mark.parametrize(
    ("actor", "org_key", "target", "why"),
    [
        ("unit_b_admin", "unit_b", "unit_a", "another org's admin"),
        ("unit_a", "unit_a", "unit_a2", "a reviewer is no admin"),
        ("applicant", "unit_a", "unit_a", "an applicant is no admin"),
        ("yb_office", "other_office", "dept_admin", "another district's office"),
        ("unit_a_admin", "unit_a", "dept_admin", "a unit admin cannot reach its department's admin"),
        ("dept_admin", "dept", "office", "nobody resets the office above them"),
        ("unit_a_admin", "unit_a", "unit_a_admin", "nobody resets themselves this way"),
        ("office", "office", "operator", "only the operator resets the operator"),
    ],
)
def test_who_may_not_reset_whom(world, actor, org_key, target, why):
    wf = world
    (target_id,) = _ids(wf, target)
    r = _reset(wf, actor, org_key, target_id)
    assert r.status_code in (403, 404), why
    with wf.app.app_context():
        assert db.session.query(PasswordReset).count() == 0, why
        assert not db.session.get(User, target_id).must_change_password
        actor_id = db.session.query(User.id).filter_by(username=actor).scalar()
        with pytest.raises(Exception, match="无权|不能为自己"):  # the engine refuses too, whatever the route
            recovery.authority(db.session, actor_id, target_id)


def test_an_applicant_who_administers_an_org_is_not_reset_by_the_unit_they_declared_through(world):
    wf = world
    wf.start("applicant", unit="unit_a")
    (applicant,) = _ids(wf, "applicant")
    with wf.app.app_context():
        db.session.add(Membership(user_id=applicant, org_id=wf.orgs["unit_b"], role="admin"))
        db.session.commit()
    assert _reset(wf, "unit_a_admin", "unit_a", applicant).status_code == 403
    assert _reset(wf, "office", "office", applicant).status_code == 200  # the office above unit B may


def test_resets_need_csrf_and_are_throttled_per_admin(world, monkeypatch):
    wf = world
    (reviewer,) = _ids(wf, "unit_a")
    c = wf.client("unit_a_admin")
    r = c.post(f"/orgs/{wf.orgs['unit_a']}/passwords/{reviewer}", data={})
    assert r.status_code == 400
    monkeypatch.setattr(recovery, "RESETS_PER_HOUR", 2)
    statuses = [_reset(wf, "unit_a_admin", "unit_a", reviewer).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]


def test_duplicate_id_message_points_to_recovery(client, auth):
    auth.register()
    auth.logout()
    html = auth.register(real_name="李四").get_data(as_text=True)
    assert "忘记密码请找所在单位管理员重置" in html
    page = client.get("/auth/login").get_data(as_text=True)
    assert 'href="/auth/forgot"' in page
    forgot = client.get("/auth/forgot").get_data(as_text=True)
    assert "区县人事（职改）部门" in forgot and "一次性密码" in forgot
