"""The organizers' dashboard: totals, funnel, per policy and state, over time, exports."""

import csv
import io
from datetime import date

import pytest
from sqlalchemy import event

from campaign.accounts.roles import Role
from campaign.commitments.filters import AdoptionFilter
from campaign.commitments.models import Visibility
from campaign.commitments.stages import Stage
from campaign.dashboard.figures import dashboard_figures
from campaign.extensions import db
from campaign.figures import cache
from campaign.places.models import JurisdictionKind


@pytest.fixture
def organizer(make, auth):
    make.user(Role.ORGANIZER, email="org@example.org")
    auth.login("org@example.org")


@pytest.fixture
def campaign_data(make, catalog):
    alpr, sanctuary = catalog[0], catalog[1]
    st_paul = make.jurisdiction("Saint Paul", "MN", key="sp", population=300_000)
    make.jurisdiction("Duluth", "MN", key="duluth", population=100_000)
    county = make.jurisdiction("Ramsey County", "MN", JurisdictionKind.COUNTY, key="27123")
    austin = make.jurisdiction("Austin", "TX", key="austin", population=900_000)
    rosa = make.user(name="Rosa Public", jurisdiction=st_paul)
    make.commitment(rosa, alpr, stage=Stage.IMPLEMENTED, pledged_on=date(2026, 1, 20))
    make.commitment(rosa, sanctuary, stage=Stage.INTRODUCED, pledged_on=date(2026, 2, 3))
    make.commitment(
        make.user(jurisdiction=county), alpr, stage=Stage.STALLED, pledged_on=date(2026, 2, 10)
    )
    make.commitment(
        make.user(name="Carl Counted", jurisdiction=austin),
        alpr,
        visibility=Visibility.COUNTED,
        pledged_on=date(2026, 3, 1),
    )
    make.commitment(make.user(name="Pia Private"), sanctuary, visibility=Visibility.PRIVATE)
    make.commitment(make.user(), sanctuary, stage=Stage.WITHDRAWN)


def test_dashboard_is_for_organizers_and_staff(client, auth, make, catalog):
    assert client.get("/dashboard/").status_code == 302
    make.user(email="official@example.org")
    auth.login("official@example.org")
    assert client.get("/dashboard/").status_code == 403


def test_totals_and_funnel_count_public_ones_but_not_a_lone_unnamed_private_or_withdrawn(
    client, organizer, campaign_data
):
    html = client.get("/dashboard/").get_data(as_text=True)
    # Carl's counted commitment is the campaign's only unnamed one: far below the threshold.
    assert '<span class="stat">3</span> commitments' in html
    assert '<span class="stat">2</span> officials' in html
    assert '<span class="stat">2</span> jurisdictions' in html
    # Funnel: 3 pledged (stalled included), 2 introduced or beyond, 1 passed, 1 implemented.
    assert '<th scope="row">Pledged</th><td>3</td><td>100%</td>' in html
    assert '<th scope="row">Introduced</th><td>2</td><td>66%</td>' in html
    assert '<th scope="row">Implemented</th><td>1</td><td>33%</td>' in html
    assert "Pia Private" not in html and "Carl Counted" not in html


def test_staff_totals_include_private_commitments(client, auth, make, campaign_data):
    make.user(Role.STAFF, email="staff@example.org")
    auth.login("staff@example.org")
    html = client.get("/dashboard/").get_data(as_text=True)
    assert '<span class="stat">5</span> commitments' in html


def test_state_table_shows_population_share_of_listed_places(client, organizer, campaign_data):
    rows = list(
        csv.DictReader(io.StringIO(client.get("/dashboard/states.csv").data.decode("utf-8-sig")))
    )
    by_state = {r["state"]: r for r in rows}
    # Saint Paul (300k) of Minnesota's listed places (300k + 100k; the county has none).
    assert by_state["MN"]["population_share"] == "0.75"
    assert by_state["MN"]["jurisdictions"] == "2"
    # Austin's only commitment is unnamed and alone: Texas is not listed at all.
    assert "TX" not in by_state


def test_pledges_over_time_are_grouped_by_month_with_a_running_total(
    client, organizer, campaign_data
):
    html = client.get("/dashboard/").get_data(as_text=True)
    assert '<th scope="row">2026-01</th><td>1</td><td>1</td>' in html
    assert '<th scope="row">2026-02</th><td>2</td><td>3</td>' in html
    assert "2026-03" not in html  # only Carl's unnamed pledge: months show named ones only


def test_recent_changes_name_only_public_commitments(client, organizer, campaign_data):
    html = client.get("/dashboard/").get_data(as_text=True)
    recent = html[html.index("Most recent changes") :]
    assert "Rosa Public" in recent
    assert "Carl Counted" not in recent and "Austin" not in recent


def test_filter_applies_to_every_figure_and_export(client, organizer, campaign_data):
    html = client.get("/dashboard/?state=MN").get_data(as_text=True)
    assert '<span class="stat">3</span> commitments' in html
    assert 'href="/dashboard/policies.csv?state=MN"' in html
    rows = list(
        csv.DictReader(
            io.StringIO(client.get("/dashboard/policies.csv?state=MN").data.decode("utf-8-sig"))
        )
    )
    assert len(rows) == 11
    alpr = next(r for r in rows if r["policy"] == "Cancel ALPR contracts")
    assert (alpr["commitments"], alpr["implemented"], alpr["stalled"]) == ("2", "1", "1")


def test_every_chart_has_its_numbers_in_a_table(client, organizer, campaign_data):
    html = client.get("/dashboard/").get_data(as_text=True)
    assert html.count('<svg class="chart"') == 4
    assert html.count("<caption>") >= 6


def test_dashboard_takes_the_same_number_of_queries_however_big_the_campaign(
    client, organizer, make, catalog, count_queries
):
    def measure():
        cache.clear()
        with count_queries() as counter:
            assert client.get("/dashboard/").status_code == 200
        return counter.count

    make.commitment(make.user(), catalog[0])
    small = measure()
    for n in range(20):
        official = make.user(jurisdiction=make.jurisdiction(f"T{n}", "WI", key=f"t{n}"))
        for policy in catalog[:4]:
            make.commitment(official, policy, stage=Stage.PASSED)
    assert measure() == small


def test_renaming_an_official_refreshes_cached_recent_changes(client, organizer, make, catalog):
    official = make.user(name="Old Name")
    make.commitment(official, catalog[0])
    assert "Old Name" in client.get("/dashboard/").get_data(as_text=True)
    official.name = "New Name"
    from campaign.extensions import db

    db.session.commit()
    html = client.get("/dashboard/").get_data(as_text=True)
    assert "New Name" in html and "Old Name" not in html


def test_sqlite_reads_commitments_from_the_covering_index_and_timelines_newest_first(
    app, make, catalog
):
    make.commitment(make.user(), catalog[0])
    statements: list[tuple[str, object]] = []

    def remember(_conn, _cursor, statement, parameters, *_args):
        statements.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", remember)
    try:
        dashboard_figures(AdoptionFilter(), "public")
    finally:
        event.remove(db.engine, "before_cursor_execute", remember)
    if db.engine.dialect.name != "sqlite":
        assert not any("INDEXED" in sql for sql, _ in statements)
        return
    plans = []
    with db.engine.connect() as conn:
        for sql, parameters in statements:
            if "FROM commitment" in sql and "timeline_entry" not in sql:
                rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", parameters).all()
                plans.append(" / ".join(row[-1] for row in rows if "commitment" in row[-1]))
    assert len(plans) >= 5
    # Each scan reads the narrow index alone, never the table's rows.
    assert all("commitment USING COVERING INDEX ix_commitment_figures" in p for p in plans), plans
    assert any(
        "timeline_entry INDEXED BY ix_timeline_entry_recorded_at" in sql for sql, _ in statements
    )
