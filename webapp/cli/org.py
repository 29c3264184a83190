"""`zhicheng org …` and `zhicheng user …`: thin wrappers over engine.accounts for the system operator."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from engine.accounts import services as acc
from engine.accounts.models import ORG_TYPES
from engine.errors import ZhichengError


def _fail(exc: ZhichengError) -> None:
    from webapp.extensions import db

    db.session.rollback()
    detail = "; ".join(getattr(exc, "errors", {}).values()) or exc.message
    click.echo(f"错误：{detail}", err=True)
    raise SystemExit(1)


@click.group("org")
def org_cli():
    """Organisations: preset orgs and the org tree."""


@org_cli.command("create-preset")
@click.option("--type", "org_type", type=click.Choice(ORG_TYPES), required=True, help="Org type.")
@click.option("--name", required=True, help="Chinese name of the org.")
@click.option("--admin-username", required=True, help="Username of the preset admin account.")
@click.option("--admin-password", required=True, help="Initial password (>= 8 chars, letters and digits).")
@click.option("--admin-real-name", default=None, help="Admin's real name (default: <name>管理员).")
@click.option("--parent", "parent_id", type=int, default=None, help="Parent org id.")
@click.option("--district", default=None, help="District, e.g. 江津区.")
@click.option("--series", default=None, help="Committees: comma-separated series codes.")
@click.option("--credit-code", default=None, help="统一社会信用代码 (optional for preset orgs).")
@click.option("--contact-person", default=None)
@click.option("--contact-phone", default=None)
@with_appcontext
def create_preset(
    org_type,
    name,
    admin_username,
    admin_password,
    admin_real_name,
    parent_id,
    district,
    series,
    credit_code,
    contact_person,
    contact_phone,
):
    """Create an active org (committee, district HR office, municipal dept, …) with its admin account."""
    from webapp.clock import get_clock
    from webapp.extensions import db

    try:
        org = acc.create_preset_org(
            db.session,
            get_clock(),
            org_type=org_type,
            name=name,
            admin_username=admin_username,
            admin_password=admin_password,
            admin_real_name=admin_real_name,
            parent_id=parent_id,
            district=district,
            series_codes=series,
            credit_code=credit_code,
            contact_person=contact_person,
            contact_phone=contact_phone,
        )
        db.session.commit()
    except ZhichengError as exc:
        _fail(exc)
    click.echo(f"{org.id}\t{org.type_label}\t{org.name}\t管理员 {admin_username}")


@org_cli.command("list")
@with_appcontext
def list_orgs():
    """Print the org tree: id, type, name, district, status."""
    from webapp.extensions import db

    for depth, org in acc.org_tree(db.session):
        district = f" {org.district}" if org.district else ""
        status = "" if org.status == "active" else f" [{org.status}]"
        click.echo(f"{'  ' * depth}{org.id} {org.type_label} {org.name}{district}{status}")


@click.group("user")
def user_cli():
    """Staff accounts: operators and auditors."""


def _create_staff(username, real_name, password, **flags):
    from webapp.clock import get_clock
    from webapp.extensions import db

    try:
        profile = acc.create_staff_user(
            db.session, get_clock(), username=username, real_name=real_name, password=password, **flags
        )
        db.session.commit()
    except ZhichengError as exc:
        _fail(exc)
    click.echo(f"{profile.id}\t{profile.username}")


@user_cli.command("create-operator")
@click.option("--username", required=True)
@click.option("--real-name", required=True)
@click.option("--password", required=True)
@with_appcontext
def create_operator(username, real_name, password):
    """Create a system operator account."""
    _create_staff(username, real_name, password, is_operator=True)


@user_cli.command("create-auditor")
@click.option("--username", required=True)
@click.option("--real-name", required=True)
@click.option("--password", required=True)
@click.option("--scope", "scope_org_id", type=int, default=None, help="Org id it may audit (default: city).")
@with_appcontext
def create_auditor(username, real_name, password, scope_org_id):
    """Create an auditor account, city-wide or limited to one org's subtree."""
    _create_staff(username, real_name, password, is_auditor=True, auditor_scope_org_id=scope_org_id)


@user_cli.command("reset-password")
@click.argument("username")
@click.option("--password", required=True, help="The new password (>= 8 chars, letters and digits).")
@with_appcontext
def reset_password(username, password):
    """Set a new password; every session of that user ends and its login throttle is cleared."""
    from webapp.extensions import db

    try:
        profile = acc.reset_password(db.session, actor_id=None, username=username, new_password=password)
        db.session.commit()
    except ZhichengError as exc:
        _fail(exc)
    click.echo(f"{profile.id}\t{profile.username}\tpassword reset, sessions ended")
