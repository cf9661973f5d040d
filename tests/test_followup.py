"""Staff follow-up: the queue's reasons and order, assignment, the contact log, permissions."""

import csv
import io
import re
import time
from datetime import date, timedelta

import pytest
from sqlalchemy import event, select

from campaign.accounts.roles import Role
from campaign.audit.models import AuditEntry
from campaign.commitments.stages import Stage
from campaign.extensions import db
from campaign.figures import cache
from campaign.followup.models import ContactKind, FollowUp
from campaign.followup.operations import assign, log_contact
from campaign.followup.queue import QueueFilter, Reason, follow_up_queue, with_changes
from campaign.timeutil import today

TODAY = date(2026, 6, 1)


@pytest.fixture
def staff(make):
    return make.user(Role.STAFF, email="staff@example.org", name="Sam Staff")


def queue(viewer, owner="all", on=TODAY):
    return follow_up_queue(on, QueueFilter(owner=owner).for_viewer(viewer)).items


def test_each_reason_puts_a_commitment_in_the_queue_most_urgent_first(make, catalog, staff):
    fresh = make.commitment(make.user(name="New Pledge"), catalog[0], pledged_on=date(2026, 5, 30))
    stale = make.commitment(
        make.user(name="Gone Quiet"),
        catalog[1],
        stage=Stage.INTRODUCED,
        pledged_on=date(2026, 3, 1),
    )
    late = make.commitment(
        make.user(name="Past Target"),
        catalog[2],
        stage=Stage.INTRODUCED,
        pledged_on=date(2026, 5, 20),
    )
    late.target_date = date(2026, 5, 25)
    due = make.commitment(
        make.user(name="Call Back"), catalog[3], stage=Stage.PASSED, pledged_on=date(2026, 5, 28)
    )
    db.session.add(
        FollowUp(
            commitment_id=due.id,
            follow_up_on=date(2026, 5, 31),
            last_contacted_at=date(2026, 5, 28),
        )
    )
    # Recently moved and already contacted: nothing to do.
    calm = make.commitment(
        make.user(name="All Good"), catalog[4], stage=Stage.INTRODUCED, pledged_on=date(2026, 5, 28)
    )
    db.session.add(FollowUp(commitment_id=calm.id, last_contacted_at=date(2026, 5, 29)))
    db.session.commit()

    items = queue(staff)
    assert [(i.official_name, i.reason) for i in items] == [
        ("Call Back", Reason.FOLLOW_UP_DUE),
        ("New Pledge", Reason.NEVER_CONTACTED),
        ("Past Target", Reason.TARGET_PASSED),
        ("Gone Quiet", Reason.NO_PROGRESS),
    ]
    assert items[1].due_on == fresh.pledged_on
    assert items[3].due_on == stale.stage_changed_on


def test_stale_thresholds_are_configurable_per_stage(app, make, catalog, staff):
    commitment = make.commitment(
        make.user(), catalog[0], stage=Stage.INTRODUCED, pledged_on=TODAY - timedelta(days=10)
    )
    db.session.add(FollowUp(commitment_id=commitment.id, last_contacted_at=date(2026, 5, 1)))
    db.session.commit()
    assert queue(staff) == []
    app.config["FOLLOW_UP_STALE_DAYS"] = {"introduced": 7}
    try:
        assert [i.reason for i in queue(staff)] == [Reason.NO_PROGRESS]
    finally:
        del app.config["FOLLOW_UP_STALE_DAYS"]


def test_withdrawn_and_snoozed_commitments_stay_out(make, catalog, staff):
    make.commitment(make.user(), catalog[0], stage=Stage.WITHDRAWN, pledged_on=date(2026, 1, 1))
    snoozed = make.commitment(make.user(), catalog[1], pledged_on=date(2026, 1, 1))
    db.session.add(FollowUp(commitment_id=snoozed.id, follow_up_on=TODAY + timedelta(days=3)))
    db.session.commit()
    assert queue(staff) == []
    assert [i.commitment_id for i in queue(staff, on=TODAY + timedelta(days=3))] == [snoozed.id]


def test_owner_filter_defaults_to_mine_and_can_show_unassigned(make, catalog, staff):
    other = make.user(Role.STAFF, name="Olga Other")
    mine = make.commitment(make.user(), catalog[0], pledged_on=date(2026, 5, 1))
    theirs = make.commitment(make.user(), catalog[1], pledged_on=date(2026, 5, 1))
    nobody = make.commitment(make.user(), catalog[2], pledged_on=date(2026, 5, 1))
    assign([mine], staff, staff)
    assign([theirs], other, staff)
    db.session.commit()
    assert [i.commitment_id for i in queue(staff, "mine")] == [mine.id]
    assert [i.commitment_id for i in queue(staff, "unassigned")] == [nobody.id]
    assert [i.commitment_id for i in queue(staff, str(other.id))] == [theirs.id]
    assert len(queue(staff, "all")) == 3


def test_queue_filters_by_state_policy_and_stage(make, catalog, staff):
    in_wi = make.user(jurisdiction=make.jurisdiction("Madison", "WI", key="madison"))
    in_mn = make.user(jurisdiction=make.jurisdiction("Duluth", "MN", key="duluth"))
    pledged_wi = make.commitment(in_wi, catalog[0], pledged_on=date(2026, 5, 1))
    other_policy = make.commitment(in_wi, catalog[1], pledged_on=date(2026, 5, 1))
    stalled_wi = make.commitment(
        in_wi, catalog[2], stage=Stage.STALLED, pledged_on=date(2026, 5, 1)
    )
    make.commitment(in_mn, catalog[0], pledged_on=date(2026, 5, 1))

    def ids(**criteria):
        page = follow_up_queue(TODAY, QueueFilter(owner="all", **criteria))
        return {item.commitment_id for item in page.items}

    assert ids(state="WI") == {pledged_wi.id, other_policy.id, stalled_wi.id}
    assert ids(state="WI", policy=catalog[0].slug) == {pledged_wi.id}
    assert ids(state="WI", stage="stalled") == {stalled_wi.id}
    assert ids(state="TX") == set()


def test_queue_pages_through_thousands_in_constant_queries(make, catalog, staff, count_queries):
    official = make.user()
    for policy in catalog:
        make.commitment(official, policy, pledged_on=date(2026, 5, 1))
    with count_queries() as counter:
        page = follow_up_queue(TODAY, QueueFilter(owner="all"), page=2, per_page=4)
    assert (page.total, page.pages, page.page, len(page.items)) == (11, 3, 2, 4)
    assert counter.count == 2


def test_logging_a_call_with_a_follow_up_date_takes_it_out_of_todays_queue(
    client, auth, make, catalog, staff
):
    official = make.user(name="Rosa Official", email="rosa@example.org")
    commitment = make.commitment(official, catalog[0], pledged_on=today())
    auth.login("staff@example.org")
    html = client.get("/staff/queue?owner=all").get_data(as_text=True)
    assert "Rosa Official" in html and "New pledge, never contacted" in html

    response = client.post(
        f"/staff/commitments/{commitment.id}",
        data={
            "kind": "call",
            "contacted_on": today().isoformat(),
            "note": "Wants model language",
            "next_follow_up_on": (today() + timedelta(days=14)).isoformat(),
        },
    )
    assert response.status_code == 302
    assert "Rosa Official" not in client.get("/staff/queue?owner=all").get_data(as_text=True)
    page = client.get(f"/staff/commitments/{commitment.id}").get_data(as_text=True)
    assert "Wants model language" in page and "Sam Staff" in page
    state = db.session.get(FollowUp, commitment.id)
    assert state.owner_id == staff.id  # whoever calls first owns it
    assert (
        db.session.scalar(select(AuditEntry.action).where(AuditEntry.action == "contact.logged"))
        == "contact.logged"
    )


def test_with_figures_allowed_to_lag_my_call_leaves_the_list_at_once_and_the_count_later(
    app, client, auth, make, catalog, staff, monkeypatch
):
    monkeypatch.setitem(app.config, "AGGREGATE_MAX_LAG_SECONDS", 0.5)
    rosa = make.commitment(make.user(name="Rosa Official"), catalog[0], pledged_on=today())
    make.commitment(make.user(name="Ivan Official"), catalog[0], pledged_on=today())
    auth.login("staff@example.org")
    html = client.get("/staff/queue?owner=all").get_data(as_text=True)
    assert "Rosa Official" in html and "<strong>2</strong> commitments need" in html

    client.post(
        f"/staff/commitments/{rosa.id}",
        data={
            "kind": "call",
            "contacted_on": today().isoformat(),
            "next_follow_up_on": (today() + timedelta(days=14)).isoformat(),
        },
    )
    html = client.get("/staff/queue?owner=all").get_data(as_text=True)
    assert "Rosa Official" not in html and "Ivan Official" in html  # the rows: at once
    time.sleep(0.6)  # the count: within the lag
    html = client.get("/staff/queue?owner=all").get_data(as_text=True)
    assert "<strong>1</strong> commitment needs" in html


def test_changes_applied_to_a_cached_page_leave_join_and_reorder_it(make, catalog, staff):
    first, _second, third = (
        make.commitment(make.user(name=name), catalog[0], pledged_on=date(2026, 5, day))
        for name, day in (("Ana First", 1), ("Bo Second", 2), ("Cy Third", 3))
    )
    flt = QueueFilter(owner="all")
    page = follow_up_queue(TODAY, flt, per_page=2)
    assert [i.official_name for i in page.items] == ["Ana First", "Bo Second"]
    # A commitment that sorts after a full page's last item stays off it.
    assert with_changes(page, TODAY, flt, frozenset({third.id}), per_page=2) == page

    # Ana's call snoozes her; Cy's follow-up date has come, which outranks a new pledge.
    log_contact(
        official=first.official, commitment=first, staff=staff, kind=ContactKind.CALL,
        contacted_on=TODAY, note="", next_follow_up_on=TODAY + timedelta(days=7),
    )  # fmt: skip
    state = db.session.get(FollowUp, third.id) or FollowUp(commitment_id=third.id)
    state.follow_up_on = TODAY
    db.session.add(state)
    db.session.commit()

    changed = with_changes(page, TODAY, flt, frozenset({first.id, third.id}), per_page=2)
    assert [(i.official_name, i.reason) for i in changed.items] == [
        ("Cy Third", Reason.FOLLOW_UP_DUE),
        ("Bo Second", Reason.NEVER_CONTACTED),
    ]
    assert changed.items == follow_up_queue(TODAY, flt, per_page=2).items


def test_follow_up_before_the_contact_is_refused(client, auth, make, catalog, staff):
    commitment = make.commitment(make.user(), catalog[0])
    auth.login("staff@example.org")
    response = client.post(
        f"/staff/commitments/{commitment.id}",
        data={
            "kind": "call",
            "contacted_on": today().isoformat(),
            "next_follow_up_on": (today() - timedelta(days=2)).isoformat(),
        },
    )
    assert response.status_code == 422
    assert "The next follow-up cannot be before the contact." in response.get_data(as_text=True)


def test_bulk_assignment_sets_the_owner_and_is_audited(client, auth, make, catalog, staff):
    other = make.user(Role.STAFF, name="Olga Other")
    first = make.commitment(make.user(), catalog[0])
    second = make.commitment(make.user(), catalog[1])
    auth.login("staff@example.org")
    response = client.post(
        "/staff/assign",
        data={
            "owner": str(other.id),
            "commitment_ids": [str(first.id), str(second.id)],
            "back": "/staff/queue?owner=all",
        },
    )
    assert response.headers["Location"] == "/staff/queue?owner=all"
    owners = set(db.session.scalars(select(FollowUp.owner_id)))
    assert owners == {other.id}
    assert (
        len(
            list(
                db.session.scalars(
                    select(AuditEntry).where(AuditEntry.action == "commitment.assigned")
                )
            )
        )
        == 2
    )


def test_only_staff_can_own_follow_ups(client, auth, make, catalog, staff):
    organizer = make.user(Role.ORGANIZER)
    commitment = make.commitment(make.user(), catalog[0])
    auth.login("staff@example.org")
    response = client.post(
        "/staff/assign", data={"owner": str(organizer.id), "commitment_ids": [str(commitment.id)]}
    )
    assert response.status_code == 400
    assert db.session.get(FollowUp, commitment.id) is None


@pytest.mark.parametrize("owner", ["²", "١", "99999999999999999999", "-1", "1e3", " 7"])
def test_an_owner_that_is_not_a_plain_record_id_is_refused(
    client, auth, make, catalog, staff, owner
):
    commitment = make.commitment(make.user(), catalog[0])
    auth.login("staff@example.org")
    response = client.post(
        "/staff/assign", data={"owner": owner, "commitment_ids": [str(commitment.id)]}
    )
    assert response.status_code == 400
    assert db.session.get(FollowUp, commitment.id) is None


def test_assignment_skips_ticked_ids_that_are_not_plain_record_ids(
    client, auth, make, catalog, staff
):
    commitment = make.commitment(make.user(), catalog[0])
    auth.login("staff@example.org")
    response = client.post(
        "/staff/assign",
        data={
            "owner": str(staff.id),
            "commitment_ids": ["²", "١", "99999999999999999999", "0", str(commitment.id)],
        },
    )
    assert response.status_code == 302
    assert list(db.session.scalars(select(FollowUp.commitment_id))) == [commitment.id]


@pytest.mark.parametrize("owner", ["²", "99999999999999999999", "0"])
def test_queue_filter_by_an_unreadable_owner_shows_my_queue(
    client, auth, make, catalog, staff, owner
):
    for path in ("/staff/queue", "/staff/queue.csv"):
        auth.login("staff@example.org")
        assert client.get(path, query_string={"owner": owner}).status_code == 200


def test_queue_csv_neutralises_formulas(client, auth, make, catalog, staff):
    make.commitment(
        make.user(name='=HYPERLINK("http://evil.example","x")'), catalog[0], pledged_on=today()
    )
    auth.login("staff@example.org")
    body = client.get("/staff/queue.csv?owner=all").data.decode("utf-8-sig")
    row = next(csv.DictReader(io.StringIO(body)))
    assert row["official"].startswith("'=HYPERLINK")


def test_log_contact_refuses_a_commitment_of_another_official(make, catalog, staff):
    from campaign.followup.operations import FollowUpError

    commitment = make.commitment(make.user(), catalog[0])
    with pytest.raises(FollowUpError):
        log_contact(
            official=make.user(),
            commitment=commitment,
            staff=staff,
            kind=ContactKind.CALL,
            contacted_on=TODAY,
            note="",
            next_follow_up_on=None,
        )


def test_staff_verify_evidence_and_the_official_sees_it(client, auth, make, catalog, staff):
    from campaign.commitments.models import TimelineEntry

    official = make.user(email="rosa@example.org")
    commitment = make.commitment(official, catalog[0])
    auth.login("rosa@example.org")
    client.post(
        f"/commitments/{commitment.id}/progress",
        data={
            "stage": "introduced",
            "occurred_on": "2026-03-01",
            "version": "1",
            "evidence_url": "https://council.example.gov/item/7",
        },
    )
    auth.logout()
    entry = db.session.scalar(select(TimelineEntry).where(TimelineEntry.evidence_url.isnot(None)))
    auth.login("staff@example.org")
    assert client.post(f"/staff/timeline/{entry.id}/verify").status_code == 302
    db.session.refresh(entry)
    assert entry.verified_by_id == staff.id and entry.verified_at is not None
    assert "Verified by Sam Staff" in client.get(f"/staff/commitments/{commitment.id}").get_data(
        as_text=True
    )
    auth.logout()
    auth.login("rosa@example.org")
    assert "Verified by campaign staff" in client.get(f"/commitments/{commitment.id}").get_data(
        as_text=True
    )


def test_staff_record_progress_reported_by_phone_and_the_timeline_says_who(
    client, auth, make, catalog, staff
):
    commitment = make.commitment(make.user(name="Rosa"), catalog[0])
    auth.login("staff@example.org")
    response = client.post(
        f"/commitments/{commitment.id}/progress",
        data={"stage": "passed", "occurred_on": "2026-04-02", "version": "1"},
    )
    assert response.status_code == 302
    html = client.get(f"/staff/commitments/{commitment.id}").get_data(as_text=True)
    assert re.search(r"Recorded \w+ \d+, \d{4} by Sam Staff", html)


def test_staff_confirm_a_school_district_and_it_becomes_searchable(client, auth, make, staff):
    from campaign.places.models import JurisdictionKind

    body = make.jurisdiction(
        "Valley Unified School District", "CA", JurisdictionKind.SCHOOL_DISTRICT, confirmed=False
    )
    make.user(name="Board Member", jurisdiction=body)
    assert client.get("/places/search?q=valley unified").get_json()["results"] == []
    auth.login("staff@example.org")
    page = client.get("/staff/jurisdictions").get_data(as_text=True)
    assert "Valley Unified School District, CA" in page and "Board Member" in page
    assert client.post(f"/staff/jurisdictions/{body.id}/confirm").status_code == 302
    db.session.refresh(body)
    assert body.confirmed
    results = client.get("/places/search?q=valley unified").get_json()["results"]
    assert [r["label"] for r in results] == ["Valley Unified School District, CA"]


def test_a_call_with_the_official_snoozes_all_their_open_commitments(
    client, auth, make, catalog, staff
):
    official = make.user(name="Rosa Official")
    first = make.commitment(official, catalog[0], pledged_on=today())
    second = make.commitment(official, catalog[1], pledged_on=today())
    auth.login("staff@example.org")
    response = client.post(
        f"/staff/officials/{official.id}/contact",
        data={
            "kind": "meeting",
            "contacted_on": today().isoformat(),
            "note": "Coffee at city hall",
            "next_follow_up_on": (today() + timedelta(days=30)).isoformat(),
        },
    )
    assert response.headers["Location"] == f"/directory/{official.id}"
    assert "Rosa Official" not in client.get("/staff/queue?owner=all").get_data(as_text=True)
    assert {db.session.get(FollowUp, c.id).owner_id for c in (first, second)} == {staff.id}
    page = client.get(f"/directory/{official.id}").get_data(as_text=True)
    assert "Coffee at city hall" in page


def test_assigning_an_official_assigns_all_their_commitments(client, auth, make, catalog, staff):
    other = make.user(Role.STAFF, name="Olga Other")
    official = make.user(name="Rosa Official")
    commitments = [make.commitment(official, p) for p in catalog[:3]]
    auth.login("staff@example.org")
    page = client.get(f"/directory/{official.id}").get_data(as_text=True)
    assert page.count('name="commitment_ids"') == 3
    client.post(
        "/staff/assign",
        data={
            "owner": str(other.id),
            "back": f"/directory/{official.id}",
            "commitment_ids": [str(c.id) for c in commitments],
        },
    )
    assert {db.session.get(FollowUp, c.id).owner_id for c in commitments} == {other.id}


@pytest.mark.parametrize("path", ["/staff/queue", "/staff/queue.csv"])
def test_a_queue_policy_filter_with_control_characters_is_not_an_error(
    client, auth, make, catalog, staff, path
):
    make.commitment(make.user(name="Rosa Public"), catalog[0], pledged_on=today())
    auth.login("staff@example.org")
    response = client.get(path, query_string={"owner": "all", "policy": f"{catalog[0].slug}\x00"})
    assert response.status_code == 200
    assert "Rosa Public" in response.get_data(as_text=True)


def eventually_shows(client, path: str, text: str, seconds: float = 5) -> bool:
    """Whether the page shows `text` within a few seconds. Past the lag a figure is shown
    within one computation: a request that comes while another recomputes it is served
    the value being replaced (figures/cache.py), so a test looks again rather than once."""
    deadline = time.monotonic() + seconds
    while text not in client.get(path).text:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def test_the_queue_follows_a_colleague_within_the_lag_and_nothing_recomputes_it_unasked(
    app, client, auth, make, catalog, staff, monkeypatch
):
    """Under load each filter's length changes every lag; a page nobody looks at any more
    costs nothing (a keeper that refreshed pages ahead of requests did not pay)."""
    monkeypatch.setitem(app.config, "AGGREGATE_MAX_LAG_SECONDS", 0.5)
    pledges = [
        make.commitment(make.user(name=f"Official {n}"), catalog[0], pledged_on=today())
        for n in range(4)
    ]
    auth.login("staff@example.org")

    def colleague_moves(commitment) -> None:
        commitment.stage = Stage.INTRODUCED  # out of the queue: no longer a new pledge
        db.session.commit()
        time.sleep(0.6)  # past the lag
        cache.wait_for_refreshes()

    def queue_shows(text: str) -> bool:
        return eventually_shows(client, "/staff/queue?owner=all", text)

    assert queue_shows("<strong>4</strong> commitments need")
    for shown, commitment in zip((3, 2), pledges, strict=False):
        colleague_moves(commitment)
        assert queue_shows(f"<strong>{shown}</strong> commitments need")

    page_queries = []

    def note_page_query(conn, cursor, statement, *args):
        if "AS chosen" in statement:
            page_queries.append(statement)

    event.listen(db.engine, "before_cursor_execute", note_page_query)
    try:
        colleague_moves(pledges[2])  # nobody asks meanwhile
        time.sleep(0.6)
        cache.wait_for_refreshes()
    finally:
        event.remove(db.engine, "before_cursor_execute", note_page_query)
    assert page_queries == []
    assert queue_shows("<strong>1</strong> commitment needs")
    assert "Official 3" in client.get("/staff/queue?owner=all").text


def test_a_queue_of_mine_is_refreshed_in_the_background_without_reading_who_is_signed_in(
    app, client, auth, make, catalog, staff, monkeypatch, caplog
):
    """A scanner run logged AttributeError from background work: it recomputed "my" queue
    by reading who was signed in, after they had gone."""
    monkeypatch.setitem(app.config, "AGGREGATE_MAX_LAG_SECONDS", 1)
    official = make.user(name="Official Mine")
    pledges = [make.commitment(official, policy, pledged_on=today()) for policy in catalog[:2]]
    assign(pledges, staff, staff)
    db.session.commit()
    auth.login("staff@example.org")
    assert "<strong>2</strong> commitments need" in client.get("/staff/queue").text
    auth.logout()

    pledges[0].stage = Stage.INTRODUCED
    db.session.commit()
    time.sleep(0.8)  # past REFRESH_AT of the lag: the next view refreshes in the background
    auth.login("staff@example.org")
    client.get("/staff/queue")
    auth.logout()  # before the refresh has run, perhaps
    cache.wait_for_refreshes()
    assert "Recomputing cached figures" not in caplog.text

    auth.login("staff@example.org")
    assert eventually_shows(client, "/staff/queue", "<strong>1</strong> commitment needs")
