"""Backup and restore of one instance: the database and the uploads folder, in one tar file.

Consistency while the system runs: the database is copied first, as one snapshot (SQLite's online backup
API, or `pg_dump -Fc`, which dumps inside one transaction), then the uploads folder. Uploads are stored by
sha256 and never changed or deleted, and their bytes are on disk before any row that refers to them is
committed, so every file the snapshot refers to is in the archive; files uploaded after the snapshot come
along too and do no harm. Each file's name is checked against the sha256 of its bytes on the way in and
on the way out.

Archive layout (format `zhicheng-backup/1`): `manifest.json` (format, kind, schema, created_at, files with
sha256 and size), `database.sqlite` or `database.pgdump`, `uploads/ab/cdef…`.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from .clock import Clock
from .errors import ZhichengError

FORMAT = "zhicheng-backup/1"
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


class BackupError(ZhichengError):
    """A backup cannot be taken or restored; the message says why and what to do."""


@dataclass
class BackupReport:
    path: Path
    kind: str
    files: int
    tool: str


@dataclass
class RestoreReport:
    kind: str
    files: int
    attachments: int
    missing: list[str] = field(default_factory=list)  # attachment rows without a matching file


# ---------------------------------------------------------------- database kinds


def _kind(url: str) -> str:
    name = make_url(url).get_backend_name()
    if name not in ("sqlite", "postgresql"):
        raise BackupError(f"不支持备份此类数据库：{name}（only SQLite and PostgreSQL）")
    return name


def _sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupError("内存中的 SQLite 数据库无法备份 (an in-memory database has no file)")
    return Path(database)


def _pg_target(url: str) -> tuple[str, dict, str | None]:
    """(libpq URI without password, environment with PGPASSWORD, schema from `options=-csearch_path=X`)."""
    parsed = make_url(url)
    env = dict(os.environ)
    if parsed.password:
        env["PGPASSWORD"] = parsed.password
    schema = None
    options = parsed.query.get("options")
    for option in [options] if isinstance(options, str) else list(options or []):
        match = re.search(r"search_path=([A-Za-z_][A-Za-z0-9_]*)", option)
        if match:
            schema = match.group(1)
    uri = parsed.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    return uri, env, schema


def _pg_tool(name: str) -> str:
    path = shutil.which(name)
    if not path:
        raise BackupError(
            f"找不到 {name}：PostgreSQL 的备份与恢复需要它（apt-get install postgresql-client，版本不低于服务器）"
        )
    return path


def _run(args: list[str], env: dict) -> subprocess.CompletedProcess:
    result = subprocess.run(args, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise BackupError(f"{Path(args[0]).name} 失败：{result.stderr.strip() or result.returncode}")
    return result


# ---------------------------------------------------------------- backup


def backup(url: str, upload_dir: str | Path, target: str | Path, clock: Clock) -> BackupReport:
    """Write a consistent backup of the database at `url` and of `upload_dir` to the tar file `target`."""
    kind = _kind(url)
    target = Path(target)
    if target.exists():
        raise BackupError(f"{target} 已存在，不会覆盖 (refusing to overwrite)")
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="zhicheng-backup-") as tmp:
        schema = None
        if kind == "sqlite":
            source = _sqlite_path(url)
            if not source.is_file():
                raise BackupError(f"数据库文件不存在：{source}")
            dump, tool = Path(tmp, "database.sqlite"), "sqlite3 online backup"
            _sqlite_snapshot(source, dump)
        else:
            uri, env, schema = _pg_target(url)
            dump, tool = Path(tmp, "database.pgdump"), "pg_dump -Fc"
            args = [_pg_tool("pg_dump"), "-Fc", "--no-owner", "--no-privileges", "-f", str(dump)]
            _run(args + (["-n", schema] if schema else []) + ["-d", uri], env)
        files = _upload_files(Path(upload_dir))
        manifest = {
            "format": FORMAT,
            "kind": kind,
            "schema": schema,
            "created_at": clock.now().isoformat(),
            "database": dump.name,
            "tool": tool,
            "files": [{"sha256": sha, "size": size} for sha, size, _path in files],
        }
        partial = target.with_name(target.name + ".partial")
        # Personal data: readable by the service user only, from the first byte written.
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w:gz") as tar:
            _add_bytes(tar, "manifest.json", json.dumps(manifest, ensure_ascii=False, indent=1).encode())
            tar.add(dump, arcname=dump.name)
            for sha, _size, path in files:
                tar.add(path, arcname=f"uploads/{sha[:2]}/{sha[2:]}")
        partial.replace(target)  # a crash mid-way leaves a .partial, never a truncated FILE
    return BackupReport(target, kind, len(files), tool)


def _sqlite_snapshot(source: Path, dump: Path) -> None:
    """One-step online backup: a read snapshot of the whole file, taken while writers go on (WAL)."""
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
    dst = sqlite3.connect(dump)
    try:
        with dst:
            src.backup(dst, pages=-1)
    finally:
        dst.close()
        src.close()


def _upload_files(upload_dir: Path) -> list[tuple[str, int, Path]]:
    """Every stored upload as (sha256, size, path); a file whose bytes do not match its name stops the backup."""
    found = []
    if not upload_dir.is_dir():
        return found
    for path in sorted(upload_dir.glob("??/*")):
        sha = path.parent.name + path.name
        if not path.is_file() or not _HEX64.match(sha):
            continue  # temporary files of an upload in progress, or foreign files
        if _sha256(path) != sha:
            raise BackupError(f"上传文件已损坏（内容与 sha256 文件名不符）：{path}")
        found.append((sha, path.stat().st_size, path))
    return found


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


# ---------------------------------------------------------------- restore


def read_manifest(source: str | Path) -> dict:
    try:
        with tarfile.open(source, "r:*") as tar:
            member = tar.extractfile("manifest.json")
            manifest = json.loads(member.read()) if member else None
    except (OSError, KeyError, tarfile.TarError, json.JSONDecodeError) as exc:
        raise BackupError(f"{source} 不是 zhicheng 备份文件：{exc}") from exc
    if not manifest or manifest.get("format") != FORMAT:
        raise BackupError(f"{source} 不是 {FORMAT} 格式的备份文件")
    return manifest


def restore(source: str | Path, url: str, upload_dir: str | Path) -> RestoreReport:
    """Restore the backup `source` into an empty database at `url` and an empty `upload_dir`."""
    manifest = read_manifest(source)
    kind = _kind(url)
    if manifest["kind"] != kind:
        raise BackupError(f"备份来自 {manifest['kind']} 数据库，不能恢复到 {kind} 数据库")
    upload_dir = Path(upload_dir)
    if upload_dir.exists() and any(upload_dir.iterdir()):
        raise BackupError(f"上传目录不为空：{upload_dir}；恢复只写入空的实例")
    _require_empty_database(url, kind, manifest)
    with tempfile.TemporaryDirectory(prefix="zhicheng-restore-") as tmp:
        dump = Path(tmp, manifest["database"])
        with tarfile.open(source, "r:*") as tar:
            _extract(tar, manifest["database"], dump)
            files = 0
            for entry in manifest["files"]:
                sha = entry["sha256"]
                if not _HEX64.match(sha):
                    raise BackupError(f"备份清单中的文件名无效：{sha!r}")
                path = upload_dir / sha[:2] / sha[2:]
                path.parent.mkdir(parents=True, exist_ok=True)
                _extract(tar, f"uploads/{sha[:2]}/{sha[2:]}", path)
                if _sha256(path) != sha:
                    raise BackupError(f"备份中的文件已损坏（sha256 不符）：{sha}")
                files += 1
        if kind == "sqlite":
            target = _sqlite_path(url)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(dump, target)
        else:
            _pg_restore(dump, url, manifest)
    attachments, missing = _check_attachments(url, upload_dir)
    return RestoreReport(kind, files, attachments, missing)


def _extract(tar: tarfile.TarFile, name: str, dest: Path) -> None:
    """Copy one named member's bytes to `dest` (names come from the manifest, never from the archive)."""
    try:
        member = tar.extractfile(name)
    except KeyError:
        member = None
    if member is None:
        raise BackupError(f"备份文件缺少 {name}")
    with dest.open("wb") as out:
        shutil.copyfileobj(member, out)


def _require_empty_database(url: str, kind: str, manifest: dict) -> None:
    if kind == "sqlite":
        path = _sqlite_path(url)
        if path.exists() and path.stat().st_size > 0 and _table_names(url):
            raise BackupError(f"目标数据库不是空的：{path}；恢复只写入空的实例")
        return
    _uri, _env, schema = _pg_target(url)
    if (schema or "public") != (manifest.get("schema") or "public"):
        raise BackupError(
            f"备份来自模式 {manifest.get('schema') or 'public'}，目标是模式 {schema or 'public'}：请恢复到同名模式"
        )
    if _table_names(url):
        raise BackupError("目标数据库（模式）不是空的；恢复只写入空的实例")


def _table_names(url: str) -> list[str]:
    engine = create_engine(url)
    try:
        return inspect(engine).get_table_names()
    finally:
        engine.dispose()


def _pg_restore(dump: Path, url: str, manifest: dict) -> None:
    """pg_restore without the CREATE SCHEMA entry: the (empty) schema already exists, or is created here."""
    uri, env, schema = _pg_target(url)
    if schema:
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
        engine.dispose()
    tool = _pg_tool("pg_restore")
    listing = _run([tool, "-l", str(dump)], env).stdout
    kept = [line for line in listing.splitlines() if not re.match(r"^\d+;\s+\d+\s+\d+\s+SCHEMA\s", line)]
    list_file = dump.with_suffix(".list")
    list_file.write_text("\n".join(kept) + "\n", encoding="utf-8")
    _run(
        [
            tool,
            "--no-owner",
            "--no-privileges",
            "--exit-on-error",
            "-L",
            str(list_file),
            "-d",
            uri,
            str(dump),
        ],
        env,
    )


def _check_attachments(url: str, upload_dir: Path) -> tuple[int, list[str]]:
    """Every attachment row of the restored database has its file, with matching bytes."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            rows = [r[0] for r in conn.execute(text("SELECT sha256 FROM attachment"))]
    finally:
        engine.dispose()
    missing = [
        sha
        for sha in rows
        if not (upload_dir / sha[:2] / sha[2:]).is_file() or _sha256(upload_dir / sha[:2] / sha[2:]) != sha
    ]
    return len(rows), missing
