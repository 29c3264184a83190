"""The package as an HR office's IT staff install it: sdist -> wheel -> a fresh venv, used from an empty folder.

The fresh venv reaches the dependencies through a .pth line to this venv's site-packages (no download); the
project itself comes only from the wheel, which the test checks before running the command sequence.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _run(args, cwd, env=None, check=True):
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    if check and result.returncode != 0:
        pytest.fail(
            f"{' '.join(map(str, args))} exited {result.returncode}\n{result.stdout}\n{result.stderr}"
        )
    return result


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(zhicheng executable, its python, build log) from a wheel built out of the sdist."""
    root = tmp_path_factory.mktemp("wheel")
    sdist_build = _run(
        [
            sys.executable,
            "-c",
            f"from setuptools import build_meta as b; print(b.build_sdist({str(root)!r}))",
        ],
        cwd=REPO,
    )
    sdist = root / sdist_build.stdout.strip().splitlines()[-1]
    wheel_build = _run(
        [sys.executable, "-m", "pip", "wheel", "-v", "--no-deps", "--no-build-isolation", str(sdist)]
        + ["-w", str(root / "dist")],
        cwd=root,
    )
    (wheel,) = (root / "dist").glob("zhicheng-*.whl")
    venv = root / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], cwd=root)
    python = venv / "bin" / "python"
    purelib = _run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], cwd=root)
    Path(purelib.stdout.strip(), "_zhicheng_test_deps.pth").write_text(
        sysconfig.get_paths()["purelib"] + "\n"
    )
    _run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "-q",
            "--no-deps",
            "--no-index",
            wheel,
        ],
        root,
    )
    log = sdist_build.stdout + sdist_build.stderr + wheel_build.stdout + wheel_build.stderr
    return venv / "bin" / "zhicheng", python, log


def _clean_env(tmp: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ZHICHENG_", "DATABASE_URL", "FLASK_"))}
    env.pop("VIRTUAL_ENV", None)
    env["HOME"] = str(tmp)
    env["ZHICHENG_SECRET_KEY"] = "wheel-test-secret-key-of-some-length"
    return env


def test_build_has_no_warnings_from_the_project_and_spdx_license(installed):
    _zhicheng, python, log = installed
    for bad in (
        "SetuptoolsDeprecationWarning",
        "project.license",
        "License classifiers",
        "SetuptoolsWarning",
    ):
        assert bad not in log
    meta = _run(
        [python, "-c", "import importlib.metadata as m; print(m.metadata('zhicheng').as_string())"], "/"
    )
    assert "License-Expression: Apache-2.0" in meta.stdout
    assert "License-File: LICENSE" in meta.stdout


def test_installed_zhicheng_runs_from_an_empty_directory(installed, tmp_path):
    zhicheng, python, _log = installed
    work = tmp_path / "empty"
    work.mkdir()
    env = _clean_env(tmp_path)

    where = _run(
        [python, "-c", "import engine.paths as p, webapp; print(webapp.__file__); print(p.bpmn_dir())"],
        work,
        env,
    )
    webapp_file, shipped = where.stdout.split()
    assert str(REPO) not in webapp_file and str(REPO) not in shipped  # the wheel's copy, not this checkout
    assert shipped.endswith("engine/_shipped/bpmn")
    # the vendored bpmn-js viewer the diagram pages load (no npm, no CDN on the server)
    assets = _run(
        [
            python,
            "-c",
            "from webapp.diagram import VENDOR, bpmnjs_assets as a; print(VENDOR.parents[1], *a().values())",
        ],
        work,
        env,
    ).stdout.split()
    assert str(REPO) not in assets[0]
    for name in assets[1:]:
        assert Path(assets[0], name).is_file(), name

    _run([zhicheng, "db", "upgrade"], work, env)
    assert (work / "instance" / "zhicheng.sqlite").is_file()
    assert "已部署 cq-2020-senior" in _run([zhicheng, "deploy"], work, env).stdout
    assert "未发现问题" in _run([zhicheng, "bpmn", "check"], work, env).stdout

    # A policy office's own folder, by option and by environment variable: a changed campaign is a new deployment.
    policy = tmp_path / "policy"
    shutil.copytree(shipped, policy)
    # `scenario run` with no file runs the folder's scenarios (one kept here: every shipped one runs in
    # tests/unit/test_scenarios.py; this checks the installed command finds them).
    for other in (policy / "scenarios").glob("*.yaml"):
        if other.name != "straight_path.yaml":
            other.unlink()
    scenarios = _run([zhicheng, "scenario", "run", "--bpmn-dir", str(policy)], work, env).stdout
    assert "1 个场景通过，0 个失败" in scenarios and "直通路径" in scenarios
    campaign = policy / "campaigns" / "cq-2020-senior.toml"
    campaign.write_text(campaign.read_text(encoding="utf-8") + "\n# 本地副本\n", encoding="utf-8")
    # (the same campaign id with other files replaces the campaign's process only when asked to)
    assert "已部署" in _run([zhicheng, "deploy", "--bpmn-dir", str(policy), "--replace"], work, env).stdout
    assert (
        "已存在，设为当前"
        in _run([zhicheng, "deploy"], work, {**env, "ZHICHENG_BPMN_DIR": str(policy)}).stdout
    )
    (policy / "forms" / "declaration.schema.json").unlink()  # `bpmn check` reads the folder it is pointed at
    broken = _run([zhicheng, "bpmn", "check"], work, {**env, "ZHICHENG_BPMN_DIR": str(policy)}, check=False)
    assert broken.returncode == 1 and "declaration.schema.json" in broken.stderr

    _run([zhicheng, "worker", "--once"], work, env)
    demo = _run([zhicheng, "demo", "--no-serve"], work, env).stdout
    assert "演示账号" in demo and (work / "instance" / "demo.sqlite").is_file()


def test_installed_zhicheng_on_a_database_never_upgraded_is_one_line_error(installed, tmp_path):
    zhicheng, _python, _log = installed
    result = _run([zhicheng, "worker", "--once"], tmp_path, _clean_env(tmp_path), check=False)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "zhicheng db upgrade" in result.stderr
