"""`zhicheng config check`: the effective production settings, secrets masked, and a refusal of unsafe ones.

It reads the same environment as the web app (webapp.config.Config and the ops settings) without starting
the app, so it can explain a refusal to start. Outside the sandbox an unsafe setting is an error (exit 1);
a questionable one is a warning.
"""

from __future__ import annotations

import ipaddress
import os
import sys
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import click
from sqlalchemy.engine import make_url

from webapp.config import secret_key_problem


@dataclass
class Check:
    settings: list[tuple[str, str, str]] = field(default_factory=list)  # (name, shown value, env var)
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def show(self, name: str, value, env: str = "") -> None:
        self.settings.append((name, str(value), env))


def _mask(secret: str | None) -> str:
    return f"****（已设置，{len(secret)} 个字符）" if secret else "（未设置）"


def _writable_dir(path: Path) -> str | None:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return f"无法创建：{exc.strerror}"
    return None if os.access(path, os.W_OK) else "不可写"


def gather(check_database: bool = True) -> Check:
    from webapp.config import Config
    from webapp.ops import settings_from_env

    cfg, ops = Config(), settings_from_env()
    c = Check()
    sandbox = cfg.ZHICHENG_SANDBOX
    c.show("沙盒模式 sandbox", "是（演示，模拟时钟）" if sandbox else "否（生产）", "ZHICHENG_SANDBOX")

    key = os.environ.get("ZHICHENG_SECRET_KEY")
    c.show("会话密钥 secret key", _mask(key), "ZHICHENG_SECRET_KEY")
    problem = secret_key_problem(key)
    if problem:
        c.errors.append(
            f"{problem}：export ZHICHENG_SECRET_KEY=$(python3 -c 'import secrets; print(secrets.token_hex(32))')"
        )

    url = make_url(cfg.SQLALCHEMY_DATABASE_URI)
    c.show("数据库 database", url.render_as_string(hide_password=True), "DATABASE_URL")
    if url.get_backend_name() == "sqlite":
        c.warnings.append("SQLite 适合单机小规模；多台服务器或大批量申报请使用 PostgreSQL（DATABASE_URL）")
    c.show("实例目录 instance", cfg.INSTANCE_DIR, "ZHICHENG_INSTANCE")
    c.show("上传目录 uploads", cfg.UPLOAD_DIR, "ZHICHENG_UPLOAD_DIR")
    if why := _writable_dir(Path(cfg.UPLOAD_DIR)):
        c.errors.append(f"上传目录 {cfg.UPLOAD_DIR} {why}")

    https = cfg.SESSION_COOKIE_SECURE
    c.show("HTTPS（Cookie 加 Secure）", "是" if https else "否", "ZHICHENG_HTTPS")
    if not https:
        c.errors.append("会话 Cookie 未设 Secure：在 HTTPS 后面运行并设置 ZHICHENG_HTTPS=1")
    hops = cfg.ZHICHENG_PROXY_HOPS
    c.show("反向代理层数 proxy hops", hops, "ZHICHENG_PROXY_HOPS")
    if hops == 0:
        c.warnings.append("ZHICHENG_PROXY_HOPS=0：在 nginx 后面运行时请设为 1，否则客户端地址都是代理的地址")

    c.show(
        "网站工作进程 web workers",
        os.environ.get("WEB_CONCURRENCY", "（gunicorn 默认 1）"),
        "WEB_CONCURRENCY",
    )
    multiproc = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    c.show("指标多进程目录", multiproc or "（未设置：各进程单独计数）", "PROMETHEUS_MULTIPROC_DIR")
    if int(os.environ.get("WEB_CONCURRENCY", "1") or 1) > 1 and not multiproc:
        c.warnings.append(
            "多个 gunicorn 进程但未设 PROMETHEUS_MULTIPROC_DIR：/metrics 的计数只来自回答请求的那个进程"
        )

    c.show("日志格式 log format", ops["ZHICHENG_LOG_FORMAT"], "ZHICHENG_LOG_FORMAT")
    if ops["ZHICHENG_LOG_FORMAT"] not in ("text", "json"):
        c.errors.append("ZHICHENG_LOG_FORMAT 只能是 text 或 json")
    c.show("日志级别 log level", ops["ZHICHENG_LOG_LEVEL"], "ZHICHENG_LOG_LEVEL")
    c.show("指标令牌 metrics token", _mask(ops["ZHICHENG_METRICS_TOKEN"]), "ZHICHENG_METRICS_TOKEN")
    c.show("指标允许地址 metrics allow", ops["ZHICHENG_METRICS_ALLOW"] or "（无）", "ZHICHENG_METRICS_ALLOW")
    for entry in filter(None, (e.strip() for e in ops["ZHICHENG_METRICS_ALLOW"].split(","))):
        try:
            network = ipaddress.ip_network(entry, strict=False)
        except ValueError:
            c.errors.append(f"ZHICHENG_METRICS_ALLOW 中的 {entry!r} 不是地址或网段")
            continue
        if network.prefixlen == 0:
            c.errors.append(f"ZHICHENG_METRICS_ALLOW 含 {entry}：任何人都能读取 /metrics")
    c.show(
        "健康检查阈值",
        f"心跳 {ops['ZHICHENG_HEALTH_MAX_HEARTBEAT_AGE']:g} 秒，定时器延迟 {ops['ZHICHENG_HEALTH_MAX_TIMER_LAG']:g} 秒",
        "ZHICHENG_HEALTH_MAX_HEARTBEAT_AGE / _TIMER_LAG",
    )
    bpmn = os.environ.get("ZHICHENG_BPMN_DIR")
    c.show("流程定义目录 BPMN", bpmn or "（随软件发布的 bpmn/）", "ZHICHENG_BPMN_DIR")
    if bpmn and not any(Path(bpmn).glob("*.bpmn")):
        c.errors.append(f"ZHICHENG_BPMN_DIR={bpmn} 中没有 .bpmn 文件")
    if check_database:
        _check_database(c, cfg.SQLALCHEMY_DATABASE_URI)
    if sandbox:  # the demo runs on generated keys and plain HTTP on purpose
        c.warnings += [f"（沙盒模式，不作为错误）{e}" for e in c.errors]
        c.errors = []
    return c


def _check_database(c: Check, url: str) -> None:
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy.exc import SQLAlchemyError

    from engine.db import make_engine
    from engine.ops import migration_heads

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            current = set(MigrationContext.configure(conn).get_current_heads())
    except SQLAlchemyError as exc:
        c.show("数据库连接", "失败")
        c.errors.append(f"无法连接数据库：{str(getattr(exc, 'orig', exc)).strip().splitlines()[0]}")
        return
    finally:
        engine.dispose()
    c.show("数据库连接", "正常")
    heads = migration_heads()
    c.show("数据库结构版本", ", ".join(sorted(current)) or "（空库）")
    if current != heads:
        c.errors.append(f"数据库结构不是最新（应为 {', '.join(sorted(heads))}）：运行 zhicheng db upgrade")


def _width(text: str) -> int:
    """Columns on a terminal: CJK characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


@click.group("config")
def config_cli():
    """Production settings."""


@config_cli.command("check")
@click.option("--no-database", is_flag=True, help="Do not connect to the database.")
def check_command(no_database):
    """Print the effective settings (secrets masked); exit 1 if one is unsafe outside the sandbox."""
    c = gather(check_database=not no_database)
    width = max(_width(name) for name, _v, _e in c.settings)
    for name, value, env in c.settings:
        click.echo(name + " " * (width - _width(name) + 2) + value + (f"    [{env}]" if env else ""))
    for warning in c.warnings:
        click.echo(f"注意：{warning}")
    for error in c.errors:
        click.echo(f"错误：{error}", err=True)
    if c.errors:
        click.echo(f"{len(c.errors)} 项设置不安全或不可用，生产环境不应启动", err=True)
        sys.exit(1)
    click.echo("设置检查通过")
