"""`zhicheng audit …`: verify histories by replay, export and verify offline bundles."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from flask.cli import with_appcontext

from engine.audit.bundle import export_bundle, verify_bundle
from engine.audit.verify import all_application_ids, verify_application
from engine.errors import ZhichengError

# Application ids are database integers: anything larger is a usage error, not a query that overflows.
APP_ID = click.IntRange(1, 2**31 - 1)


@click.group("audit")
def audit_cli():
    """Audit: replay histories, check the hash chains, offline bundles."""


@audit_cli.command("verify")
@click.argument("app_id", type=APP_ID, required=False)
@click.option("--all", "all_", is_flag=True, help="Verify every application.")
@with_appcontext
def verify_command(app_id, all_):
    """Replay APP_ID (or --all) on its pinned deployment; exit 1 on any mismatch."""
    from webapp.extensions import db

    if (app_id is None) == (not all_):
        raise click.UsageError("请给出申请书编号，或使用 --all")
    ids = all_application_ids(db.session) if all_ else [app_id]
    bad = 0
    for i in ids:
        try:
            result = verify_application(db.session, i)
        except ZhichengError as exc:
            click.echo(f"申请书 {i}：错误：{exc}", err=True)
            bad += 1
            continue
        if result.ok:
            if not all_:
                click.echo(f"申请书 {i}：通过（{result.events} 条记录）")
        else:
            bad += 1
            for problem in result.problems:
                click.echo(f"申请书 {i}：{problem}", err=True)
    click.echo(f"核验 {len(ids)} 份申请书：{len(ids) - bad} 份通过，{bad} 份不一致")
    sys.exit(1 if bad else 0)


@audit_cli.command("export")
@click.argument("app_id", type=APP_ID)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="File to write (default: audit-APP_ID.json).",
)
@with_appcontext
def export_command(app_id, output):
    """Write APP_ID's audit bundle (sources, events, hashes, state, versions) as one JSON file."""
    from webapp.extensions import db

    try:
        bundle = export_bundle(db.session, app_id)
    except ZhichengError as exc:
        raise click.ClickException(str(exc)) from exc
    output = output or Path(f"audit-{app_id}.json")
    output.write_text(json.dumps(bundle, ensure_ascii=False, indent=1), encoding="utf-8")
    click.echo(f"已导出 {output}（{len(bundle['events'])} 条记录）")


@audit_cli.command("verify-bundle")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def verify_bundle_command(file):
    """Verify an exported bundle with no database; exit 1 if anything does not match."""
    try:
        bundle = json.loads(file.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise click.ClickException(f"{file}: 不是 UTF-8 编码的文本文件，不是审计包") from None
    except RecursionError:
        raise click.ClickException(f"{file}: JSON 嵌套过深，不是审计包") from None
    except json.JSONDecodeError as exc:
        raise click.ClickException(f"{file}: 不是合法的 JSON：{exc.msg}（第 {exc.lineno} 行）") from exc
    problems = verify_bundle(bundle)
    for problem in problems:
        click.echo(f"{file}: {problem}", err=True)
    if problems:
        sys.exit(1)
    click.echo(f"{file}: 通过（{len(bundle['events'])} 条记录，部署 {bundle['deployment']['id'][:12]}）")
