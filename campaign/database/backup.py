"""Consistent snapshots of the database while the app serves, and putting one back.

SQLite: the online backup API copies one consistent snapshot (in WAL mode, writers carry on
meanwhile) into a single self-contained file; a restore copies it back into the live file in
one write transaction, so workers see the old data or the new, never a mix. PostgreSQL:
pg_dump reads one snapshot into a custom-format archive; pg_restore puts it back in one
transaction (--single-transaction), so a failed restore changes nothing.

A snapshot is first written beside its destination and renamed into place, so a crash never
leaves a half-written backup under the real name. After a restore the data revision moves
past its value before the restore, so no worker serves figures cached from the replaced data.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import URL, Engine

from campaign.database import sqlite


class BackupError(RuntimeError):
    """A backup or restore that cannot be done; the message says why and what to do."""


def describe(url: URL) -> str:
    """The database, for messages: its file or its server and name, never a password."""
    if url.get_backend_name() == "sqlite":
        return str(url.database)
    return url.set(drivername="postgresql").render_as_string(hide_password=True)


def backup_database(engine: Engine, target: Path) -> None:
    """Write a consistent snapshot of the database to `target`, replacing any file there."""
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    try:
        if engine.url.get_backend_name() == "sqlite":
            _backup_sqlite(_sqlite_file(engine.url), partial)
        else:
            _backup_postgresql(engine, partial)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    _sync_directory(target.parent)


def restore_database(engine: Engine, source: Path) -> str:
    """Replace the database's data with the snapshot in `source`; returns the snapshot's
    schema (migration) revision."""
    if engine.url.get_backend_name() == "sqlite":
        return _restore_sqlite(_sqlite_file(engine.url), source)
    return _restore_postgresql(engine, source)


# SQLite ------------------------------------------------------------------------------------


def _sqlite_file(url: URL) -> Path:
    if not url.database or url.database == ":memory:" or url.database.startswith("file:"):
        raise BackupError(f"Only a SQLite database in a file can be backed up, not {url}.")
    path = Path(url.database)
    if not path.is_file():
        raise BackupError(f"There is no database at {path}.")
    return path


def _connect(path: Path, *, read_only: bool = False) -> sqlite3.Connection:
    if read_only:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    else:
        conn = sqlite3.connect(path, isolation_level=None)
    conn.execute(f"PRAGMA busy_timeout={int(sqlite.SQLITE_BUSY_TIMEOUT_MS)}")
    return conn


def _backup_sqlite(live_path: Path, partial: Path) -> None:
    live = _connect(live_path)
    try:
        copy = sqlite3.connect(partial, isolation_level=None)
        try:
            live.backup(copy)  # all pages in one step: one snapshot, however busy the app is
            copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal
            _check_sqlite(copy, partial)
        finally:
            copy.close()
    finally:
        live.close()
    _sync_file(partial)


def _restore_sqlite(live_path: Path, source: Path) -> str:
    try:
        backup = _connect(source, read_only=True)
    except sqlite3.Error as error:
        raise BackupError(f"{source} cannot be opened as a SQLite database: {error}") from error
    with tempfile.TemporaryDirectory(prefix="campaign-restore-") as scratch:
        staged_path = Path(scratch) / "staged.sqlite3"
        staged = sqlite3.connect(staged_path, isolation_level=None)
        try:
            try:
                schema = _check_sqlite(backup, source)
                backup.backup(staged)
            finally:
                backup.close()
            live = _connect(live_path)
            try:
                revision_before = _sqlite_data_revision(live)
                # Raised in the copy, so the live file changes once: data and revision together.
                staged.execute(
                    "UPDATE data_revision SET revision = max(revision, ?) + 1",
                    (revision_before,),
                )
                staged.backup(live)
            finally:
                live.close()
        finally:
            staged.close()
    return schema


def _check_sqlite(conn: sqlite3.Connection, path: Path) -> str:
    """The snapshot's migration revision, once it proves intact and one of ours."""
    try:
        verdict = conn.execute("PRAGMA integrity_check").fetchone()[0]
        revision = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.DatabaseError as error:
        raise BackupError(f"{path} is not a usable campaign database: {error}") from error
    if verdict != "ok":
        raise BackupError(f"{path} failed SQLite's integrity check: {verdict}")
    if revision is None:
        raise BackupError(f"{path} has no migration revision; is it a campaign database?")
    return revision[0]


def _sqlite_data_revision(conn: sqlite3.Connection) -> int:
    try:
        row = conn.execute("SELECT revision FROM data_revision").fetchone()
    except sqlite3.OperationalError:  # not migrated yet: nothing can be cached from it
        return 0
    return row[0] if row else 0


def _sync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _sync_directory(path: Path) -> None:
    """Make a rename durable: the directory entry is only on disk once its directory is."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# PostgreSQL --------------------------------------------------------------------------------


def _backup_postgresql(engine: Engine, partial: Path) -> None:
    pg_dump = _client_tool("pg_dump", engine)
    _run([pg_dump, "--format=custom", f"--file={partial}", *_connection_args(engine)], engine)
    _sync_file(partial)


def _restore_postgresql(engine: Engine, source: Path) -> str:
    pg_restore = _client_tool("pg_restore", engine)
    listing = _run([pg_restore, "--list", str(source)], engine, what=f"reading {source}")
    if "TABLE DATA public alembic_version" not in listing:
        raise BackupError(f"{source} has no migration revision; is it a campaign backup?")
    revision_before = _postgresql_data_revision(engine)
    engine.dispose()  # hold no connection (or lock) of our own while the tables are replaced
    _run(
        [
            pg_restore,
            "--clean",
            "--if-exists",
            "--no-owner",
            "--single-transaction",
            "--exit-on-error",
            *_connection_args(engine),
            str(source),
        ],
        engine,
        what=f"restoring {source}",
    )
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE data_revision SET revision = GREATEST(revision, :before) + 1"),
            {"before": revision_before},
        )
        return conn.scalar(text("SELECT version_num FROM alembic_version"))


def _postgresql_data_revision(engine: Engine) -> int:
    with engine.connect() as conn:
        exists = conn.scalar(text("SELECT to_regclass('data_revision') IS NOT NULL"))
        return (conn.scalar(text("SELECT max(revision) FROM data_revision")) or 0) if exists else 0


def _client_tool(name: str, engine: Engine) -> str:
    """The path of pg_dump or pg_restore, at least as new as the server (older ones refuse)."""
    with engine.connect() as conn:
        server_major = int(conn.scalar(text("SHOW server_version_num"))) // 10000
    install = (
        f"Install the PostgreSQL {server_major} client tools "
        f"(Debian: apt-get install postgresql-client-{server_major})."
    )
    path = shutil.which(name)
    if path is None:
        raise BackupError(f"{name} was not found on PATH. {install}")
    version = subprocess.run(  # noqa: S603 - a fixed command line
        [path, "--version"], capture_output=True, text=True, check=False
    ).stdout
    found = re.search(r"(\d+)(?:\.\d+)?", version)
    if found is None or int(found.group(1)) < server_major:
        raise BackupError(
            f"{path} is {version.strip() or 'of unknown version'}, older than the server "
            f"(PostgreSQL {server_major}). {install}"
        )
    return path


def _connection_args(engine: Engine) -> list[str]:
    """libpq's view of the app's database URL; the password travels in the environment."""
    uri = engine.url.set(drivername="postgresql", password=None).render_as_string()
    return ["--no-password", f"--dbname={uri}"]


def _run(command: list[str], engine: Engine, what: str | None = None) -> str:
    env = dict(os.environ)
    if engine.url.password:
        env["PGPASSWORD"] = str(engine.url.password)
    result = subprocess.run(  # noqa: S603 - our own command line, no shell
        command, capture_output=True, text=True, env=env, check=False
    )
    if result.returncode != 0:
        doing = what or f"running {Path(command[0]).name}"
        raise BackupError(f"Failed {doing}: {result.stderr.strip()}")
    return result.stdout
