"""Cached figures: which writes make them stale, and what a reader is served meanwhile."""

import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from campaign.accounts.roles import Role
from campaign.commitments.models import Visibility
from campaign.commitments.stages import Stage
from campaign.extensions import db
from campaign.figures import cache, revision
from campaign.map.encoding import decode_payload
from campaign.timeutil import today

STAGES = ["Pledged", "Introduced", "Passed", "Implemented", "Stalled"]


@pytest.fixture
def lag(app, monkeypatch):
    """Turns the production behaviour on: figures may lag additions by this many seconds."""

    def set_lag(seconds: float) -> None:
        monkeypatch.setitem(app.config, "AGGREGATE_MAX_LAG_SECONDS", seconds)

    return set_lag


@pytest.fixture
def town_commitment(make, catalog):
    town = make.jurisdiction("First", "MN", key="first", latitude=45.0, longitude=-93.0)
    official = make.user(name="Ana Díaz", email="ana@example.org", jurisdiction=town)
    return make.commitment(official, catalog[0])


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html)
    return found.group(1) if found else ""


def signed_in(app, email: str):
    client = app.test_client()
    assert client.post("/login", data={"email": email, "password": "correct horse battery"})
    return client


def stage_on_map(client) -> str | None:
    """The furthest stage the map shows for the town, or None if it is not on the map."""
    payload = decode_payload(client.get("/map/data.json").get_json())
    points = {p[0]: STAGES[p[6]] for p in payload["points"]}
    return points.get("first")


def test_signing_in_keeps_cached_figures_but_renaming_an_official_does_not(
    client, auth, make, catalog
):
    official = make.user(name="Ana Díaz", email="ana@example.org")
    make.commitment(official, catalog[0])
    make.user(Role.ORGANIZER, email="org@example.org")
    before = revision.current()

    auth.login("org@example.org")
    auth.login("ana@example.org")
    assert revision.current() == before

    official.name = "Ana Díaz-Ortiz"
    db.session.commit()
    assert revision.current() == before + 1


def test_only_writes_that_may_hide_something_raise_the_hiding_revision(make, catalog):
    official = make.user(name="Ana Díaz")
    commitment = make.commitment(official, catalog[0])
    start = revision.current_pair()

    commitment.stage = Stage.INTRODUCED
    db.session.commit()
    make.commitment(make.user(), catalog[1])
    added = revision.current_pair()
    assert added.revision > start.revision and added.hiding == start.hiding

    for hide in (
        lambda: setattr(commitment, "visibility", Visibility.COUNTED),
        lambda: setattr(official, "name", "A. D."),
        lambda: db.session.delete(commitment),
    ):
        before = revision.current_pair()
        hide()
        db.session.commit()
        after = revision.current_pair()
        assert after.hiding == before.hiding + 1 and after.revision == before.revision + 1


def test_progress_may_lag_for_others_but_its_author_sees_it_at_once(
    app, lag, make, town_commitment
):
    lag(60)
    make.user(Role.ORGANIZER, email="org@example.org")
    organizer = signed_in(app, "org@example.org")
    official = signed_in(app, "ana@example.org")
    assert stage_on_map(organizer) == "Pledged"

    saved = official.post(
        f"/commitments/{town_commitment.id}/progress",
        data={"stage": "introduced", "occurred_on": "2026-03-02", "version": "1"},
    )
    assert saved.status_code == 302
    assert stage_on_map(organizer) == "Pledged"  # within the lag
    assert stage_on_map(official) == "Introduced"  # their own change, at once
    # ...which refreshed the shared figures for everyone.
    assert stage_on_map(organizer) == "Introduced"


def test_a_commitment_made_private_leaves_the_map_at_once_whatever_the_lag(
    app, client, lag, town_commitment
):
    lag(600)
    assert stage_on_map(client) == "Pledged"
    town_commitment.stage = Stage.PASSED
    db.session.commit()
    assert stage_on_map(client) == "Pledged"

    town_commitment.visibility = Visibility.PRIVATE  # as another worker process would
    db.session.commit()
    assert stage_on_map(client) is None


def test_a_withdrawal_leaves_the_map_and_the_home_page_at_once_whatever_the_lag(
    app, client, lag, make, town_commitment
):
    """Progress may lag, but a withdrawn commitment is one the official asked to take back."""
    lag(600)
    assert stage_on_map(client) == "Pledged"
    assert "<strong>1</strong> jurisdiction has committed" in client.get("/").get_data(as_text=True)
    official = signed_in(app, "ana@example.org")
    withdrawn = official.post(
        f"/commitments/{town_commitment.id}/progress",
        data={"stage": "withdrawn", "occurred_on": today().isoformat(), "version": "1"},
    )
    assert withdrawn.status_code == 302
    assert db.session.get(type(town_commitment), town_commitment.id).stage == Stage.WITHDRAWN
    assert stage_on_map(client) is None  # a visitor who never wrote anything
    assert "First" not in client.get("/map/").get_data(as_text=True)
    assert "<strong>1</strong> jurisdiction has" not in client.get("/").get_data(as_text=True)


def test_a_withdrawal_recomputes_only_the_figures_it_counted_in(
    app, client, lag, make, catalog, monkeypatch
):
    """A withdrawal in Minnesota changes the nation's and Minnesota's figures at once, by
    reading that one town again; a figure it never counted in (Texas, another policy) is
    carried over. Making a commitment private may change any figure: all are computed
    again."""
    from campaign.commitments import aggregates

    mn = make.jurisdiction("First", "MN", key="first", latitude=45.0, longitude=-93.0)
    tx = make.jurisdiction("Austin", "TX", key="austin", latitude=30.3, longitude=-97.7)
    withdrawn = make.commitment(make.user(jurisdiction=mn), catalog[0])
    kept = make.commitment(make.user(jurisdiction=tx), catalog[1])
    computed = []
    real = aggregates.jurisdiction_figures
    monkeypatch.setattr(
        aggregates,
        "jurisdiction_figures",
        lambda flt, scope: computed.append(flt.query_args()) or real(flt, scope),
    )
    queries = ["", "?state=MN", "?state=TX", f"?policy={catalog[1].slug}"]

    def points(query: str) -> set[str]:
        payload = decode_payload(client.get(f"/map/data.json{query}").get_json())
        return {p[0] for p in payload["points"]}

    lag(600)
    before = {query: points(query) for query in queries}
    assert before == {
        "": {"first", "austin"},
        "?state=MN": {"first"},
        "?state=TX": {"austin"},
        f"?policy={catalog[1].slug}": {"austin"},
    }
    computed.clear()

    withdrawn.stage = Stage.WITHDRAWN  # as another worker process would
    db.session.commit()
    after = {query: points(query) for query in queries}
    assert after == {**before, "": {"austin"}, "?state=MN": set()}
    assert computed == []  # patched (the nation, Minnesota) or carried over (the others)
    assert client.get("/map/?state=TX").status_code == 200  # the table, carried over too
    assert computed == []

    kept.visibility = Visibility.PRIVATE
    db.session.commit()
    assert {query: points(query) for query in queries} == {query: set() for query in queries}
    assert len(computed) == len(queries)


def test_figures_patched_after_withdrawals_equal_the_figures_computed_again(
    app, lag, make, catalog, monkeypatch
):
    """After each of a run of withdrawals, named and counted-not-named, the map's figures
    for the nation, a state, a policy and a stage are exactly what computing them afresh
    gives, the released blocks included, and none is computed afresh to get there."""
    import random

    from campaign.commitments import aggregates
    from campaign.commitments.disclosure import release
    from campaign.commitments.filters import AdoptionFilter
    from campaign.commitments.visibility import PUBLIC_SCOPE

    rng = random.Random(2026)
    states = ["MN"] * 6 + ["TX"] * 5 + ["OH"] * 3
    made = []
    for i, state in enumerate(states):
        town = make.jurisdiction(
            f"Town {i}", state, key=f"p{i}", latitude=40.0 + i / 10, longitude=-90.0 - i / 10
        )
        for k in range(2):
            made.append(
                make.commitment(
                    make.user(jurisdiction=town),
                    catalog[(i + k) % 3],
                    visibility=Visibility.COUNTED if (i + k) % 3 == 0 else Visibility.PUBLIC,
                    stage=rng.choice([Stage.PLEDGED, Stage.INTRODUCED, Stage.PASSED]),
                )
            )
    filters = [
        AdoptionFilter(),
        AdoptionFilter(state="MN"),
        AdoptionFilter(policy=catalog[0].slug),
        AdoptionFilter(stage="passed"),
    ]
    computed = []
    fresh = aggregates.jurisdiction_figures
    monkeypatch.setattr(
        aggregates,
        "jurisdiction_figures",
        lambda flt, scope: computed.append(flt) or fresh(flt, scope),
    )

    def cached_and_fresh(flt):
        with app.app_context(), app.test_request_context("/"):  # a request's own `g`
            served = aggregates.cached_jurisdiction_figures(flt, PUBLIC_SCOPE)
            return served, fresh(flt, PUBLIC_SCOPE)

    lag(600)
    for flt in filters:
        cached_and_fresh(flt)
    with app.app_context(), app.test_request_context("/"):
        assert release().nation_commitments > 0  # the nation's figures hold unnamed blocks
    computed.clear()
    withdrawn = rng.sample(made, 10)
    assert {c.visibility for c in withdrawn} == {Visibility.PUBLIC, Visibility.COUNTED}
    for commitment in withdrawn:
        commitment.stage = Stage.WITHDRAWN  # as another worker process would
        db.session.commit()
        for flt in filters:
            served, expected = cached_and_fresh(flt)
            assert sorted(served.rows) == sorted(expected.rows), flt
            assert served.areas == expected.areas, flt
    assert computed == []


def test_the_home_page_counts_a_new_commitment_within_the_lag(app, client, lag, make, catalog):
    """Its counts are cached like the map's (one scan of the commitments per lag)."""
    town = make.jurisdiction("Second", "MN", key="second", latitude=45.0, longitude=-93.0)
    lag(600)
    assert "<strong>1</strong> jurisdiction has" not in client.get("/").get_data(as_text=True)
    make.commitment(make.user(name="Ola New", jurisdiction=town), catalog[0])
    assert "<strong>1</strong> jurisdiction has" not in client.get("/").get_data(as_text=True)
    lag(0)
    assert "<strong>1</strong> jurisdiction has" in client.get("/").get_data(as_text=True)


def test_verifying_an_official_names_them_at_once_whatever_the_lag(app, client, lag, make, catalog):
    town = make.jurisdiction("First", "MN", key="first", latitude=45.0, longitude=-93.0)
    official = make.user(name="Una Verified", jurisdiction=town, unverified=True)
    make.commitment(official, catalog[0])
    lag(600)
    assert stage_on_map(client) is None
    official.verified_at = official.created_at
    db.session.commit()
    assert stage_on_map(client) == "Pledged"


def test_lagging_figures_are_refreshed_in_the_background_and_never_older_than_the_lag(
    client, lag, town_commitment, count_queries, monkeypatch
):
    lag(3)
    assert stage_on_map(client) == "Pledged"
    town_commitment.stage = Stage.INTRODUCED
    db.session.commit()
    assert stage_on_map(client) == "Pledged"

    time.sleep(2.4)  # past REFRESH_AT of the lag: served as it is, recomputed behind the scenes
    assert stage_on_map(client) == "Pledged"
    cache.wait_for_refreshes()
    with count_queries() as counter:
        assert stage_on_map(client) == "Introduced"
    assert counter.count <= 2  # the revisions and nothing else: the refreshed figures

    town_commitment.stage = Stage.PASSED
    db.session.commit()
    time.sleep(3.1)  # past the lag: recomputed before answering
    assert stage_on_map(client) == "Passed"


def test_a_value_built_from_cached_figures_reuses_them_and_is_no_newer_than_they_are(
    app, lag, town_commitment, monkeypatch
):
    lag(3)
    computed: list[str] = []

    def figures() -> int:
        computed.append("figures")
        return revision.current()

    def payload() -> tuple[str, int]:
        computed.append("payload")
        return ("payload of", cache.cached(("figures",), figures))

    def ask(key: str, compute):  # as a request of its own would
        with app.app_context(), app.test_request_context():
            return cache.cached((key,), compute)

    first = ask("figures", figures)
    town_commitment.stage = Stage.INTRODUCED
    db.session.commit()  # the revision moves on
    # Built from the figures computed a moment ago, not from figures computed again.
    assert ask("payload", payload) == ("payload of", first)
    assert computed == ["figures", "payload"]

    time.sleep(2.4)  # past REFRESH_AT of the figures' age, which the payload inherited
    assert ask("payload", payload) == ("payload of", first)
    cache.wait_for_refreshes()  # the payload was refreshed, and its figures with it
    assert ask("payload", payload) == ("payload of", first + 1)
    assert computed == ["figures", "payload", "payload", "figures"]


def test_a_stale_value_is_served_quietly_while_the_process_shuts_down(
    app, lag, town_commitment, monkeypatch
):
    lag(0.4)
    refused = ThreadPoolExecutor(max_workers=1)
    refused.shutdown()  # as at interpreter exit: it refuses new work
    monkeypatch.setattr(cache, "_refresher", refused)

    def ask():
        with app.app_context(), app.test_request_context():
            return cache.cached(("revision",), revision.current)

    first = ask()
    town_commitment.stage = Stage.INTRODUCED
    db.session.commit()
    time.sleep(0.32)  # past REFRESH_AT, within the lag: a background refresh is due
    assert ask() == first  # the stale value, and no error for want of a refresher


def test_the_dashboard_is_refreshed_in_the_background_too(app, lag, make, catalog, monkeypatch):
    lag(3)
    make.user(Role.ORGANIZER, email="org@example.org")
    organizer = signed_in(app, "org@example.org")
    make.commitment(make.user(name="Ana Díaz"), catalog[0])
    assert "Ana Díaz" in organizer.get("/dashboard/").get_data(as_text=True)

    make.commitment(make.user(name="Zed Newcomer"), catalog[1])
    time.sleep(2.4)
    assert "Zed Newcomer" not in organizer.get("/dashboard/").get_data(as_text=True)
    cache.wait_for_refreshes()
    assert "Zed Newcomer" in organizer.get("/dashboard/").get_data(as_text=True)


def test_past_the_lag_one_request_recomputes_while_the_others_get_the_stale_value(
    app, lag, make, catalog, monkeypatch
):
    lag(0.5)
    started, release = threading.Event(), threading.Event()
    computed: list[str] = []

    def figures(value: str):
        def compute():
            computed.append(value)
            if value == "new":
                started.set()
                release.wait(10)
            return value

        return compute

    def request(value: str, results: list) -> threading.Thread:
        """A request in a thread of its own, as gunicorn's threads serve them."""

        def run():
            with app.test_request_context():
                results.append(cache.cached(("figures",), figures(value)))

        thread = threading.Thread(target=run)
        thread.start()
        return thread

    first: list[str] = []
    request("old", first).join()
    make.commitment(make.user(), catalog[0])  # an addition: the figures may lag it
    time.sleep(0.6)  # past the lag: the next request recomputes before answering

    slow: list[str] = []
    recomputing = request("new", slow)
    assert started.wait(10)
    others: list[str] = []
    request("other", others).join(10)
    assert others == ["old"]  # served at once, not queued behind the recomputation
    release.set()
    recomputing.join(10)
    assert (first, slow, computed) == (["old"], ["new"], ["old", "new"])


def test_requests_waiting_for_a_computation_take_its_result_though_writes_moved_on(
    app, lag, make, catalog
):
    lag(60)
    started, release = threading.Event(), threading.Event()
    computed: list[str] = []

    def compute(value: str):
        def run():
            computed.append(value)
            started.set()
            release.wait(10)
            return value

        return run

    def request(value: str, results: list) -> threading.Thread:
        def run():
            with app.test_request_context():
                results.append(cache.cached(("figures",), compute(value)))

        thread = threading.Thread(target=run)
        thread.start()
        return thread

    first: list[str] = []
    computing = request("first", first)
    assert started.wait(10)
    make.commitment(make.user(), catalog[0])  # progress reported meanwhile
    second: list[str] = []
    waiting = request("second", second)
    time.sleep(0.3)  # let it read the new revision and queue behind the computation
    release.set()
    computing.join(10)
    waiting.join(10)
    assert (first, second, computed) == (["first"], ["first"], ["first"])


def test_a_staff_member_demoted_or_deactivated_leaves_the_owner_menus_at_once(
    client, auth, lag, make
):
    lag(600)
    make.user(Role.STAFF, name="Sam Staff", email="sam@example.org")
    olga = make.user(Role.STAFF, name="Olga Other")
    nina = make.user(Role.STAFF, name="Nina Next")
    auth.login("sam@example.org")
    html = client.get("/staff/queue?owner=all").get_data(as_text=True)
    assert "Olga Other" in html and "Nina Next" in html

    olga.role = Role.ORGANIZER
    db.session.commit()
    html = client.get("/staff/queue?owner=all").get_data(as_text=True)
    assert "Olga Other" not in html and "Nina Next" in html
    nina.active = False
    db.session.commit()
    assert "Nina Next" not in client.get("/staff/queue?owner=all").get_data(as_text=True)


def test_a_logged_contact_is_a_lagging_write_that_leaves_its_authors_queue_at_once(
    app, lag, make, catalog
):
    lag(600)
    make.user(Role.STAFF, name="Sam Staff", email="sam@example.org")
    make.user(Role.STAFF, name="Olga Other", email="olga@example.org")
    commitment = make.commitment(make.user(name="Rosa Official"), catalog[0])
    sam, olga = signed_in(app, "sam@example.org"), signed_in(app, "olga@example.org")
    for person in (sam, olga):
        assert "Rosa Official" in person.get("/staff/queue?owner=all").get_data(as_text=True)
    before = revision.current_pair()

    logged = sam.post(
        f"/staff/commitments/{commitment.id}",
        data={
            "kind": "call",
            "contacted_on": today().isoformat(),
            "next_follow_up_on": (today() + timedelta(days=30)).isoformat(),
        },
    )
    assert logged.status_code == 302
    after = revision.current_pair()
    assert after.revision > before.revision and after.hiding == before.hiding
    assert "Rosa Official" not in sam.get("/staff/queue?owner=all").get_data(as_text=True)
    # Sam's change was applied to the cached page, not by deciding the queue again: Olga,
    # who did nothing, still sees the page as it was (within the lag).
    assert "Rosa Official" in olga.get("/staff/queue?owner=all").get_data(as_text=True)


def test_own_changes_are_remembered_by_commitment_or_not_at_all(app, town_commitment):
    with app.app_context(), app.test_request_context():
        town_commitment = db.session.merge(town_commitment)
        town_commitment.stage = Stage.INTRODUCED
        db.session.commit()
        assert revision.own_changed_commitments() == {town_commitment.id}
        # A write that bypasses the ORM cannot say what it changed: the queue is read afresh.
        revision.bump(hiding=False)
        db.session.commit()
        assert revision.own_changed_commitments() is None


def test_a_commitment_staff_take_on_joins_their_own_queue_at_once(app, lag, make, catalog):
    lag(600)
    sam = make.user(Role.STAFF, name="Sam Staff", email="sam@example.org")
    commitment = make.commitment(make.user(name="Rosa Official"), catalog[0])
    client = signed_in(app, "sam@example.org")
    assert "Rosa Official" not in client.get("/staff/queue").get_data(as_text=True)

    page = client.get("/staff/queue?owner=all").get_data(as_text=True)
    assigned = client.post(
        "/staff/assign",
        data={
            "csrf_token": _csrf(page),
            "commitment_ids": [str(commitment.id)],
            "owner": str(sam.id),
            "back": "/staff/queue",
        },
    )
    assert assigned.status_code == 302
    assert "Rosa Official" in client.get("/staff/queue").get_data(as_text=True)


def test_a_failed_background_refresh_keeps_the_stale_value_and_the_next_request_computes(
    app, lag, make, catalog, caplog
):
    lag(0.4)
    calls: list[int] = []

    def compute():
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("the database went away")
        return f"figure {len(calls)}"

    def ask():
        with app.app_context(), app.test_request_context():
            return cache.cached(("failing",), compute)

    assert ask() == "figure 1"
    make.commitment(make.user(), catalog[0])  # data changed
    time.sleep(0.32)  # past REFRESH_AT of the lag: refreshed in the background, which fails
    assert ask() == "figure 1"
    cache.wait_for_refreshes()
    assert "Recomputing cached figures ('failing',) failed" in caplog.text
    assert ask() == "figure 1"  # still within the lag
    time.sleep(0.45)  # past the lag: this request computes it
    assert ask() == "figure 3"
