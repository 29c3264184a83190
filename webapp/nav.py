"""The left menu in the notice's own words ("我的单位"—"单位注册", "申请书审核" …), built per role.

Badges count to-do work through the desk's one count source (`engine.store.desk`), scoped to the orgs the
person belongs to; the template only renders what this module returns. The work of all those orgs is read once
per request (`tallies`: one grouped read of an index, shared with the desk page that renders the menu), so the
menu costs a bounded number of statements whatever the orgs hold.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import flask
from flask import Flask, request, url_for
from flask_login import current_user

from engine.store import desk, services

from .clock import get_clock
from .extensions import db

# Org types whose members see the statistics dashboard (issue 15).
DASHBOARD_TYPES = ("district_hr_office", "municipal_dept", "committee", "city_hr_office")


@dataclass
class Entry:
    label: str
    href: str
    badge: int | None = None  # a to-do count; None for entries that are not to-do lists
    prefix: bool = False  # also current on pages below `href` (an org's desk and its task pages)
    current: bool = False
    children: list[Entry] = field(default_factory=list)  # an org's stages under its 申请书审核


@dataclass
class Group:
    label: str
    entries: list[Entry] = field(default_factory=list)
    folds: bool = False  # folded unless it holds this page or has work (我的单位: the notice says click it)

    @property
    def todo(self) -> int:
        """The group's to-do total, shown on its heading so a closed group still says there is work."""
        return sum(e.badge or 0 for e in self.entries)

    @property
    def open(self) -> bool:
        """A folding group opens when it holds this page or has work waiting; the others are always open."""
        return (
            not self.folds
            or self.todo > 0
            or any(e.current or any(c.current for c in e.children) for e in self.entries)
        )


def tallies() -> dict[int, desk.Tally]:
    """The work of every active org the logged-in person belongs to, grouped (desk.tallies), read once per
    request: the menu's badges and the desk page's tab counts classify the same read. Kept on `g` with the
    request and person it was read for (an app context may outlive one request, as in tests)."""
    key = (request._get_current_object(), current_user.get_id())
    cached = flask.g.get("desk_tallies")
    if cached is None or cached[0] != key:
        orgs = {m.org_id for m in current_user.memberships if m.org_status == "active"}
        cached = flask.g.desk_tallies = (key, desk.tallies(db.session, orgs))
    return cached[1]


def tally(org_id: int) -> desk.Tally | None:
    """One org's part of `tallies` (None for an org the person is not an active member of)."""
    return tallies().get(org_id)


def _personal(user) -> Group:
    return Group(
        "个人中心",
        [
            Entry("首页", url_for("portal.index")),
            Entry(
                "我的申请书", url_for("apply.index"), desk.applicant_todo(db.session, user.id), prefix=True
            ),
            Entry("修改密码", url_for("auth.change_password")),
            Entry("提醒邮箱", url_for("auth.change_email")),
        ],
    )


def _my_orgs(user) -> Group:
    group = Group(
        "我的单位",
        [Entry("单位信息", url_for("orgs.mine")), Entry("单位注册", url_for("orgs.register"))],
        folds=True,
    )
    administered = user.admin_orgs()
    # the 待确认绑定 badges of every org this person administers (units have no children), one statement
    pending = desk.pending_bindings(db.session, [m.org_id for m in administered if m.org_type != "unit"])
    for m in administered:
        if m.org_type != "unit":
            group.entries.append(
                Entry(
                    f"待确认绑定（{m.org_name}）", url_for("orgs.pending", org_id=m.org_id), pending[m.org_id]
                )
            )
        if m.org_type == "district_hr_office":
            group.entries.append(
                Entry(f"人事代理机构（{m.org_name}）", url_for("orgs.agencies", org_id=m.org_id))
            )
        group.entries.append(Entry(f"人员管理（{m.org_name}）", url_for("orgs.members", org_id=m.org_id)))
        group.entries.append(Entry(f"密码重置（{m.org_name}）", url_for("orgs.passwords", org_id=m.org_id)))
    return group


def _org_centre(user) -> Group | None:
    """单位中心: 申请书审核 for each active org the person belongs to, its badge what the desk lists as 可办理
    at the stages this person may act on (the whole 可办理 count for a reviewer or admin)."""
    group = Group("单位中心")
    seen = set()
    for m in user.memberships:
        if m.org_status != "active" or m.org_id in seen:
            continue
        seen.add(m.org_id)
        # the stages this org acts on with this person's roles, as the deployed BPMN's lanes and task roles
        # say (never a list here); the badge counts only those, so a desk clerk is not shown the reviews' work
        stages = services.org_stages(db.session, m.org_type, user.roles_in(m.org_id))
        per_stage = desk.stage_counts(db.session, get_clock(), m.org_id, tally(m.org_id))
        if stages:
            todo = sum(per_stage.get(stage_id, 0) for stage_id, _ in stages)
        else:  # an org outside the chains of the current processes: the desk's own 可办理 total
            todo = sum(per_stage.values())
        entry = Entry(
            f"申请书审核（{m.org_name}）", url_for("review.inbox", org_id=m.org_id), todo, prefix=True
        )
        if len(stages) > 1:
            entry.children = [
                Entry(
                    label,
                    url_for("review.inbox", org_id=m.org_id, stage=stage_id),
                    per_stage.get(stage_id, 0),
                )
                for stage_id, label in stages
            ]
        group.entries.append(entry)
    if any(m.org_type in DASHBOARD_TYPES for m in user.memberships):
        group.entries.append(Entry("统计分析", url_for("dashboard.index"), prefix=True))
    return group if group.entries else None


def _system(user, sandbox: bool) -> Group | None:
    entries = []
    if user.is_operator:
        entries += [Entry("部署流程", url_for("admin.deploy")), Entry("登录安全", url_for("admin.throttles"))]
        if sandbox:
            entries.append(Entry("模拟时钟", url_for("admin.clock")))
    if user.is_auditor or user.is_operator:
        entries.append(Entry("审计", url_for("audit.search"), prefix=True))
    return Group("系统管理", entries) if entries else None


def menu(sandbox: bool = False) -> list[Group]:
    """The menu for whoever is logged in (or the public one), with the entry for this page marked current."""
    if not current_user.is_authenticated:
        groups = [
            Group(
                "个人用户",
                [
                    Entry("首页", url_for("portal.index")),
                    Entry("登录", url_for("auth.login")),
                    Entry("个人注册", url_for("auth.register")),
                ],
            )
        ]
    elif current_user.must_change_password:  # nothing else is reachable until a new password is set
        groups = [Group("个人中心", [Entry("修改密码", url_for("auth.change_password"))])]
    else:
        groups = [
            g
            for g in (
                _personal(current_user),
                _my_orgs(current_user),
                _org_centre(current_user),
                _system(current_user, sandbox),
            )
            if g is not None
        ]
    _mark_current(groups, request.path, request.args.get("stage", ""))
    return groups


def _mark_current(groups: list[Group], path: str, stage: str) -> None:
    """aria-current on one entry: the exact page (a stage entry when the desk shows one stage), else the
    longest entry whose pages contain this one."""
    best, best_len = None, -1
    for entry in (e for g in groups for e in g.entries):
        for child in entry.children:
            if stage and child.href == f"{path}?stage={stage}":
                child.current = True
                return
        if entry.href == path or (entry.prefix and path.startswith(entry.href) and entry.href != "/"):
            if len(entry.href) > best_len:
                best, best_len = entry, len(entry.href)
    if best is not None:
        best.current = True


def init_app(app: Flask) -> None:
    @app.context_processor
    def nav_menu():
        # Computed lazily: pages that never render the menu (errors before login, CSV) pay nothing.
        return {"nav_menu": lambda: menu(app.config.get("ZHICHENG_SANDBOX", False))}
