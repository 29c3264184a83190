"""`zhicheng audit …`: verify histories, sign checkpoints, export and verify offline bundles and printouts."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from engine import timefmt
from engine.audit import signing
from engine.audit.bundle import BundleError, export_bundle, verify_bundle
from engine.audit.checkpoints import WorkerCheckpointer, make_checkpoint
from engine.audit.logcheck import check_known, checkpoint_signed, parse_known
from engine.audit.prints import check_print
from engine.audit.verify import Verifier, all_application_ids
from engine.errors import ZhichengError

# Application ids are database integers: anything larger is a usage error, not a query that overflows.
APP_ID = click.IntRange(1, 2**31 - 1)

KEY_OPTION = click.option(
    "--public-key",
    "public_key_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="The auditors' public key (PEM). Default: ZHICHENG_AUDIT_PUBLIC_KEY, else the signing key path + .pub.",
)


@click.group("audit")
def audit_cli():
    """Audit: replay histories, hash chains, signed checkpoints, offline bundles, printouts."""


def _fail(message: str):
    click.echo(f"错误：{message}", err=True)
    sys.exit(1)


def _public_key(path: Path | None, *, required: bool):
    """The public key at `path` (or the configured one); None with a warning when absent and optional."""
    configured = path is None
    if configured:
        path = Path(current_app.config["AUDIT_PUBLIC_KEY_PATH"])
    if configured and not path.exists() and not required:
        click.echo(f"注意：未找到公钥 {path}，检查点签名未核验（用 --public-key 指定）", err=True)
        return None
    try:
        return signing.load_public_key(path)
    except ZhichengError as exc:
        _fail(str(exc))


def _private_key():
    path = Path(current_app.config["AUDIT_KEY_PATH"])
    try:
        return signing.load_private_key(path)
    except ZhichengError as exc:
        _fail(f"{exc}（用 zhicheng audit keygen 生成，或设置 ZHICHENG_AUDIT_KEY）")


def worker_checkpointer():
    """The worker's checkpoint hook, or None (with a notice) when no signing key is configured."""
    path = Path(current_app.config["AUDIT_KEY_PATH"])
    if not path.exists():
        click.echo(f"注意：未找到审计签名私钥 {path}，worker 不生成检查点", err=True)
        return None
    hook = WorkerCheckpointer(_private_key())

    def run(session_factory, clock):
        try:
            report = hook(session_factory, clock)
        except ZhichengError as exc:
            click.echo(f"检查点失败：{exc}", err=True)
            return
        if report is not None:
            _print_checkpoint(report)

    return run


def _print_checkpoint(report) -> None:
    for app_id, why in report.skipped:
        click.echo(f"申请书 {app_id}：哈希链异常，未记入检查点（{why}）", err=True)
    click.echo(
        f"检查点 {report.checkpoint_id}：{report.tree_size} 项（新增 {report.added}），"
        f"{timefmt.instant(report.at)}"
    )


@audit_cli.command("verify")
@click.argument("app_id", type=APP_ID, required=False)
@click.option("--all", "all_", is_flag=True, help="Verify every application.")
@KEY_OPTION
@click.option(
    "--known-checkpoint",
    "known",
    default=None,
    metavar="SIZE:ROOT",
    help="A checkpoint you saved earlier (from `audit checkpoints`): the log must still begin with it.",
)
@click.option(
    "--workers",
    "-w",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="With --all: processes that share the applications (each runs the same full check).",
)
@with_appcontext
def verify_command(app_id, all_, public_key_path, known, workers):
    """Check APP_ID (or --all) against its history, its deployment and the signed checkpoints; exit 1 on any
    mismatch."""
    from webapp.extensions import db

    if (app_id is None) == (not all_):
        raise click.UsageError("请给出申请书编号，或使用 --all")
    try:
        known = parse_known(known) if known is not None else None
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--known-checkpoint") from None
    verifier = Verifier(db.session, _public_key(public_key_path, required=public_key_path is not None))
    log = verifier.log
    if known is not None:
        log.problems.extend(check_known(db.session, *known))
    for problem in log.problems:
        click.echo(f"检查点日志：{problem}", err=True)
    ids = all_application_ids(db.session) if all_ else [app_id]
    bad, covered = 0, 0
    for i, result in _verify_each(verifier, ids, workers):
        if isinstance(result, str):
            click.echo(f"申请书 {i}：错误：{result}", err=True)
            bad += 1
            continue
        covered += result.checkpoint_id is not None
        if result.ok:
            if not all_:
                click.echo(f"申请书 {i}：通过（{result.events} 条记录）")
        else:
            bad += 1
            for problem in result.problems:
                click.echo(f"申请书 {i}：{problem}", err=True)
    if all_:
        for i, problem in verifier.vanished(set(ids)):
            bad += 1
            click.echo(f"申请书 {i}：{problem}", err=True)
    if log.latest is not None:
        signed = "签名已核验" if log.signatures_checked else "签名未核验"
        click.echo(
            f"最新检查点：第 {log.latest.id} 号（{timefmt.instant(log.latest.at)}，"
            f"{log.latest.tree_size} 项，{signed}），覆盖 {covered}/{len(ids)} 份申请书"
        )
    else:
        click.echo("尚无可采信的检查点：只核验了哈希链与重放", err=True)
    click.echo(f"核验 {len(ids)} 份申请书：{len(ids) - bad} 份通过，{bad} 份不一致")
    sys.exit(1 if bad or log.problems else 0)


def _verify_each(verifier: Verifier, ids: list[int], workers: int):
    """(id, VerifyResult or error message) in id order, in this process or in `workers` processes."""
    if workers <= 1 or len(ids) <= 1:
        for i in ids:
            try:
                yield i, verifier.application(i)
            except ZhichengError as exc:
                yield i, str(exc)
        return
    from cryptography.hazmat.primitives import serialization

    from engine.audit.verify import verify_in_processes

    key = verifier.public_key
    pem = (
        key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        if key is not None
        else None
    )
    yield from verify_in_processes(current_app.config["SQLALCHEMY_DATABASE_URI"], ids, pem, workers)


@audit_cli.command("keygen")
@click.option(
    "--key",
    "key_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Private key file to create (default: ZHICHENG_AUDIT_KEY, instance/audit-key.pem).",
)
@click.option(
    "--public-key",
    "public_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Public key file to create (default: the private key path + .pub).",
)
@with_appcontext
def keygen_command(key_path, public_path):
    """Create the Ed25519 key pair that signs checkpoints; never overwrites an existing key."""
    key_path = key_path or Path(current_app.config["AUDIT_KEY_PATH"])
    try:
        private, public, kid = signing.generate_keypair(key_path, public_path)
    except ZhichengError as exc:
        _fail(str(exc))
    click.echo(f"已生成签名私钥 {private}（仅 worker 与 audit checkpoint 使用，权限 0600）")
    click.echo(f"公钥 {public}（交给审计人员）；密钥编号 {kid}")


@audit_cli.command("checkpoint")
@click.option("--at", "at", default=None, help="Engine-clock instant (ISO) instead of now.")
@with_appcontext
def checkpoint_command(at):
    """Log every new history event and sign a checkpoint over all of them now."""
    from .store import _clock, _session_factory

    key = _private_key()
    factory = _session_factory()
    try:
        with factory() as session:
            report = make_checkpoint(session, _clock(factory, at), key)
    except ZhichengError as exc:
        _fail(str(exc))
    if report is None:
        _fail("另一个进程正在生成检查点，请稍后重试")
    _print_checkpoint(report)


@audit_cli.command("checkpoints")
@click.option("--limit", default=20, show_default=True, help="How many of the latest to list.")
@KEY_OPTION
@with_appcontext
def checkpoints_command(limit, public_key_path):
    """List the latest checkpoints with their size, time, key and whether the signature holds."""
    from sqlalchemy import select

    from engine.audit.tables import Checkpoint
    from webapp.extensions import db

    key = _public_key(public_key_path, required=public_key_path is not None)
    rows = list(db.session.scalars(select(Checkpoint).order_by(Checkpoint.id.desc()).limit(limit)))
    if not rows:
        click.echo("尚无检查点（zhicheng audit checkpoint 生成一个）")
        return
    click.echo(
        f"请审计人员保存最新检查点（供 verify --known-checkpoint 使用）：{rows[0].tree_size}:{rows[0].root_hash}"
    )
    for cp in rows:
        if key is None:
            sig = "签名未核验"
        else:
            sig = "签名有效" if checkpoint_signed(cp, key) else "签名无效或非本公钥"
        click.echo(
            f"第 {cp.id} 号  {timefmt.instant(cp.at)}  {cp.tree_size} 项"
            f"（新增 {cp.tree_size - cp.previous_size}）  根 {cp.root_hash[:16]}  密钥 {cp.key_id}  {sig}"
        )


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
    """Write APP_ID's audit bundle (sources, events, state, signed checkpoint and proofs) as one JSON file."""
    from webapp.extensions import db

    try:
        bundle = export_bundle(db.session, app_id)
    except ZhichengError as exc:
        raise click.ClickException(str(exc)) from exc
    output = output or Path(f"audit-{app_id}.json")
    output.write_text(json.dumps(bundle, ensure_ascii=False, indent=1), encoding="utf-8")
    covered = "含签名检查点" if bundle["checkpoint"] else "尚未被检查点覆盖"
    click.echo(f"已导出 {output}（{len(bundle['events'])} 条记录，{covered}）")


@audit_cli.command("verify-bundle")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--public-key",
    "public_key_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="The auditors' public key (PEM): check the bundle's signed checkpoint and proofs.",
)
def verify_bundle_command(file, public_key_path):
    """Verify an exported bundle offline (no database); exit 1 if anything does not match."""
    try:
        bundle = json.loads(file.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        _fail(f"{file}: 不是合法的 JSON：{exc}")
    public_key = None
    if public_key_path is not None:
        try:
            public_key = signing.load_public_key(public_key_path)
        except ZhichengError as exc:
            _fail(str(exc))
    try:
        outcome = verify_bundle(bundle, public_key)
    except BundleError as exc:
        _fail(f"{file}: {exc}")
    for note in outcome.notes:
        click.echo(f"{file}: 注意：{note}", err=True)
    for problem in outcome.problems:
        click.echo(f"{file}: {problem}", err=True)
    if outcome.problems:
        sys.exit(1)
    proof = "检查点签名与包含证明有效" if outcome.checkpoint_verified else "未核验检查点"
    click.echo(f"{file}: 通过（{outcome.events} 条记录，部署 {outcome.deployment_id[:12]}，{proof}）")


@audit_cli.command("verify-print")
@click.argument("code")
@with_appcontext
def verify_print_command(code):
    """Say whether a printout's verification code matches the record, and which events followed it."""
    from webapp.extensions import db

    try:
        check = check_print(db.session, code)
    except ZhichengError as exc:
        _fail(str(exc))
    click.echo(check.summary)
    for line in check.later:
        click.echo(f"  之后：{line}")
    sys.exit(0 if check.matches else 1)
