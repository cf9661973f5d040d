"""Several gunicorn workers and several officials writing at once lose nothing and fail no one.

Real processes all the way: gunicorn's workers share one database (a SQLite file, or the
PostgreSQL database of TEST_DATABASE_URL), and each official is a separate client process
submitting through real HTTP with CSRF tokens. SQLite writers must queue for the write lock
(BEGIN IMMEDIATE, busy_timeout) rather than fail with "database is locked".
"""

from __future__ import annotations

import multiprocessing
import queue

import pytest
from sqlalchemy import func, select

from campaign.audit.models import AuditEntry
from campaign.commitments.models import Commitment, TimelineEntry
from campaign.commitments.stages import Stage
from campaign.extensions import db
from campaign.timeutil import today
from tests.gunicorn_server import GunicornServer, official_at_work

pytestmark = pytest.mark.slow

OFFICIALS = 6
POLICIES_EACH = 5


@pytest.fixture(scope="module")
def served(app, tmp_path_factory):
    directory = tmp_path_factory.mktemp("gunicorn")
    with GunicornServer(app.config["SQLALCHEMY_DATABASE_URI"], directory, workers=4) as server:
        yield server


def test_officials_writing_at_once_through_several_workers_lose_nothing(served, make, catalog):
    emails = [make.user().email for _ in range(OFFICIALS)]
    policy_ids = [policy.id for policy in catalog[:POLICIES_EACH]]
    spawn = multiprocessing.get_context("spawn")
    start_together = spawn.Barrier(OFFICIALS)
    results = spawn.Queue()
    clients = [
        spawn.Process(
            target=official_at_work,
            args=(served.base_url, email, policy_ids, today().isoformat(), start_together, results),
        )
        for email in emails
    ]
    for client in clients:
        client.start()
    try:
        reports = dict(results.get(timeout=120) for _ in clients)
    except queue.Empty:
        pytest.fail(f"a client did not finish:\n{served.log_text()}")
    finally:
        for client in clients:
            client.join(timeout=10)

    failures = [
        (email, what, status, body[:500])
        for email, outcomes in reports.items()
        for what, status, body in outcomes
        if status != 302
    ]
    assert failures == [], served.log_text()
    assert all(len(outcomes) == 2 * len(policy_ids) for outcomes in reports.values())
    posts = [pid for pid, method, _ in served.requests() if method == "POST"]
    assert len(set(posts)) > 1, "the submissions were not spread over several workers"
    assert "database is locked" not in served.log_text()

    db.session.commit()  # read what the workers committed, not an older snapshot
    expected = OFFICIALS * len(policy_ids)
    assert db.session.scalar(select(func.count()).select_from(Commitment)) == expected
    stages = db.session.execute(
        select(Commitment.stage, Commitment.version, func.count()).group_by(
            Commitment.stage, Commitment.version
        )
    ).all()
    assert stages == [(Stage.INTRODUCED, 2, expected)]
    entries_per_commitment = db.session.execute(
        select(func.count(TimelineEntry.id)).group_by(TimelineEntry.commitment_id).distinct()
    ).scalars()
    assert list(entries_per_commitment) == [2]
    audit = dict(
        db.session.execute(
            select(AuditEntry.action, func.count())
            .where(AuditEntry.action.like("commitment.%"))
            .group_by(AuditEntry.action)
        ).all()
    )
    assert audit == {"commitment.created": expected, "commitment.stage_changed": expected}
