"""`deploy` (the engine service behind the CLI and the operator's page) refuses a process whose dry run fails."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import func, select

from engine.deployment import read_sources
from engine.dry_run import DryRunFailed
from engine.paths import bpmn_dir
from engine.store import services
from engine.store.tables import DeploymentRow

BROKEN = Path(__file__).resolve().parents[1] / "data" / "bpmn" / "invalid" / "dry_run"


def test_deploy_refuses_a_diagram_that_dead_ends_and_stores_nothing(session_factory, clock, tmp_path):
    folder = tmp_path / "bpmn"
    shutil.copytree(bpmn_dir(), folder)
    shutil.copyfile(BROKEN / "dead_end.bpmn", folder / "declaration.bpmn")
    with session_factory() as session:
        with pytest.raises(DryRunFailed) as info:
            services.deploy(session, clock, read_sources(folder))
        assert [p.stage for p in info.value.problems] == ["unit_report"]
        assert session.scalar(select(func.count(DeploymentRow.id))) == 0
        assert services.deploy(session, clock, read_sources()).created  # the shipped one deploys


def test_deploy_cli_refuses_with_the_task_and_exit_1(tmp_path, monkeypatch):
    from flask.cli import FlaskGroup

    from webapp import create_app
    from webapp.cli.store import STORE_COMMANDS

    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.sqlite'}")
    monkeypatch.setenv("ZHICHENG_INSTANCE", str(tmp_path))
    folder = tmp_path / "bpmn"
    shutil.copytree(bpmn_dir(), folder)
    # misspelt_condition is caught statically now; script_raises passes every static check and fails only when run
    shutil.copyfile(BROKEN / "script_raises.bpmn", folder / "declaration.bpmn")
    cli = FlaskGroup(create_app=lambda: create_app({"TESTING": True}))
    for command in STORE_COMMANDS:
        cli.add_command(command)
    runner = create_app({"TESTING": True}).test_cli_runner()
    assert runner.invoke(cli, ["db", "upgrade"]).exit_code == 0
    result = runner.invoke(cli, ["deploy", "--bpmn-dir", str(folder)])
    assert result.exit_code == 1
    assert "试运行发现" in result.output and "「评委会审核受理」（committee_review）" in result.output
    assert "Traceback" not in result.output
