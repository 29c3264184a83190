"""Issue 12 item 14: the command line answers bad input with a message and exit 1 (2 for usage), never a
traceback, and writes nothing before refusing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from webapp.cli import cli

CAMPAIGN = Path(__file__).resolve().parents[2] / "bpmn/campaigns/cq-2020-senior.toml"


@pytest.fixture
def db_env(tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.sqlite'}")
    monkeypatch.setenv("ZHICHENG_INSTANCE", str(tmp_path))
    monkeypatch.delenv("ZHICHENG_SECRET_KEY", raising=False)  # the CLI needs none
    return tmp_path


def _no_traceback(result):
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output


def test_forwarding_notice_with_a_bad_date_is_a_campaign_error(tmp_path):
    text = CAMPAIGN.read_text(encoding="utf-8").replace("date = 2020-11-19", 'date = "not-a-date"', 1)
    assert 'date = "not-a-date"' in text
    bad = tmp_path / "bad.toml"
    bad.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(cli, ["campaign", "lint", str(bad)])
    _no_traceback(result)
    assert result.exit_code == 1 and "forwarding[0].date" in result.output


def test_deeply_nested_toml_is_a_campaign_error(tmp_path):
    deep = tmp_path / "deep.toml"
    deep.write_text("a = " + "[" * 50000 + "]" * 50000 + "\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["campaign", "lint", str(deep)])
    _no_traceback(result)
    assert result.exit_code == 1 and "nested too deeply" in result.output


def test_audit_verify_of_a_missing_application(db_env):
    runner = CliRunner()
    assert runner.invoke(cli, ["db", "upgrade"]).exit_code == 0
    result = runner.invoke(cli, ["audit", "verify", "999999"])
    _no_traceback(result)
    assert result.exit_code == 1 and "不存在" in result.output
    result = runner.invoke(cli, ["audit", "verify", "99999999999999999999"])
    assert result.exit_code == 2


@pytest.mark.parametrize(
    "content,message",
    [
        (b"\xff\xfe\x00\x01 not text", "不是合法的 JSON"),
        (b'{"format": "zhicheng-audit-bundle/1", "state": "not json{"}', "本版本只核验"),
        (b"[1, 2, 3]", "不是审计包"),
    ],
)
def test_verify_bundle_on_garbage(tmp_path, content, message):
    f = tmp_path / "b.json"
    f.write_bytes(content)
    result = CliRunner().invoke(cli, ["audit", "verify-bundle", str(f)])
    _no_traceback(result)
    assert result.exit_code == 1 and message in result.output


@pytest.mark.parametrize("n", ["0", "-5"])
def test_simulate_refuses_no_applicants_before_writing_anything(db_env, n):
    runner = CliRunner()
    assert runner.invoke(cli, ["db", "upgrade"]).exit_code == 0
    result = runner.invoke(cli, ["simulate", "--applicants", n])
    _no_traceback(result)
    assert result.exit_code == 2 and "--applicants" in result.output
    import sqlite3

    with sqlite3.connect(db_env / "cli.sqlite") as conn:
        assert conn.execute("SELECT count(*) FROM org").fetchone()[0] == 0


def test_unexpected_errors_are_one_line_not_a_traceback(tmp_path):
    env = {"DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/none", "PATH": "/usr/bin:/bin"}
    proc = subprocess.run(
        [sys.executable, "-c", "from webapp.cli import main; main()", "audit", "verify", "1"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 1 and "Traceback" not in proc.stderr and "错误" in proc.stderr
