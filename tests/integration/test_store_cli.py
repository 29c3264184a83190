"""CLI: `db upgrade` on a fresh SQLite file, then `deploy`, `simulate` and `tick`.

40 applicants reach every outcome the assertions name; 300 and more are a benchmark (bench/, `make bench`),
not a test: at 300 this took 14-144 s, most of `make test`."""

from __future__ import annotations

from pathlib import Path

from flask.cli import FlaskGroup
from flask_migrate import Migrate

from webapp import create_app
from webapp.cli.store import STORE_COMMANDS
from webapp.extensions import db

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def test_simulate_on_fresh_sqlite_after_db_upgrade(tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'fresh.sqlite'}")
    monkeypatch.setenv("ZHICHENG_INSTANCE", str(tmp_path))

    def make_app():
        app = create_app({"TESTING": True})
        if "migrate" not in app.extensions:  # until create_app binds Flask-Migrate itself
            Migrate(app, db, directory=str(MIGRATIONS), render_as_batch=True)
        return app

    cli = FlaskGroup(create_app=make_app)
    for command in STORE_COMMANDS:
        cli.add_command(command)
    runner = make_app().test_cli_runner()
    result = runner.invoke(cli, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(cli, ["deploy"])
    assert result.exit_code == 0 and "cq-2020-senior" in result.output, result.output
    result = runner.invoke(cli, ["simulate", "--applicants", "40", "--seed", "7"])
    assert result.exit_code == 0, result.output
    assert "40 名申报人" in result.output and "confirmed" in result.output and "expired" in result.output
    result = runner.invoke(cli, ["tick", "--at", "2021-01-10T09:00+08:00"])
    assert result.exit_code == 0 and "fired 0 timer(s)" in result.output, result.output


def _cli():
    cli = FlaskGroup(create_app=lambda: _migrating_app())
    for command in STORE_COMMANDS:
        cli.add_command(command)
    return cli


def _migrating_app():
    app = create_app({"TESTING": True})
    if "migrate" not in app.extensions:
        Migrate(app, db, directory=str(MIGRATIONS), render_as_batch=True)
    return app


def test_simulate_database_url_on_the_file_zhicheng_database_url_upgraded(tmp_path, monkeypatch):
    """`ZHICHENG_DATABASE_URL` names the database like `DATABASE_URL` (it was ignored: `db upgrade` and `deploy`
    went to the default file and `simulate --database-url` then found no tables)."""
    url = f"sqlite:///{tmp_path / 'x.db'}"
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("ZHICHENG_DATABASE_URL", url)
    monkeypatch.setenv("ZHICHENG_INSTANCE", str(tmp_path / "instance"))
    cli, runner = _cli(), _migrating_app().test_cli_runner()
    assert runner.invoke(cli, ["db", "upgrade"]).exit_code == 0
    assert runner.invoke(cli, ["deploy"]).exit_code == 0
    assert not (tmp_path / "instance" / "zhicheng.sqlite").exists()  # nothing went to the default file
    monkeypatch.delenv("ZHICHENG_DATABASE_URL")
    result = runner.invoke(cli, ["simulate", "--applicants", "3", "--seed", "7", "--database-url", url])
    assert result.exit_code == 0, result.output
    assert "3 名申报人" in result.output


def test_simulate_on_a_database_without_tables_names_it(tmp_path, monkeypatch):
    monkeypatch.setenv("ZHICHENG_INSTANCE", str(tmp_path))
    empty = f"sqlite:///{tmp_path / 'empty.db'}"
    runner = _migrating_app().test_cli_runner()
    result = runner.invoke(_cli(), ["simulate", "--applicants", "3", "--database-url", empty])
    assert result.exit_code == 1
    assert "empty.db" in result.output and "尚未建表" in result.output and "db upgrade" in result.output
