"""`zhicheng backup FILE` / `zhicheng restore FILE`: thin wrappers over engine.backup for this instance's
database (DATABASE_URL) and uploads folder (ZHICHENG_UPLOAD_DIR)."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from engine.backup import BackupError, backup, restore
from engine.clock import SystemClock


@click.command("backup")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@with_appcontext
def backup_command(file):
    """Write a consistent backup of the database and the uploads to FILE (a .tar.gz), while the system runs."""
    try:
        report = backup(
            current_app.config["SQLALCHEMY_DATABASE_URI"],
            current_app.config["UPLOAD_DIR"],
            file,
            SystemClock(),
        )
    except BackupError as exc:
        click.echo(f"错误：{exc}", err=True)
        sys.exit(1)
    click.echo(f"已备份到 {report.path}：{report.kind} 数据库（{report.tool}），{report.files} 个上传文件")


@click.command("restore")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@with_appcontext
def restore_command(file):
    """Restore FILE into this instance, whose database and uploads folder must be empty."""
    try:
        report = restore(
            file, current_app.config["SQLALCHEMY_DATABASE_URI"], current_app.config["UPLOAD_DIR"]
        )
    except BackupError as exc:
        click.echo(f"错误：{exc}", err=True)
        sys.exit(1)
    click.echo(f"已恢复：{report.kind} 数据库，{report.files} 个上传文件；{report.attachments} 条附件记录")
    if report.missing:
        for sha in report.missing:
            click.echo(f"附件缺失或内容不符：{sha}", err=True)
        sys.exit(1)
    click.echo("全部附件文件齐全，sha256 校验通过；请运行 zhicheng audit verify --all 核验历史")


BACKUP_COMMANDS = [backup_command, restore_command]
