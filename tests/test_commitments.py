"""An official commits to policies and reports progress on a dated timeline."""

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from campaign.commitments.models import Commitment, TimelineEntry, Visibility
from campaign.commitments.stages import Stage
from campaign.extensions import db
from campaign.timeutil import today
from tests.conftest import form_errors


@pytest.fixture
def official(make, auth):
    user = make.user(email="ana@example.org", name="Ana Díaz")
    auth.login("ana@example.org")
    return user


def commitments() -> int:
    return db.session.scalar(select(func.count(Commitment.id)))


def timeline(commitment_id: int) -> list[TimelineEntry]:
    return list(
        db.session.scalars(
            select(TimelineEntry)
            .where(TimelineEntry.commitment_id == commitment_id)
            .order_by(TimelineEntry.id)
        )
    )


def test_committing_to_two_policies_records_both_and_confirms_what_was_recorded(
    client, catalog, official
):
    alpr, sanctuary = catalog[0], catalog[1]
    response = client.post(
        "/commitments/new",
        data={
            f"commit_{alpr.id}": "y",
            f"visibility_{alpr.id}": "public",
            f"target_{alpr.id}": (today() + timedelta(days=90)).isoformat(),
            f"commit_{sanctuary.id}": "y",
            f"visibility_{sanctuary.id}": "counted",
            f"note_{sanctuary.id}": "Our county preempts; keep my name off.",
        },
    )
    assert response.status_code == 302
    confirmation = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "your commitments are recorded" in confirmation
    assert "Cancel ALPR contracts" in confirmation and "Robust sanctuary policies" in confirmation
    assert "Counted, not named" in confirmation
    assert "Our county preempts; keep my name off." in confirmation

    rows = list(db.session.scalars(select(Commitment).order_by(Commitment.policy_id)))
    assert [(c.policy_id, c.visibility, c.stage) for c in rows] == [
        (alpr.id, Visibility.PUBLIC, Stage.PLEDGED),
        (sanctuary.id, Visibility.COUNTED, Stage.PLEDGED),
    ]
    assert rows[0].jurisdiction_id == official.jurisdiction_id
    assert [e.stage for e in timeline(rows[0].id)] == [Stage.PLEDGED]


def test_committing_with_nothing_ticked_is_explained(client, catalog, official):
    response = client.post("/commitments/new", data={})
    assert response.status_code == 422
    assert "Choose at least one policy to commit to." in response.get_data(as_text=True)
    assert commitments() == 0


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("note", "x" * 100_000, "Keep the note under 2,000 characters."),
        ("target", "20000-01-01", "Not a valid date value."),
        ("target", "2001-01-01", "Enter today's date or a later one."),
        (
            "target",
            (date.today() + timedelta(days=365 * 12)).isoformat(),
            "Enter a date within the next 10 years.",
        ),
    ],
)
def test_bad_commitment_input_gets_a_message_and_writes_nothing(
    client, catalog, official, field, value, message
):
    policy = catalog[0]
    response = client.post(
        "/commitments/new",
        data={
            f"commit_{policy.id}": "y",
            f"visibility_{policy.id}": "public",
            f"{field}_{policy.id}": value,
        },
    )
    assert response.status_code == 422
    assert message in form_errors(response)
    assert commitments() == 0


def test_a_policy_already_committed_to_is_shown_as_done(client, catalog, official, make):
    make.commitment(official, catalog[0])
    html = client.get("/commitments/new").get_data(as_text=True)
    assert "You committed to this policy." in html
    assert f'name="commit_{catalog[0].id}"' not in html


def test_two_officials_of_the_same_jurisdiction_can_commit_to_the_same_policy(
    client, catalog, make, auth
):
    town = make.jurisdiction("Saint Paul", "MN", key="gn5045360")
    policy = catalog[0]
    for email in ("one@example.org", "two@example.org"):
        make.user(email=email, jurisdiction=town)
        auth.login(email)
        response = client.post(
            "/commitments/new",
            data={f"commit_{policy.id}": "y", f"visibility_{policy.id}": "public"},
        )
        assert response.status_code == 302
        auth.logout()
    assert commitments() == 2


def test_my_commitments_lists_only_my_own(client, catalog, official, make):
    make.commitment(official, catalog[0])
    make.commitment(make.user(), catalog[1])
    html = client.get("/commitments/").get_data(as_text=True)
    assert "Cancel ALPR contracts" in html
    assert "Robust sanctuary policies" not in html


def test_reporting_progress_adds_dated_entries_and_never_overwrites(
    client, catalog, official, make
):
    commitment = make.commitment(official, catalog[0])
    introduced = client.post(
        f"/commitments/{commitment.id}/progress",
        data={
            "stage": "introduced",
            "occurred_on": "2026-03-02",
            "evidence_url": "https://stpaul.legistar.example/item/42",
            "note": "Filed as RES 26-118",
            "version": "1",
        },
    )
    assert introduced.status_code == 302
    passed = client.post(
        f"/commitments/{commitment.id}/progress",
        data={"stage": "passed", "occurred_on": "2026-04-15", "version": "2"},
    )
    assert passed.status_code == 302

    entries = timeline(commitment.id)
    assert [(e.stage, e.occurred_on) for e in entries] == [
        (Stage.PLEDGED, date(2026, 2, 1)),
        (Stage.INTRODUCED, date(2026, 3, 2)),
        (Stage.PASSED, date(2026, 4, 15)),
    ]
    assert entries[1].evidence_url == "https://stpaul.legistar.example/item/42"
    assert entries[1].recorded_by_id == official.id
    db.session.refresh(commitment)
    assert commitment.stage == Stage.PASSED
    html = client.get(f"/commitments/{commitment.id}").get_data(as_text=True)
    assert "Filed as RES 26-118" in html and "April 15, 2026" in html


def test_progress_can_predate_the_pledge_but_later_steps_stay_in_order(
    client, catalog, official, make
):
    commitment = make.commitment(official, catalog[0], pledged_on=date(2026, 5, 1))
    early = client.post(
        f"/commitments/{commitment.id}/progress",
        data={"stage": "introduced", "occurred_on": "2026-04-01", "version": "1"},
    )
    assert early.status_code == 302
    backwards = client.post(
        f"/commitments/{commitment.id}/progress",
        data={"stage": "passed", "occurred_on": "2026-03-01", "version": "2"},
    )
    assert backwards.status_code == 422
    assert "The date cannot be before the last update (April 1, 2026)." in form_errors(backwards)


def test_stalled_then_resumed_and_withdrawn_are_recorded(client, catalog, official, make):
    commitment = make.commitment(official, catalog[0], stage=Stage.INTRODUCED)
    for version, stage in enumerate(["stalled", "passed", "withdrawn"], start=1):
        response = client.post(
            f"/commitments/{commitment.id}/progress",
            data={"stage": stage, "occurred_on": "2026-06-01", "version": str(version)},
        )
        assert response.status_code == 302, form_errors(response)
    assert [e.stage for e in timeline(commitment.id)][-3:] == [
        Stage.STALLED,
        Stage.PASSED,
        Stage.WITHDRAWN,
    ]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"stage": "pledged"}, "Not a valid choice."),
        ({"stage": ""}, "Choose the new stage."),
        ({"stage": "introduced", "occurred_on": ""}, "Enter the date it happened."),
        ({"stage": "introduced", "occurred_on": "20000-01-01"}, "Not a valid date value."),
        (
            {"stage": "introduced", "occurred_on": (date.today() + timedelta(days=30)).isoformat()},
            "This date is in the future.",
        ),
        (
            {"stage": "introduced", "evidence_url": "javascript:alert(1)"},
            "Enter a web address starting with https:// or http://",
        ),
        ({"stage": "introduced", "note": "x" * 100_000}, "Keep the note under 2,000 characters."),
    ],
)
def test_bad_progress_reports_are_refused_and_change_nothing(
    client, catalog, official, make, data, message
):
    commitment = make.commitment(official, catalog[0])
    response = client.post(
        f"/commitments/{commitment.id}/progress",
        data={"occurred_on": "2026-03-01", "version": "1", **data},
    )
    assert response.status_code == 422
    assert message in form_errors(response)
    assert len(timeline(commitment.id)) == 1
    db.session.refresh(commitment)
    assert commitment.stage == Stage.PLEDGED


def test_a_report_from_a_stale_page_is_refused(client, catalog, official, make):
    commitment = make.commitment(official, catalog[0])
    first = client.post(
        f"/commitments/{commitment.id}/progress",
        data={"stage": "introduced", "occurred_on": "2026-03-01", "version": "1"},
    )
    assert first.status_code == 302
    stale = client.post(
        f"/commitments/{commitment.id}/progress",
        data={"stage": "stalled", "occurred_on": "2026-03-05", "version": "1"},
    )
    assert stale.status_code == 422
    assert (
        "This commitment changed since you opened the page: Ana Díaz recorded it as "
        "introduced on March 1, 2026. Nothing was saved" in form_errors(stale)[0]
    )
    assert len(timeline(commitment.id)) == 2


def test_official_can_hide_a_commitment_later(client, catalog, official, make):
    commitment = make.commitment(official, catalog[0])
    response = client.post(
        f"/commitments/{commitment.id}/visibility", data={"visibility": "private"}
    )
    assert response.status_code == 302
    db.session.refresh(commitment)
    assert commitment.visibility == Visibility.PRIVATE


def test_a_save_that_loses_the_race_is_refused_not_a_500(app, catalog, make):
    from sqlalchemy import text

    from campaign.commitments.operations import CommitmentError, record_progress

    official = make.user()
    commitment = make.commitment(official, catalog[0])
    # Another worker saves between our version check and our write.
    db.session.execute(
        text("UPDATE commitment SET version = version + 1 WHERE id = :id"), {"id": commitment.id}
    )
    with pytest.raises(CommitmentError, match="at the same moment"):
        record_progress(
            commitment,
            stage=Stage.INTRODUCED,
            occurred_on=date(2026, 3, 1),
            recorded_by=official,
            expected_version=1,
        )
    db.session.rollback()


def test_no_way_in_records_a_step_dated_later_than_tomorrow(app, catalog, make):
    """The official's form, staff's phone form, the mailbox and spreadsheets share one rule
    (the form's day of grace for a time zone ahead): `advance` itself refuses the rest."""
    from campaign.commitments.operations import CommitmentError, advance

    commitment = make.commitment(make.user(), catalog[0])
    official = commitment.official
    with pytest.raises(CommitmentError) as refused:
        advance(
            commitment,
            stage=Stage.INTRODUCED,
            occurred_on=today() + timedelta(days=2),
            recorded_by=official,
        )
    assert refused.value.field == "occurred_on"
    assert "in the future" in str(refused.value)
    advance(
        commitment,
        stage=Stage.INTRODUCED,
        occurred_on=today() + timedelta(days=1),
        recorded_by=official,
    )
    db.session.commit()
    assert db.session.get(Commitment, commitment.id).stage == Stage.INTRODUCED
