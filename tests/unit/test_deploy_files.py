"""The example deployment files in deploy/ name commands, options, settings and routes that exist."""

from __future__ import annotations

import configparser
import re
import runpy
import shlex
import sysconfig
from pathlib import Path

import click
import pytest

from webapp.cli import cli

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
UNITS = sorted((DEPLOY / "systemd").glob("*.service"))
BIN = "/opt/zhicheng/venv/bin/"


def _unit(path: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None, delimiters=("=",))
    parser.optionxform = str
    parser.read_string(path.read_text(encoding="utf-8"))
    return parser


def _commands(path: Path) -> list[list[str]]:
    """Every Exec* command line, with `sh -c 'exec …'` unwrapped and systemd's %% unescaped."""
    found = []
    for key, value in _unit(path)["Service"].items():
        if key.startswith("Exec"):
            argv = shlex.split(value.replace("%%", "%"))
            if argv[:2] == ["/bin/sh", "-c"]:
                argv = shlex.split(argv[2].removeprefix("exec "))
            found.append(argv)
    return found


def _resolve_zhicheng(argv: list[str]) -> click.Command:
    """Walk the click tree along argv; every option used must exist on the command reached."""
    command, ctx = cli, click.Context(cli)
    args = list(argv)
    while isinstance(command, click.Group) and args and not args[0].startswith("-"):
        name = args.pop(0)
        sub = command.get_command(ctx, name)
        assert sub is not None, f"zhicheng has no command {name!r} ({' '.join(argv)})"
        command, ctx = sub, click.Context(sub, parent=ctx)
    known = {opt for param in command.params for opt in getattr(param, "opts", [])}
    for arg in args:
        if arg.startswith("-"):
            assert arg.split("=")[0] in known, f"zhicheng {' '.join(argv)}: no option {arg}"
    return command


def test_every_unit_runs_an_installed_console_script_with_real_subcommands():
    scripts = Path(sysconfig.get_paths()["scripts"])
    seen = set()
    for unit in UNITS:
        for argv in _commands(unit):
            program = argv[0]
            if program.startswith("/bin/"):
                assert Path(program).exists(), program
                continue
            assert program.startswith(BIN), f"{unit.name}: {program} is not in the venv of the install steps"
            name = program.removeprefix(BIN)
            assert (scripts / name).exists(), (
                f"{unit.name}: no console script {name} in an installed zhicheng"
            )
            seen.add(name)
            if name == "zhicheng":
                _resolve_zhicheng(argv[1:])
    assert seen == {"zhicheng", "gunicorn"}


def test_units_read_the_example_environment_and_the_timer_starts_the_backup():
    for unit in UNITS:
        service = _unit(unit)["Service"]
        assert service["EnvironmentFile"] == "/etc/zhicheng/zhicheng.env"
        assert service["User"] == "zhicheng"
    timer = _unit(DEPLOY / "systemd" / "zhicheng-backup.timer")
    assert "OnCalendar" in timer["Timer"]
    assert (
        DEPLOY / "systemd" / "zhicheng-backup.service"
    ).exists()  # a .timer starts the same-named .service


def test_every_setting_in_the_example_environment_is_read_by_the_code():
    code = "\n".join(
        p.read_text(encoding="utf-8")
        for folder in ("webapp", "engine")
        for p in (REPO / folder).rglob("*.py")
    ) + (DEPLOY / "gunicorn.conf.py").read_text(encoding="utf-8")
    names = re.findall(
        r"^#?\s*([A-Z][A-Z0-9_]+)=", (DEPLOY / "zhicheng.env").read_text(encoding="utf-8"), re.M
    )
    assert "ZHICHENG_SECRET_KEY" in names and "DATABASE_URL" in names
    for name in names:
        if name == "PROMETHEUS_MULTIPROC_DIR":  # read by prometheus_client itself (and by our metrics)
            assert name in (REPO / "webapp/ops/metrics.py").read_text(encoding="utf-8")
            continue
        if name == "WEB_CONCURRENCY":
            assert name in (DEPLOY / "gunicorn.conf.py").read_text(encoding="utf-8")
            continue
        assert f'"{name}"' in code, f"{name} in deploy/zhicheng.env is read nowhere"


def test_gunicorn_config_loads_the_app_factory_and_binds_where_nginx_proxies():
    settings = runpy.run_path(str(DEPLOY / "gunicorn.conf.py"))
    module, _, call = settings["wsgi_app"].partition(":")
    assert call == "create_app()"
    assert callable(__import__(module).create_app)
    nginx = (DEPLOY / "nginx" / "zhicheng.conf").read_text(encoding="utf-8")
    assert f"server {settings['bind']};" in nginx
    assert callable(settings["child_exit"])


@pytest.mark.parametrize("path", ["/healthz", "/metrics"])
def test_nginx_locations_are_routes_of_the_app(path):
    from webapp import create_app

    nginx = (DEPLOY / "nginx" / "zhicheng.conf").read_text(encoding="utf-8")
    assert f"location = {path} " in nginx
    app = create_app({"TESTING": True, "SECRET_KEY": "x" * 40, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    adapter = app.url_map.bind("localhost")
    assert adapter.match(path)[0].startswith("ops.")


def test_readme_production_section_points_at_each_deploy_file():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    for path in sorted(DEPLOY.rglob("*")):
        if path.is_file():
            assert str(path.relative_to(REPO)) in readme, f"README does not mention {path.relative_to(REPO)}"
