"""`flask backup` and `flask restore`: a snapshot taken while the app serves comes back exactly.

On SQLite (the online backup API) and on PostgreSQL (pg_dump / pg_restore), with the suite's
database; the snapshot taken while another process writes is restored into a database of its
own and checked there.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.orm import Session

from campaign.accounts.models import User
from campaign.accounts.roles import Role
from campaign.audit.models import AuditEntry
from campaign.commitments.models import Commitment, TimelineEntry, Visibility
from campaign.commitments.operations import Pledge, make_commitments, record_progress
from campaign.commitments.stages import Stage
from campaign.database.backup import restore_database
from campaign.extensions import db
from campaign.followup.models import ContactKind
from campaign.followup.operations import assign, log_contact
from campaign.help.models import HelpTopic
from campaign.help.operations import ask_for_help
from tests.conftest import scratch_postgresql_database

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def campaign_data(make, catalog):
    """Users, commitments with timelines, a follow-up and contact, a help request, and the
    audit entries the operations wrote for all of it."""
    staff = make.user(Role.STAFF, name="Sam Staff")
    ana = make.user(name="Ana Díaz")
    ben = make.user(name="Ben Okafor")
    pledges = [
        Pledge(catalog[0], Visibility.PUBLIC, date(2027, 1, 1), "First council vote in May."),
        Pledge(catalog[1], Visibility.COUNTED, None, None),
    ]
    alpr, sanctuary = make_commitments(ana, pledges, pledged_on=date(2026, 3, 1))
    record_progress(
        alpr,
        stage=Stage.INTRODUCED,
        occurred_on=date(2026, 4, 2),
        recorded_by=ana,
        evidence_url="https://example.gov/agenda/7",
    )
    (bens,) = make_commitments(
        ben, [Pledge(catalog[2], Visibility.PRIVATE, None, None)], pledged_on=date(2026, 3, 5)
    )
    assign([alpr, bens], staff, staff)
    log_contact(
        official=ben,
        commitment=bens,
        staff=staff,
        kind=ContactKind.CALL,
        contacted_on=date(2026, 4, 10),
        note="Wants the model ordinance.",
        next_follow_up_on=date(2026, 5, 1),
    )
    ask_for_help(sanctuary, ana, HelpTopic.LEGAL_REVIEW, "Who can review our draft?")
    db.session.commit()
    return {"staff": staff, "ana": ana, "ben": ben, "alpr": alpr, "bens": bens}


def everything() -> dict[str, list[tuple]]:
    """Every row of every table (and the migration revision), in primary-key order."""
    db.session.commit()
    with db.engine.connect() as conn:
        rows = {
            table.name: [
                tuple(row) for row in conn.execute(select(table).order_by(*table.primary_key))
            ]
            for table in db.metadata.sorted_tables
        }
        rows["alembic_version"] = conn.execute(
            text("SELECT version_num FROM alembic_version")
        ).all()
    return rows


def change_everything(data, make, catalog) -> None:
    """Edits, deletions and additions of every kind since the backup."""
    db.session.delete(db.session.get(Commitment, data["bens"].id))  # cascades its follow-up
    db.session.get(User, data["ana"].id).name = "Ana Renamed"
    record_progress(
        db.session.get(Commitment, data["alpr"].id),
        stage=Stage.PASSED,
        occurred_on=date(2026, 6, 1),
        recorded_by=db.session.get(User, data["ana"].id),
    )
    db.session.commit()
    make.commitment(make.user(name="Cy New"), catalog[3])


def test_restore_brings_back_exactly_what_the_backup_held(
    runner, campaign_data, make, catalog, tmp_path
):
    snapshot = tmp_path / "campaign.database.backup"
    before = everything()
    result = runner.invoke(args=["backup", str(snapshot)])
    assert result.exit_code == 0, result.output
    assert "Backup of" in result.output and snapshot.stat().st_size > 0

    change_everything(campaign_data, make, catalog)
    changed = everything()
    assert changed != before

    result = runner.invoke(args=["restore", "--yes", str(snapshot)])
    assert result.exit_code == 0, result.output
    head = ScriptDirectory(str(Path(__file__).parent.parent / "migrations")).get_current_head()
    assert f"schema revision {head}" in result.output
    db.session.remove()
    after = everything()

    # Cached figures are keyed by the data revision: it must move on, never back.
    # (Row 1 moves with every write, row 2 with writes that hide something; a restore may
    # hide anything, so both move on.)
    revisions_after = dict(after.pop("data_revision"))
    revisions_changed = dict(changed.pop("data_revision"))
    before.pop("data_revision")
    for row, revision in revisions_changed.items():
        assert revisions_after[row] > revision
    assert after == before

    # The restored database carries on: new rows get new ids.
    assert make.commitment(make.user(), catalog[5]).id > max(c[0] for c in before["commitment"])


def test_restore_refuses_without_yes_and_changes_nothing(
    runner, campaign_data, make, catalog, tmp_path
):
    snapshot = tmp_path / "campaign.database.backup"
    assert runner.invoke(args=["backup", str(snapshot)]).exit_code == 0
    change_everything(campaign_data, make, catalog)
    changed = everything()

    result = runner.invoke(args=["restore", str(snapshot)])
    assert result.exit_code == 1
    assert "replaces every record" in result.output and "--yes" in result.output
    assert everything() == changed


def test_restore_refuses_a_file_that_is_not_a_backup(runner, campaign_data, tmp_path):
    before = everything()
    bogus = tmp_path / "notes.txt"
    bogus.write_text("not a database\n" * 100)
    result = runner.invoke(args=["restore", "--yes", str(bogus)])
    assert result.exit_code == 1
    assert "Error:" in result.output and "Traceback" not in result.output
    assert everything() == before


def test_backup_without_pg_dump_says_what_to_install(runner, app, tmp_path, monkeypatch):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite needs no client tool")
    monkeypatch.setenv("PATH", str(tmp_path))  # no pg_dump to be found
    target = tmp_path / "campaign.database.backup"
    result = runner.invoke(args=["backup", str(target)])
    assert result.exit_code == 1
    assert "pg_dump was not found" in result.output
    assert "apt-get install postgresql-client-" in result.output
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_a_backup_taken_while_another_process_writes_holds_whole_transactions(
    app, runner, catalog, tmp_path
):
    stop = tmp_path / "stop"
    writer = subprocess.Popen(  # noqa: S603 - our own command line
        [sys.executable, "-m", "tests.busy_writer", app.config["SQLALCHEMY_DATABASE_URI"], stop],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        rounds_before = _wait_for_rounds(writer, 10)
        snapshot = tmp_path / "campaign.database.backup"
        result = runner.invoke(args=["backup", str(snapshot)])
        assert result.exit_code == 0, result.output
        rounds_total = _wait_for_rounds(writer, 5)  # it went on writing afterwards
    finally:
        stop.touch()
        rest = writer.communicate(timeout=60)[0].split()
    assert writer.returncode == 0
    rounds_total = int(rest[-1]) if rest else rounds_total

    counts = _counts_in_snapshot(snapshot, app.config["SQLALCHEMY_DATABASE_URI"])
    assert rounds_before <= counts["officials"] < rounds_total
    assert counts["commitments"] == 2 * counts["officials"]
    assert counts["timeline"] == counts["commitments"]
    assert counts["created"] == counts["commitments"]


def _wait_for_rounds(writer: subprocess.Popen, rounds: int) -> int:
    """Reads the writer's output until it has committed `rounds` more; returns its count."""
    for _ in range(rounds):
        line = writer.stdout.readline()
        assert line, "the writer stopped"
    return int(line)


def _counts_in_snapshot(snapshot: Path, database_uri: str) -> dict[str, int]:
    """The writer's rows in the snapshot, after SQLite's integrity check or a restore of the
    PostgreSQL archive into a database of its own."""
    writers = User.email.like("writer%")
    queries = {
        "officials": select(func.count()).select_from(User).where(writers),
        "commitments": select(func.count())
        .select_from(Commitment)
        .join(Commitment.official)
        .where(writers),
        "timeline": select(func.count())
        .select_from(TimelineEntry)
        .join(TimelineEntry.commitment)
        .join(Commitment.official)
        .where(writers),
        "created": select(func.count())
        .select_from(AuditEntry)
        .join(User, User.id == AuditEntry.actor_id)
        .where(writers, AuditEntry.action == "commitment.created"),
    }
    if database_uri.startswith("sqlite"):
        with sqlite3.connect(snapshot) as raw:
            assert raw.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        engine = create_engine(f"sqlite:///{snapshot}")
        with Session(engine) as session:
            counts = {name: session.scalar(query) for name, query in queries.items()}
        engine.dispose()
        return counts
    with scratch_postgresql_database("backup") as url:
        engine = create_engine(url)
        restore_database(engine, snapshot)
        with Session(engine) as session:
            counts = {name: session.scalar(query) for name, query in queries.items()}
        engine.dispose()
    return counts
