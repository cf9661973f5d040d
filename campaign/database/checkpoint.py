"""Under gunicorn, a background thread folds SQLite's WAL back into the database file.

By default the writer whose commit takes the write-ahead log past 1,000 pages copies it into
the database file, and syncs it, before its request can finish, while every other writer
waits for the lock: under `make loadtest` those commits were the slowest submissions (p95
500–600 ms; 260 ms with no checkpoint during the run). A worker therefore runs one thread
that checkpoints PASSIVE, which neither waits for nor blocks readers and writers, every
INTERVAL_SECONDS, and writers' own checkpoint stays only as a backstop at BACKSTOP_PAGES
(sqlite.py). Other processes (`flask run`, commands, tests) keep SQLite's default.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time

log = logging.getLogger(__name__)

INTERVAL_SECONDS = 1.0
BACKSTOP_PAGES = 10_000  # ~40 MB of log: only reached if the thread falls behind
running: set[str] = set()
_guard = threading.Lock()


def start(database: str) -> bool:
    """Start the checkpointer for this SQLite file, once per process."""
    if not database or database == ":memory:":
        return False
    with _guard:
        if database in running:
            return False
        running.add(database)
    threading.Thread(
        target=_checkpoint_forever, args=(database,), name="sqlite-checkpoint", daemon=True
    ).start()
    return True


def _checkpoint_forever(database: str) -> None:
    connection = sqlite3.connect(database, isolation_level=None, check_same_thread=False)
    try:
        while True:
            time.sleep(INTERVAL_SECONDS)
            try:
                connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            except sqlite3.Error:
                log.warning("Background checkpoint of %s failed", database, exc_info=True)
    finally:
        connection.close()
