"""The bpmn-js viewer the pages serve is exactly the pinned npm release (`make vendor-bpmnjs` made it).

tools/bpmn-js/package-lock.json pins bpmn-js; webapp/static/vendor/bpmn-js/manifest.json records the version,
the npm tarball's integrity and each copied file's sha256. The browser check (tests/e2e/test_bpmn_render.py)
loads this vendored file, so the diagrams are checked with the viewer users get.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from webapp.diagram import VENDOR, bpmnjs_assets

REPO = Path(__file__).resolve().parents[2]
LOCK = REPO / "tools" / "bpmn-js" / "package-lock.json"


def _pinned(lock: Path) -> dict:
    return json.loads(lock.read_text(encoding="utf-8"))["packages"]["node_modules/bpmn-js"]


@pytest.fixture(scope="module")
def manifest() -> dict:
    return json.loads((VENDOR / "manifest.json").read_text(encoding="utf-8"))


def test_package_json_pins_an_exact_version_and_the_lock_agrees():
    wanted = json.loads((LOCK.parent / "package.json").read_text(encoding="utf-8"))["dependencies"]["bpmn-js"]
    assert wanted[0].isdigit() and wanted.count(".") == 2, "pin an exact version, not a range"
    assert _pinned(LOCK)["version"] == wanted


def test_vendored_version_and_integrity_are_the_locked_ones(manifest):
    pinned = _pinned(LOCK)
    assert manifest["version"] == pinned["version"]
    assert manifest["integrity"] == pinned["integrity"]
    # only the pinned version is shipped
    assert sorted(p.name for p in VENDOR.iterdir() if p.is_dir()) == [pinned["version"]]


def test_every_vendored_file_matches_its_recorded_sha256(manifest):
    folder = VENDOR / manifest["version"]
    assert sorted(p.name for p in folder.iterdir()) == sorted(manifest["sha256"])
    for name, digest in manifest["sha256"].items():
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == digest, name


def test_the_viewer_is_the_navigated_viewer_of_that_version_with_its_licence(manifest):
    folder = VENDOR / manifest["version"]
    js = (folder / manifest["entry"]["js"]).read_text(encoding="utf-8")
    assert js.startswith(f"/*! bpmn-js - bpmn-navigated-viewer v{manifest['version']} ")
    assert "watermark" in (folder / "LICENSE").read_text(encoding="utf-8")  # the bpmn.io watermark stays
    for key in ("js", "diagram_css", "bpmn_css"):
        assert bpmnjs_assets()[key] == f"vendor/bpmn-js/{manifest['version']}/{manifest['entry'][key]}"


def test_vendored_copy_is_byte_identical_to_the_npm_package_when_installed(manifest):
    """Where `npm ci` has run in tools/bpmn-js (`make browser` does), compare with the package itself."""
    package = LOCK.parent / "node_modules" / "bpmn-js"
    if not (package / "package.json").is_file():
        pytest.skip("bpmn-js is not installed from npm here (make browser or make vendor-bpmnjs installs it)")
    if json.loads((package / "package.json").read_text(encoding="utf-8"))["version"] != manifest["version"]:
        pytest.skip(f"{package} holds another version; run npm ci there")
    folder = VENDOR / manifest["version"]
    for source in ("dist/bpmn-navigated-viewer.production.min.js", "dist/assets/diagram-js.css", "LICENSE"):
        assert (package / source).read_bytes() == (folder / Path(source).name).read_bytes(), source
