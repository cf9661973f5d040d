"""A gunicorn worker killed (SIGKILL) in the middle of a submission leaves all of it or none.

Deterministic, not timed: the test holds a lock the submission needs, so the worker is stuck
inside its request until the test has killed it. On SQLite that is the write lock (BEGIN
IMMEDIATE), so the worker cannot begin its transaction. On PostgreSQL it is a SHARE lock on
timeline_entry, and the test waits until pg_stat_activity shows the worker's transaction,
having already written the commitment, waiting to add its timeline entry: the half-way point
a crash must not leave behind. A kill just after the response must leave everything.
"""

from __future__ import annotations

import http.client
import os
import signal
import sqlite3
import threading
import time
from contextlib import contextmanager

import psycopg
import pytest
from sqlalchemy import make_url, select

from campaign.audit.models import AuditEntry
from campaign.commitments.models import Commitment, TimelineEntry
from campaign.extensions import db
from campaign.timeutil import today
from tests.gunicorn_server import Browser, GunicornServer, commit_to, report_progress

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def served(app, tmp_path_factory):
    directory = tmp_path_factory.mktemp("gunicorn")
    with GunicornServer(app.config["SQLALCHEMY_DATABASE_URI"], directory, workers=2) as server:
        yield server


@pytest.fixture
def official(make, catalog):
    return make.user()


@pytest.fixture
def browser(served, official):
    browser = Browser(served.base_url)
    browser.login(official.email)
    return browser


def saved_for(official) -> dict:
    """Everything a submission by this official writes, as plain values."""
    db.session.commit()  # a fresh snapshot: see what the workers committed
    commitments = db.session.execute(
        select(Commitment.policy_id, Commitment.stage, Commitment.version)
        .where(Commitment.official_id == official.id)
        .order_by(Commitment.policy_id)
    ).all()
    entries = db.session.execute(
        select(Commitment.policy_id, TimelineEntry.stage)
        .join(TimelineEntry.commitment)
        .where(Commitment.official_id == official.id)
        .order_by(Commitment.policy_id, TimelineEntry.id)
    ).all()
    audit = db.session.scalars(
        select(AuditEntry.action).where(AuditEntry.actor_id == official.id).order_by(AuditEntry.id)
    ).all()
    return {
        "commitments": [(p, s.value, v) for p, s, v in commitments],
        "timeline": [(p, s.value) for p, s in entries],
        "audit": list(audit),
    }


class Submission:
    """One of the two writes an official makes: a new commitment, or a progress report on an
    existing one. Each knows its request and what it writes when it succeeds."""

    def __init__(self, kind: str, browser: Browser, official, make, catalog):
        self.kind = kind
        self.browser = browser
        self.policy = catalog[0]
        if kind == "commit":
            self.form_path = self.action = "/commitments/new"
            pid = self.policy.id
            self.fields = {f"commit_{pid}": "y", f"visibility_{pid}": "public"}
        else:
            # A fresh transaction: on SQLite, one that read before the worker wrote (the
            # sign-in) could not write now.
            db.session.commit()
            commitment = make.commitment(official, self.policy)
            self.form_path = f"/commitments/{commitment.id}"
            self.action = f"/commitments/{commitment.id}/progress"
            self.fields = {"stage": "introduced", "occurred_on": today().isoformat()}

    def prepare(self) -> dict:
        """The form's hidden fields, fetched before anything is locked."""
        _, hidden = self.browser.form(self.form_path)
        return {**hidden, **self.fields}

    def send(self):
        if self.kind == "commit":
            return commit_to(self.browser, self.policy.id)
        commitment_id = int(self.form_path.rsplit("/", 1)[1])
        return report_progress(self.browser, commitment_id, "introduced", today().isoformat())

    def when_saved(self, before: dict) -> dict:
        """`before` with this submission fully applied."""
        p = self.policy.id
        if self.kind == "commit":
            return {
                "commitments": [(p, "pledged", 1)],
                "timeline": [(p, "pledged")],
                "audit": [*before["audit"], "commitment.created"],
            }
        return {
            "commitments": [(p, "introduced", 2)],
            "timeline": [*before["timeline"], (p, "introduced")],
            "audit": [*before["audit"], "commitment.stage_changed"],
        }


@pytest.fixture(params=["commit", "progress"])
def submission(request, browser, official, make, catalog) -> Submission:
    return Submission(request.param, browser, official, make, catalog)


@contextmanager
def lock_the_submission_needs(database_uri: str):
    """Hold what the submission needs; yields a function that waits until the worker is stuck
    on it (PostgreSQL: returns the worker's backend pid, to wait for its end after the kill)."""
    url = make_url(database_uri)
    if url.get_backend_name() == "sqlite":
        holder = sqlite3.connect(url.database, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        try:
            yield lambda: None  # the worker cannot get past its own BEGIN IMMEDIATE
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        return
    conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo) as holder, psycopg.connect(conninfo, autocommit=True) as watch:
        holder.execute("LOCK TABLE timeline_entry IN SHARE MODE")
        backend = {}

        def stuck() -> int:
            backend["pid"] = _wait_for(
                lambda: watch.execute(
                    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                    "AND wait_event_type = 'Lock' AND query LIKE 'INSERT INTO timeline_entry%'"
                ).fetchone(),
                "the worker waiting to add its timeline entry",
            )[0]
            return backend["pid"]

        try:
            yield stuck
        finally:
            holder.rollback()
            if "pid" in backend:  # the dead worker's transaction must end before we look
                _wait_for(
                    lambda: watch.execute(
                        "SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = %s)",
                        (backend["pid"],),
                    ).fetchone(),
                    "the killed worker's database session to end",
                )


def _wait_for(probe, what: str, timeout: float = 15):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.02)
    raise TimeoutError(f"gave up waiting for {what}")


def kill(pid: int) -> None:
    """SIGKILL a worker and wait until the master has reaped it."""
    os.kill(pid, signal.SIGKILL)

    def gone() -> bool:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        return False

    _wait_for(gone, f"worker {pid} to be gone")


def test_worker_killed_in_the_middle_of_a_submission_saves_none_of_it(served, official, submission):
    data = submission.prepare()
    before = saved_for(official)
    outcome: list = []
    with lock_the_submission_needs(served.database_uri) as wait_until_stuck:
        mark = len(served.requests())
        client = threading.Thread(
            target=lambda: outcome.append(_outcome_of(submission.browser, submission.action, data))
        )
        client.start()
        worker = served.worker_for("POST", submission.action, after=mark)
        wait_until_stuck()
        kill(worker)
        client.join(timeout=30)
    assert isinstance(outcome[0], http.client.HTTPException | OSError), outcome
    assert saved_for(official) == before

    # The master replaces the worker; the official sends it again and it is saved whole.
    response = submission.send()
    assert response.status == 302, response.body
    assert saved_for(official) == submission.when_saved(before)


def test_worker_killed_right_after_answering_keeps_the_whole_submission(
    served, official, submission
):
    before = saved_for(official)
    mark = len(served.requests())
    response = submission.send()
    assert response.status == 302, response.body
    kill(served.worker_for("POST", submission.action, after=mark))
    assert saved_for(official) == submission.when_saved(before)


def _outcome_of(browser: Browser, path: str, data: dict):
    try:
        return browser.request(path, data)
    except (http.client.HTTPException, OSError) as error:
        return error
