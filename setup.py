"""Build hook: the shipped process definitions and migrations go inside the wheel.

`bpmn/` and `migrations/` stay at the top of the repository (policy staff and Alembic users find them there);
an installed `zhicheng` has no checkout, so the wheel carries copies under `engine/_shipped/`, where
`engine.paths` looks when the checkout folders are not beside the package. Everything else is in
pyproject.toml.
"""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

SHIPPED = ("bpmn", "migrations")


class build_py_with_shipped_data(build_py):
    def run(self):
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install reads the checkout's own folders
        for name in SHIPPED:
            target = Path(self.build_lib, "engine", "_shipped", name)
            for source in sorted(Path(name).rglob("*")):
                if source.is_file() and "__pycache__" not in source.parts:
                    dest = target / source.relative_to(name)
                    self.mkpath(str(dest.parent))
                    self.copy_file(str(source), str(dest))


setup(cmdclass={"build_py": build_py_with_shipped_data})
