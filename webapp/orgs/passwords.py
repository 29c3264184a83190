"""密码重置 for an org's admin: issue a one-time password to a person under this org; see what was reset.

The engine decides who may be reset (engine.accounts.recovery); the page lists exactly those people and shows
a one-time password once, in the response to the POST (never stored, never in a redirect or a flash).
"""

from __future__ import annotations

from flask import abort, flash, render_template
from flask_login import current_user, login_required

from engine.accounts import services as acc
from engine.errors import NotPermitted

from ..clock import get_clock
from ..extensions import db
from . import bp


def _page(org_id: int, issued=None, status: int = 200):
    org = acc.get_org(db.session, org_id)
    try:
        people = acc.resettable(db.session, actor_id=current_user.id, org_id=org_id)
        log = acc.reset_log(db.session, actor_id=current_user.id, org_id=org_id)
    except NotPermitted:
        abort(403)
    response = render_template("orgs/passwords.html", org=org, people=people, log=log, issued=issued)
    # a page carrying a one-time password must not stay in any cache
    return response, status, {"Cache-Control": "no-store"}


@bp.route("/<int:org_id>/passwords")
@login_required
def passwords(org_id: int):
    """The people this admin may issue a one-time password to, and the reset log of this org (and below)."""
    return _page(org_id)


@bp.route("/<int:org_id>/passwords/<int:user_id>", methods=["POST"])
@login_required
def reset_member_password(org_id: int, user_id: int):
    """Issue a one-time password; the person must change it at the next login; their sessions end."""
    if not current_user.is_admin_of(org_id):
        abort(403)
    if user_id not in {
        p.user_id for p in acc.resettable(db.session, actor_id=current_user.id, org_id=org_id)
    }:
        abort(403)  # the same rule as the engine's, through this org: no reset of a person of another org
    issued, status = issue_one_time(user_id)
    return _page(org_id, issued=issued, status=status)


def issue_one_time(user_id: int):
    """(the one-time password, issued and committed, 200), or (None, 429) with the reason flashed."""
    try:
        issued = acc.issue_one_time_password(
            db.session, get_clock(), actor_id=current_user.id, user_id=user_id
        )
    except acc.ResetThrottled as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return None, 429
    db.session.commit()
    return issued, 200
