"""Under gunicorn, SQLite's write-ahead log is copied into the database file by a thread of
the worker, so no person's submission pays for it (campaign/database/checkpoint.py)."""

from __future__ import annotations

import sqlite3
import time

import pytest

from campaign.database import checkpoint


def test_the_background_thread_folds_the_log_into_the_database_file(tmp_path, monkeypatch):
    monkeypatch.setattr(checkpoint, "INTERVAL_SECONDS", 0.05)
    monkeypatch.setattr(checkpoint, "running", set())
    path = tmp_path / "campaign.sqlite3"
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("PRAGMA journal_mode=WAL")
    writer.execute("PRAGMA wal_autocheckpoint=0")  # no writer checkpoints
    writer.execute("CREATE TABLE note (body BLOB)")
    writer.execute("INSERT INTO note VALUES (zeroblob(1000000))")
    assert path.stat().st_size < 100_000  # the megabyte is only in the log so far

    assert checkpoint.start(str(path))
    assert not checkpoint.start(str(path))  # one thread per database and process
    deadline = time.monotonic() + 10
    while path.stat().st_size < 1_000_000 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert path.stat().st_size >= 1_000_000
    assert writer.execute("SELECT length(body) FROM note").fetchone() == (1_000_000,)
    writer.close()


def test_writers_leave_checkpoints_to_the_thread_only_where_it_runs(app, monkeypatch):
    from campaign.extensions import db

    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's write-ahead log")
    path = db.engine.url.database

    def autocheckpoint() -> int:
        db.engine.dispose()
        with db.engine.connect() as conn:
            return conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar()

    monkeypatch.setattr(checkpoint, "running", set())
    assert autocheckpoint() == 1000  # SQLite's default
    monkeypatch.setattr(checkpoint, "running", {path})
    assert autocheckpoint() == checkpoint.BACKSTOP_PAGES
    db.engine.dispose()
