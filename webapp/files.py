"""Links to an application's files that read as their original names (never the content hash)."""

from __future__ import annotations

from collections.abc import Callable

from engine.store import queries

from .extensions import db

REF_PREFIX = "sha256:"


def _refs(value, out: set[str]) -> None:
    if isinstance(value, str) and value.startswith(REF_PREFIX):
        out.add(value[len(REF_PREFIX) :])
    elif isinstance(value, dict):
        for v in value.values():
            _refs(v, out)
    elif isinstance(value, list):
        for v in value:
            _refs(v, out)


class FileLinks:
    """Callable like the plain `file_url(sha256)` templates use, plus `name(sha256)` for the link's text."""

    def __init__(self, url: Callable[[str], str] | None, names: dict[str, str]):
        self._url = url
        self._names = names

    def __call__(self, sha256: str) -> str:
        return self._url(sha256) if self._url else ""

    def __bool__(self) -> bool:
        return self._url is not None

    def name(self, sha256: str) -> str:
        return self._names.get(sha256) or "附件"


def file_links(url: Callable[[str], str] | None, owner_id: int | None, *data: dict | None) -> FileLinks:
    """Links for every file referenced in `data`, named as their owner (the applicant) uploaded them."""
    shas: set[str] = set()
    for d in data:
        _refs(d or {}, shas)
    return FileLinks(url, queries.file_names(db.session, owner_id, shas))
