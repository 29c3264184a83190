"""Real-browser fixtures: Debian's Chromium through Playwright, the Flask app on a live port, screenshots.

`browser` (session) skips with the install command when Chromium or Playwright is missing; `live_server`
(module) serves a fresh app on 127.0.0.1; `page` (function) is a new browser context per test and leaves
`test-artifacts/<test>.failed.png` behind when the test fails; `artifact(suffix)` names a file there for
the running test. Everything collected here is marked `e2e`.
"""

from __future__ import annotations

import os
import re
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from engine.clock import SimulatedClock
from engine.db import Base

E2E_DIR = Path(__file__).resolve().parent
REPO = E2E_DIR.parents[1]
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = os.environ.get("ZHICHENG_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
MISSING_BROWSER = (
    "e2e skipped: {what} (run `make test`, which installs Debian's chromium and "
    "fonts-noto-cjk, or `apt-get install chromium fonts-noto-cjk`; Playwright's own "
    "browser download cannot work here)"
)
# Registration is open on the 2020 campaign: 2020-10-21 10:00 Beijing.
START = datetime(2020, 10, 21, 2, 0, tzinfo=UTC)
TIMEOUT_MS = 10_000  # a local page that takes longer is a failure, not a slow pass


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """Mark every test under tests/e2e `e2e` before `-m "not e2e"` deselects (a new module can't forget)."""
    for item in items:
        if E2E_DIR in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.e2e)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the item so `page` can tell, at teardown, that the test failed."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


def artifact_path(nodeid: str, suffix: str) -> Path:
    """A file in test-artifacts/ named after a test id (safe characters only)."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS / (re.sub(r"[^\w.-]+", "_", nodeid).strip("_") + suffix)


@pytest.fixture
def artifact(request):
    """`artifact(".png")`: a path in test-artifacts/ named after the running test."""
    return lambda suffix: artifact_path(request.node.nodeid, suffix)


@pytest.fixture(scope="session")
def browser():
    """Headless Debian Chromium, shared by the session (each test gets its own context)."""
    if not Path(CHROMIUM).is_file():
        pytest.skip(MISSING_BROWSER.format(what=f"{CHROMIUM} not found"))
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip(
            MISSING_BROWSER.format(what="the playwright package is not installed (pip install -e '.[dev]')")
        )
    pw = sync_playwright().start()
    try:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()
    finally:
        pw.stop()


@pytest.fixture
def page(browser, request):
    """A page in a fresh context (zh-CN, 1280x800); a failing test leaves a full-page screenshot."""
    context = browser.new_context(
        locale="zh-CN", timezone_id="Asia/Shanghai", viewport={"width": 1280, "height": 800}
    )
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    try:
        yield page
    finally:
        report = getattr(request.node, "rep_call", None)
        if report is not None and report.failed:
            try:
                page.screenshot(path=artifact_path(request.node.nodeid, ".failed.png"), full_page=True)
            except Exception as exc:  # the page may be what broke; the test's own failure matters more
                print(f"no failure screenshot for {request.node.nodeid}: {exc}")
        context.close()


@dataclass
class LiveServer:
    url: str
    app: object
    clock: SimulatedClock

    def __call__(self, path: str = "/") -> str:
        """The absolute URL of `path` on this server."""
        return self.url + path


@pytest.fixture(scope="module")
def live_server_config():
    """Extra app config for `live_server`; override this fixture in a module to change it."""
    return {}


@pytest.fixture(scope="module")
def live_server(tmp_path_factory, live_server_config):
    """The Flask app on 127.0.0.1:<free port>, temp SQLite, sandbox on, CSRF on, a SimulatedClock at START."""
    from werkzeug.serving import make_server

    from webapp import create_app
    from webapp.extensions import db

    tmp = tmp_path_factory.mktemp("live")
    clock = SimulatedClock(START)
    app = create_app(
        {
            "SECRET_KEY": "e2e",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp / 'e2e.sqlite'}",
            "UPLOAD_DIR": str(tmp / "uploads"),
            "ZHICHENG_SANDBOX": True,
            "ZHICHENG_CLOCK": clock,
            **live_server_config,
        }
    )
    with app.app_context():
        Base.metadata.create_all(db.engine)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="e2e-live-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(url=f"http://127.0.0.1:{server.server_port}", app=app, clock=clock)
    finally:
        server.shutdown()
        thread.join(timeout=5)
        with app.app_context():
            db.engine.dispose()
