"""Writers of one process take turns for SQLite's write lock, first come first served.

SQLite's own busy handler polls with sleeps of up to 100 ms and no order, so under a stream
of writes a waiting writer could be overtaken again and again; the app's threads therefore
queue in the process first (campaign/database/writequeue.py). What a person would notice: a write
that waits too long is the friendly 503 that saves nothing, and a finished request, however
it ended, never leaves the next writer waiting.
"""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import func, select

from campaign.commitments.models import Commitment
from campaign.database import sqlite
from campaign.database.writequeue import FairLock, QueuedConnection, queue_for
from campaign.extensions import db


def test_the_lock_passes_to_waiters_in_the_order_they_came():
    lock = FairLock()
    assert lock.acquire(timeout=0)
    served: list[int] = []

    def writer(n: int) -> None:
        assert lock.acquire(timeout=10)
        served.append(n)
        lock.release()

    threads = []
    for n in range(5):
        thread = threading.Thread(target=writer, args=(n,))
        thread.start()
        threads.append(thread)
        while lock.waiting < n + 1:  # each is queued before the next arrives
            time.sleep(0.001)
    lock.release()
    for thread in threads:
        thread.join(timeout=10)
    assert served == [0, 1, 2, 3, 4]
    assert lock.acquire(timeout=0), "the last writer left the lock free"


def test_a_waiter_whose_time_runs_out_leaves_the_queue():
    lock = FairLock()
    assert lock.acquire(timeout=0)
    assert not lock.acquire(timeout=0.01)
    assert lock.waiting == 0
    lock.release()
    assert lock.acquire(timeout=0)


@pytest.fixture
def sqlite_queue(app, monkeypatch) -> FairLock:
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's write lock")
    monkeypatch.setattr(sqlite, "SQLITE_BUSY_TIMEOUT_MS", 50)
    queue = queue_for(db.engine.url.database)
    assert queue is not None
    return queue


def test_the_app_connects_to_sqlite_through_the_queue(sqlite_queue):
    with db.engine.connect() as conn:
        assert isinstance(conn.connection.dbapi_connection, QueuedConnection)


def test_a_submission_queued_too_long_is_a_503_and_saves_nothing(
    sqlite_queue, client, auth, make, catalog
):
    auth.login(make.user().email)
    pledge = {f"commit_{catalog[0].id}": "y", f"visibility_{catalog[0].id}": "public"}
    assert sqlite_queue.acquire(timeout=1)  # another thread of this process is writing
    try:
        response = client.post("/commitments/new", data=pledge)
    finally:
        sqlite_queue.release()
    assert response.status_code == 503
    assert "Nothing was saved" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Commitment)) == 0

    assert client.post("/commitments/new", data=pledge).status_code == 302
    assert db.session.scalar(select(func.count()).select_from(Commitment)) == 1


def test_no_request_keeps_the_queue_however_it_ended(sqlite_queue, client, auth, make, catalog):
    official = make.user()
    commitment = make.commitment(official, catalog[0])
    db.session.commit()
    auth.login(official.email)
    requests = {
        "saved": (f"/commitments/{commitment.id}/progress", {"stage": "introduced"}),
        "refused by its form": (f"/commitments/{commitment.id}/progress", {"stage": "nonsense"}),
        "not found": ("/commitments/2147483647/progress", {"stage": "passed"}),
        "forbidden": ("/staff/queue", {}),
        "signed out": ("/logout", {}),
    }
    for what, (path, data) in requests.items():
        client.post(path, data=data)
        assert sqlite_queue.acquire(timeout=0), f"the queue was still held after: {what}"
        sqlite_queue.release()
