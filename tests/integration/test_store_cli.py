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
