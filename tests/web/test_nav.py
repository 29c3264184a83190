"""The left menu in the notice's words: entries per role, badges from the desk's counts, aria-current."""

from __future__ import annotations

import re

from workflow_fixtures import UPLOADS, page_token

from engine.store import desk
from webapp.extensions import db

CODE_A = "91500116MA5U000008"  # a valid GB 32100 credit code (as in conftest; importing conftest is fragile)


def _menu(html: str) -> str:
    match = re.search(r'<nav class="side-nav" aria-label="功能菜单">(.*?)</nav>', html, re.S)
    assert match, "no side menu on the page"
    return match.group(1)


def _badge(menu: str, label: str) -> int:
    match = re.search(re.escape(label) + r'<span class="badge[^"]*" data-count="(\d+)">', menu)
    assert match, f"no badge on {label}"
    return int(match.group(1))


def _entries(menu: str) -> list[str]:
    return [re.sub(r"<.*", "", a).strip() for a in re.findall(r"<a [^>]*>([^<]*)", menu)]


def test_public_menu_offers_login_and_personal_registration(client):
    menu = _menu(client.get("/").get_data(as_text=True))
    assert _entries(menu) == ["首页", "登录", "个人注册"]
    assert 'href="/" aria-current="page"' in menu


def test_menu_follows_the_notice_my_org_then_org_registration(auth, client):
    auth.register()
    menu = _menu(client.get("/orgs/register").get_data(as_text=True))
    assert "我的单位" in menu
    entries = _entries(menu)
    assert entries.index("单位信息") + 1 == entries.index("单位注册")
    assert re.search(r'href="/orgs/register" aria-current="page"', menu)
    assert menu.count('aria-current="page"') == 1
    assert "单位中心" not in menu and "系统管理" not in menu  # a plain applicant reviews nothing


def test_pending_binding_badge_counts_the_registrations_waiting(auth, client, tree, login_as, app):
    auth.register()
    data = {
        "org_type": "district_dept",
        "name": "江津区经信委",
        "credit_code": CODE_A,
        "parent_id": str(tree["office"]),
        "district": "江津区",
        "contact_person": "张三",
        "contact_phone": "023-47500000",
    }
    html = client.get("/orgs/register").get_data(as_text=True)
    with open(UPLOADS / "certificate.pdf", "rb") as f:
        r = client.post(
            "/orgs/register",
            data={**data, "csrf_token": page_token(html), "certificate": (f, "cert.pdf")},
            content_type="multipart/form-data",
        )
    assert r.status_code == 302, r.get_data(as_text=True)
    office = app.test_client()
    login_as(office, "jj_office")
    menu = _menu(office.get("/").get_data(as_text=True))
    assert _badge(menu, "待确认绑定（江津区职改办）") == 1
    assert "（1件待办）" in menu  # what a screen reader reads after the entry's name
    other = app.test_client()
    login_as(other, "yb_office")  # another district's office has nothing waiting
    assert _badge(_menu(other.get("/").get_data(as_text=True)), "待确认绑定（渝北区职改办）") == 0


def test_review_badges_match_the_desk_and_stay_in_the_users_orgs(wf):
    for who in ("applicant", "applicant2"):
        app_id = wf.start(who)
        assert wf.submit(app_id, who).status_code == 302
    unit_a = wf.orgs["unit_a"]
    html = wf.client("unit_a").get(f"/review/{unit_a}/").get_data(as_text=True)
    menu = _menu(html)
    with wf.app.app_context():
        expected = desk.counts(db.session, wf.clock, unit_a)["actionable"]
    assert expected == 2
    assert _badge(menu, "申请书审核（江津建设公司）") == expected
    assert re.search(rf'href="/review/{unit_a}/" aria-current="page"', menu)
    assert "江津水务公司" not in menu
    other = _menu(wf.client("unit_b").get("/").get_data(as_text=True))
    assert _badge(other, "申请书审核（江津水务公司）") == 0 and "江津建设公司" not in other


def test_applicant_badge_counts_drafts_waiting_on_them(wf):
    wf.start("applicant")
    menu = _menu(wf.client("applicant").get("/").get_data(as_text=True))
    assert _badge(menu, "我的申请书") == 1
    assert _badge(_menu(wf.client("applicant2").get("/").get_data(as_text=True)), "我的申请书") == 0


def test_operator_menu_and_no_inline_script_or_style(wf):
    html = wf.client("operator").get("/").get_data(as_text=True)
    entries = _entries(_menu(html))
    assert {"部署流程", "登录安全", "审计"} <= set(entries)
    assert "<script>" not in html and " style=" not in html and "<style" not in html


def test_stage_entries_come_from_the_bpmn_lanes_with_their_own_counts(wf):
    for who in ("applicant", "applicant2"):
        app_id = wf.start(who)
        assert wf.submit(app_id, who).status_code == 302
    unit_a = wf.orgs["unit_a"]
    c = wf.client("unit_a")
    menu = _menu(c.get("/").get_data(as_text=True))
    stages = re.search(r'<ul class="nav-stages">(.*?)</ul>', menu, re.S).group(1)
    assert _entries(stages) == ["单位审核", "上报主管部门"]  # the unit lane's tasks, in process order
    assert _badge(stages, "单位审核") == 2 and _badge(stages, "上报主管部门") == 0
    page = c.get(f"/review/{unit_a}/?stage=unit_report").get_data(as_text=True)
    assert "没有符合查找条件的申请书" in page and "仅显示「上报主管部门」环节" in page
    assert re.search(rf'href="/review/{unit_a}/\?stage=unit_report" aria-current="page"', _menu(page))
    assert "共 2 份" in c.get(f"/review/{unit_a}/?stage=unit_review").get_data(as_text=True)
    # a committee reviewer acts on one stage only: no sub-entries; the desk staff sees none of the reviews'
    assert "nav-stages" not in _menu(wf.client("committee").get("/").get_data(as_text=True))


def _statements(app, client, path: str) -> list[str]:
    """The SQL statements one GET of `path` runs (a SQLAlchemy event listener on the app's engine)."""
    from sqlalchemy import event

    seen: list[str] = []

    def record(conn, cursor, statement, *args):
        seen.append(" ".join(statement.split()))

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        assert client.get(path).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return seen


def test_menu_badges_read_the_work_once_per_page_whatever_the_orgs(wf):
    """The badges of every org a person belongs to come from one grouped read of work_item, shared with the
    desk page's tab counts: a bounded number of statements, not a COUNT per org, stage or view."""
    from engine.accounts.models import Membership

    for who in ("applicant", "applicant2"):
        app_id = wf.start(who)
        assert wf.submit(app_id, who).status_code == 302
    unit_a = wf.orgs["unit_a"]
    c = wf.client("unit_a")
    reads = [s for s in _statements(wf.app, c, "/") if "FROM work_item" in s]
    assert len(reads) == 1 and "GROUP BY" in reads[0], reads
    with wf.app.app_context():  # the same person in every org of the chain: still one read of the work
        user_id = db.session.scalar(db.select(Membership.user_id).where(Membership.org_id == unit_a).limit(1))
        mine = set(db.session.scalars(db.select(Membership.org_id).where(Membership.user_id == user_id)))
        for org in set(wf.orgs.values()) - mine:
            db.session.add(Membership(user_id=user_id, org_id=org, role="reviewer"))
        db.session.commit()
    c = wf.client("unit_a")
    home = _statements(wf.app, c, "/")
    assert len([s for s in home if "FROM work_item" in s]) == 1
    menu = _menu(c.get("/").get_data(as_text=True))
    assert _badge(menu, "申请书审核（江津建设公司）") == 2
    desk_page = _statements(wf.app, c, f"/review/{unit_a}/")
    grouped = [s for s in desk_page if "FROM work_item" in s and "GROUP BY" in s]
    assert len(grouped) == 1, grouped  # the desk's tab counts reuse the menu's read
    assert len(desk_page) <= len(home) + 12, desk_page  # the page itself: a few statements, not one per row


def test_pending_binding_badges_are_one_statement_whatever_the_orgs_administered(wf):
    """An admin of several orgs gets each one's 待确认绑定 badge from one grouped count, not three statements
    per org; the counts are each org's own pending registrations."""
    from engine.accounts.models import Membership, Org

    unit_a = wf.orgs["unit_a"]
    with wf.app.app_context():
        user_id = db.session.scalar(db.select(Membership.user_id).where(Membership.org_id == unit_a).limit(1))
        for name in ("committee", "office", "dept"):
            db.session.add(Membership(user_id=user_id, org_id=wf.orgs[name], role="admin"))
        template = db.session.get(Org, wf.orgs["unit_b"])  # a registration's timestamps
        for n, parent in enumerate((wf.orgs["dept"], wf.orgs["dept"], wf.orgs["office"])):
            db.session.add(
                Org(
                    type="unit",
                    name=f"待确认单位{n}",
                    parent_id=parent,
                    status="pending",
                    created_at=template.created_at,
                )
            )
        db.session.commit()
    c = wf.client("unit_a")
    seen = _statements(wf.app, c, "/")
    pending = [s for s in seen if "FROM org" in s and "org.status" in s and "GROUP BY org.parent_id" in s]
    assert len(pending) == 1, pending
    assert not [s for s in seen if "FROM org WHERE org.parent_id =" in s], "a pending count per org"
    menu = _menu(c.get("/").get_data(as_text=True))
    assert _badge(menu, "待确认绑定（江津区住建委）") == 2
    assert _badge(menu, "待确认绑定（江津区职改办）") == 1
    assert _badge(menu, "待确认绑定（工程系列评委会）") == 0
