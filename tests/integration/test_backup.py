"""Backup while a campaign is being simulated, restore into an empty instance, nothing lost (SQLite and PostgreSQL)."""

from __future__ import annotations

import hashlib
import shutil
import tarfile
import threading
from datetime import datetime

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from calendars import TZ
from engine.backup import BackupError, backup, restore
from engine.clock import FixedClock
from engine.store import services
from engine.store.simulate import simulate

NOW = FixedClock(datetime(2020, 11, 20, 9, tzinfo=TZ))


def _store_uploads(session_factory, upload_dir, count=3):
    """Bytes stored by sha256 as webapp.uploads does, with their attachment rows."""
    shas = []
    with session_factory() as s:
        for i in range(count):
            data = b"%PDF-1.4\n" + f"证明材料 {i}\n".encode() * (i + 1)
            sha = hashlib.sha256(data).hexdigest()
            (upload_dir / sha[:2]).mkdir(parents=True, exist_ok=True)
            (upload_dir / sha[:2] / sha[2:]).write_bytes(data)
            services.record_attachment(
                s,
                NOW,
                sha256=sha,
                size=len(data),
                mime="application/pdf",
                original_name=f"{i}.pdf",
                uploaded_by=None,
            )
            shas.append(sha)
        s.commit()
    return shas


def _empty_target(database_url, tmp_path):
    """An empty instance's database: a new SQLite file, or the same PostgreSQL schema dropped and re-created."""
    if database_url.startswith("sqlite"):
        return f"sqlite:///{tmp_path / 'restored.sqlite'}"
    schema = database_url.rsplit("search_path%3D", 1)[1]
    admin = sa.create_engine(database_url)
    with admin.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    return database_url


def test_backup_during_simulate_restores_with_every_file_and_a_green_audit(
    database_url, session_factory, tmp_path, monkeypatch
):
    if database_url.startswith("postgresql") and not shutil.which("pg_dump"):
        pytest.skip("pg_dump is not installed (apt-get install postgresql-client)")
    uploads = tmp_path / "uploads"
    shas = _store_uploads(session_factory, uploads)
    halfway, errors = threading.Event(), []

    def run():
        try:
            simulate(
                session_factory, 12, seed=5, on_step=lambda done, total: done * 2 >= total and halfway.set()
            )
        except Exception as exc:  # surfaced by the assertion below
            errors.append(exc)
        finally:
            halfway.set()

    worker = threading.Thread(target=run)
    worker.start()
    halfway.wait(timeout=300)
    still_running = worker.is_alive()
    archive = tmp_path / "backup.tar.gz"
    report = backup(database_url, uploads, archive, NOW)
    worker.join()
    assert not errors and still_running
    assert report.files == len(shas) and archive.is_file()
    assert archive.stat().st_mode & 0o777 == 0o600  # personal data: the service user only
    with pytest.raises(BackupError, match="不会覆盖"):
        backup(database_url, uploads, archive, NOW)

    target = _empty_target(database_url, tmp_path)
    restored_uploads = tmp_path / "restored-uploads"
    result = restore(archive, target, restored_uploads)
    assert result.files == len(shas) and result.attachments == len(shas) and result.missing == []
    for sha in shas:
        assert hashlib.sha256((restored_uploads / sha[:2] / sha[2:]).read_bytes()).hexdigest() == sha

    from webapp.cli import cli

    monkeypatch.setenv("DATABASE_URL", target)
    verified = CliRunner().invoke(cli, ["audit", "verify", "--all"])
    assert verified.exit_code == 0, verified.output
    assert "0 份不一致" in verified.output and "核验 0 份" not in verified.output

    with pytest.raises(BackupError, match="不是空的"):  # restore writes only into an empty instance
        restore(archive, target, tmp_path / "other-uploads")


def test_restore_refuses_a_corrupt_upload_and_a_foreign_file(tmp_path, database_url, session_factory):
    uploads = tmp_path / "uploads"
    (sha,) = _store_uploads(session_factory, uploads, count=1)
    (uploads / sha[:2] / sha[2:]).write_bytes(b"changed on disk")
    with pytest.raises(BackupError, match="已损坏"):
        backup(database_url, uploads, tmp_path / "b.tar.gz", NOW)
    not_a_backup = tmp_path / "x.tar.gz"
    with tarfile.open(not_a_backup, "w:gz"):
        pass
    with pytest.raises(BackupError, match="不是"):
        restore(not_a_backup, f"sqlite:///{tmp_path / 'r.sqlite'}", tmp_path / "r")


def test_backup_and_restore_cli(tmp_path, monkeypatch, session_factory, database_url):
    if not database_url.startswith("sqlite"):
        pytest.skip("the CLI wiring is the same for both; PostgreSQL is covered above")
    from webapp.cli import cli

    uploads = tmp_path / "uploads"
    _store_uploads(session_factory, uploads, count=2)
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("ZHICHENG_UPLOAD_DIR", str(uploads))
    runner = CliRunner()
    made = runner.invoke(cli, ["backup", str(tmp_path / "b.tar.gz")])
    assert made.exit_code == 0 and "2 个上传文件" in made.output, made.output
    again = runner.invoke(cli, ["backup", str(tmp_path / "b.tar.gz")])
    assert again.exit_code == 1 and "不会覆盖" in again.output and "Traceback" not in again.output
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'new' / 'restored.sqlite'}")
    monkeypatch.setenv("ZHICHENG_UPLOAD_DIR", str(tmp_path / "new" / "uploads"))
    done = runner.invoke(cli, ["restore", str(tmp_path / "b.tar.gz")])
    assert done.exit_code == 0 and "sha256 校验通过" in done.output, done.output


def test_postgresql_backup_without_pg_dump_says_so(tmp_path, monkeypatch):
    monkeypatch.setattr("engine.backup.shutil.which", lambda name: None)
    with pytest.raises(BackupError, match="找不到 pg_dump"):
        backup("postgresql+psycopg://u@127.0.0.1:5432/db", tmp_path, tmp_path / "b.tar.gz", NOW)
    assert not (tmp_path / "b.tar.gz").exists()
