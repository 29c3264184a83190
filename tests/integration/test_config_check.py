"""`zhicheng config check`: effective settings with secrets masked; unsafe ones refused outside the sandbox."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from webapp.cli import cli

KEY = "k" * 20 + "SECRET-VALUE-NEVER-SHOWN" + "x" * 20
SETTINGS = (
    "ZHICHENG_SECRET_KEY",
    "ZHICHENG_HTTPS",
    "ZHICHENG_SANDBOX",
    "ZHICHENG_METRICS_ALLOW",
    "ZHICHENG_METRICS_TOKEN",
    "ZHICHENG_LOG_FORMAT",
    "ZHICHENG_PROXY_HOPS",
    "WEB_CONCURRENCY",
    "PROMETHEUS_MULTIPROC_DIR",
    "ZHICHENG_BPMN_DIR",
)


@pytest.fixture
def env(tmp_path, monkeypatch):
    for name in SETTINGS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ZHICHENG_INSTANCE", str(tmp_path / "instance"))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'instance' / 'z.sqlite'}")
    return monkeypatch


def check(*args):
    return CliRunner().invoke(cli, ["config", "check", *args])


def test_safe_production_settings_pass_and_show_no_secret(env):
    env.setenv("ZHICHENG_SECRET_KEY", KEY)
    env.setenv("ZHICHENG_HTTPS", "1")
    env.setenv("ZHICHENG_METRICS_TOKEN", "metrics-token-value")
    assert CliRunner().invoke(cli, ["db", "upgrade"]).exit_code == 0
    result = check()
    assert result.exit_code == 0, result.output
    assert "设置检查通过" in result.output and "数据库连接" in result.output
    assert "SECRET-VALUE" not in result.output and "metrics-token-value" not in result.output
    assert "已设置" in result.output


@pytest.mark.parametrize(
    ("setting", "value", "message"),
    [
        ("ZHICHENG_SECRET_KEY", "", "ZHICHENG_SECRET_KEY"),
        ("ZHICHENG_SECRET_KEY", "dev-only-change-me", "ZHICHENG_SECRET_KEY"),
        ("ZHICHENG_HTTPS", "0", "ZHICHENG_HTTPS=1"),
        ("ZHICHENG_METRICS_ALLOW", "0.0.0.0/0", "任何人都能读取"),
        ("ZHICHENG_METRICS_ALLOW", "not-an-address", "不是地址或网段"),
        ("ZHICHENG_LOG_FORMAT", "xml", "text 或 json"),
        ("ZHICHENG_BPMN_DIR", "/nonexistent/bpmn", "没有 .bpmn 文件"),
    ],
)
def test_each_unsafe_setting_is_refused_outside_the_sandbox(env, setting, value, message):
    env.setenv("ZHICHENG_SECRET_KEY", KEY)
    env.setenv("ZHICHENG_HTTPS", "1")
    env.setenv(setting, value)
    result = check("--no-database")
    assert result.exit_code == 1
    assert message in result.output and "不安全" in result.output


def test_database_behind_the_migrations_or_unreachable_is_refused(env, tmp_path):
    env.setenv("ZHICHENG_SECRET_KEY", KEY)
    env.setenv("ZHICHENG_HTTPS", "1")
    result = check()
    assert result.exit_code == 1 and "zhicheng db upgrade" in result.output
    env.setenv("DATABASE_URL", "postgresql+psycopg://zh:hunter2@127.0.0.1:1/none")
    result = check()
    assert result.exit_code == 1 and "无法连接数据库" in result.output
    assert "hunter2" not in result.output and "***" in result.output


def test_sandbox_downgrades_errors_to_notes(env):
    env.setenv("ZHICHENG_SANDBOX", "1")
    result = check("--no-database")
    assert result.exit_code == 0, result.output
    assert "沙盒模式，不作为错误" in result.output
