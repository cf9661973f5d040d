"""Threads of one process take SQLite's write lock in turn, in the order they asked.

SQLite has one write lock per database. A writer that finds it taken waits in SQLite's busy
handler, which sleeps and tries again (1 ms at first, then up to 100 ms between tries) in no
particular order: under a steady stream of writes a waiting writer sleeps through releases
and newer writers overtake it, so a few wait for seconds (`make loadtest` saw progress
reports with a p95 of 1.5–2 s while their median was 150 ms). So a connection of this app
queues in its process first (a first-come, first-served lock per database file) and is
handed the lock as soon as the writer before it commits or rolls back; only writers in other
processes still meet SQLite's busy handler, which remains the arbiter between processes.

Connections come from `QueuedConnection` (sqlite3's documented `factory` hook, set in
sqlite.py), which waits its turn just before the app sends BEGIN IMMEDIATE.
"""

from __future__ import annotations

import sqlite3
import threading
from collections import deque


class FairLock:
    """A lock handed to waiters in arrival order; not tied to a thread."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._waiters: deque[threading.Event] = deque()
        self._held = False

    def acquire(self, timeout: float) -> bool:
        with self._guard:
            if not self._held:
                self._held = True
                return True
            turn = threading.Event()
            self._waiters.append(turn)
        if turn.wait(timeout):
            return True
        with self._guard:
            if turn.is_set():  # handed over just as the wait ran out
                return True
            self._waiters.remove(turn)
            return False

    def release(self) -> None:
        with self._guard:
            if self._waiters:
                self._waiters.popleft().set()  # the lock passes on without being free
            else:
                self._held = False

    @property
    def waiting(self) -> int:
        with self._guard:
            return len(self._waiters)


_queues: dict[str, FairLock] = {}
_queues_guard = threading.Lock()


def queue_for(database: str) -> FairLock | None:
    """The process's queue for one database file; None for a private in-memory database."""
    if not database or database == ":memory:" or "mode=memory" in database:
        return None
    with _queues_guard:
        return _queues.setdefault(database, FairLock())


class QueuedConnection(sqlite3.Connection):
    """A SQLite connection that holds its database's queue from BEGIN IMMEDIATE to the end
    of that transaction (commit, rollback or close)."""

    def __init__(self, database, *args, **kwargs):
        super().__init__(database, *args, **kwargs)
        self.database = str(database)
        self.write_queue = queue_for(self.database)
        self.holds_queue = False

    def wait_turn(self, timeout: float) -> None:
        """Called just before BEGIN IMMEDIATE. Raises "database is locked" (what SQLite itself
        would say) if this connection's turn does not come within `timeout` seconds."""
        if self.write_queue is None or self.holds_queue:
            return
        if not self.write_queue.acquire(timeout):
            error = sqlite3.OperationalError("database is locked")
            error.sqlite_errorcode = sqlite3.SQLITE_BUSY
            error.sqlite_errorname = "SQLITE_BUSY"
            raise error
        self.holds_queue = True

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self.leave_queue()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self.leave_queue()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.leave_queue()

    def leave_queue(self) -> None:
        if self.holds_queue:
            self.holds_queue = False
            self.write_queue.release()
