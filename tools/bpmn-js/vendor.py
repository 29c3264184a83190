"""Copy the pinned bpmn-js viewer into webapp/static/vendor/bpmn-js/<version>/ and write its manifest.

Run by `make vendor-bpmnjs` after `npm ci` here. The copies are committed, so `make demo` needs no npm; the
manifest records the version, the npm tarball's integrity from package-lock.json and each file's sha256,
which tests/unit/test_vendored_bpmnjs.py checks against the files and the lock.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
PACKAGE = HERE / "node_modules" / "bpmn-js"
TARGET = HERE.parents[1] / "webapp" / "static" / "vendor" / "bpmn-js"
# what the pages load (the navigated viewer: zoom and pan, no editing) and the licences that go with it
FILES = {
    "js": "dist/bpmn-navigated-viewer.production.min.js",
    "diagram_css": "dist/assets/diagram-js.css",
    "bpmn_css": "dist/assets/bpmn-js.css",
    "license": "LICENSE",
}
DIAGRAM_JS_LICENSE = HERE / "node_modules" / "diagram-js" / "LICENSE"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main() -> int:
    lock = json.loads((HERE / "package-lock.json").read_text(encoding="utf-8"))
    pinned = lock["packages"]["node_modules/bpmn-js"]
    installed = json.loads((PACKAGE / "package.json").read_text(encoding="utf-8"))["version"]
    if installed != pinned["version"]:
        print(
            f"node_modules has bpmn-js {installed}, the lock pins {pinned['version']}: run npm ci",
            file=sys.stderr,
        )
        return 1
    version = pinned["version"]
    if TARGET.exists():
        shutil.rmtree(TARGET)  # one version at a time: an old copy must not linger in the package
    out = TARGET / version
    out.mkdir(parents=True)
    entry = {}
    for key, source in FILES.items():
        shutil.copyfile(PACKAGE / source, out / Path(source).name)
        entry[key] = Path(source).name
    shutil.copyfile(DIAGRAM_JS_LICENSE, out / "LICENSE.diagram-js")
    manifest = {
        "package": "bpmn-js",
        "version": version,
        "integrity": pinned["integrity"],
        "entry": entry,
        "sha256": {p.name: sha256(p) for p in sorted(out.iterdir())},
    }
    (TARGET / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    print(f"bpmn-js {version} vendored into {out.relative_to(HERE.parents[1])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
