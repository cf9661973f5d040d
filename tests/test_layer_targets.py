"""Where to act next: target lists for a layer's policy, the disclosure rule, and the queue."""

from __future__ import annotations

import re
from datetime import date

import pytest

from campaign.accounts.models import User
from campaign.accounts.roles import Role
from campaign.catalog.models import Policy
from campaign.commitments.models import Commitment, Visibility
from campaign.extensions import db
from campaign.followup.queue import QueueFilter, Reason, follow_up_queue
from campaign.imports.spreadsheet import read_sheet
from campaign.layers.models import LayerStatus
from campaign.layers.snapshots import apply_snapshot, get_or_create_layer, guess_layer_mapping
from campaign.layers.targets import layers_for_policy, targets_for
from campaign.places.models import JurisdictionKind
from tests.test_layers import xlsx_bytes

POLICY = "end-287g-and-task-forces"
HEADERS = ["STATE", "LAW ENFORCEMENT AGENCY", "TYPE", "COUNTY", "SUPPORT TYPE", "SIGNED"]
KNOX = ["TENNESSEE", "Knox County Sheriff’s Office", "County", "Knox County",
        "Jail Enforcement Model", "2020-06-08"]  # fmt: skip
BAY = ["FLORIDA", "Bay County Sheriff's Office", "County", "Bay County", "Task Force Model",
       "2025-02-26"]  # fmt: skip
MESA = ["ARIZONA", "Mesa Police Department", "Municipality", "#N/A", "Jail Enforcement Model",
        "2020-06-08"]  # fmt: skip
SMITH = ["TEXAS", "Smith County Sheriff’s Office", "County", "Smith County", "Task Force Model",
         "2025-02-18"]  # fmt: skip


def import_list(layer, rows, on: date):
    sheet = read_sheet(xlsx_bytes(HEADERS, rows), "list.xlsx")
    apply_snapshot(layer, LayerStatus.PARTICIPATING, on, sheet, guess_layer_mapping(HEADERS),
                   None, None)  # fmt: skip
    db.session.commit()


@pytest.fixture
def campaign_with_layer(make, catalog):
    policy = next(p for p in catalog if p.slug == POLICY)
    places = {
        "knox": make.jurisdiction("Knox County", "TN", JurisdictionKind.COUNTY, key="47093",
                                  population=478_971),
        "bay": make.jurisdiction("Bay County", "FL", JurisdictionKind.COUNTY, key="12005",
                                 population=175_216),
        "mesa": make.jurisdiction("Mesa", "AZ", key="gn5304391", population=504_258),
        "smith": make.jurisdiction("Smith County", "TX", JurisdictionKind.COUNTY, key="48423",
                                   population=233_479),
    }  # fmt: skip
    officials = {
        "knox": make.user(name="Ana Named", jurisdiction=places["knox"]),
        "bay": make.user(name="Bo Unnamed", jurisdiction=places["bay"]),
        "smith": make.user(name="Cy Private", jurisdiction=places["smith"]),
    }
    make.commitment(officials["knox"], policy, visibility=Visibility.PUBLIC)
    make.commitment(officials["bay"], policy, visibility=Visibility.COUNTED)
    make.commitment(officials["smith"], policy, visibility=Visibility.PRIVATE)
    layer = get_or_create_layer("287(g) agreements", policy, "ICE, public domain")
    db.session.commit()
    import_list(layer, [KNOX, BAY, MESA, SMITH], date(2026, 1, 15))
    return policy, places, layer


def names(targets):
    return [t.jurisdiction.name for t in targets]


def test_an_unnamed_commitment_never_puts_its_county_among_the_committed_for_organizers(
    make, campaign_with_layer
):
    policy, _places, _layer = campaign_with_layer
    organizer = make.user(Role.ORGANIZER)
    [seen] = targets_for(layers_for_policy(policy), organizer)
    assert names(seen.with_commitment) == ["Knox County"]
    assert seen.with_commitment[0].officials == [("Ana Named", date(2026, 2, 1))]
    # counted and private commitments leave their county among those to recruit, by population
    assert names(seen.without_commitment) == ["Mesa", "Smith County", "Bay County"]
    assert seen.with_agreement == 4 and not seen.staff

    staff = make.user(Role.STAFF)
    [everything] = targets_for(layers_for_policy(policy), staff)
    assert names(everything.with_commitment) == ["Knox County", "Smith County", "Bay County"]
    assert names(everything.without_commitment) == ["Mesa"]
    [by_name] = targets_for(layers_for_policy(policy), staff, sort="name")
    assert names(by_name.with_commitment) == ["Bay County", "Knox County", "Smith County"]


def test_the_policy_page_and_dashboard_show_organizers_named_commitments_only(
    client, auth, make, campaign_with_layer
):
    auth.login(make.user(Role.ORGANIZER).email)
    for path in (f"/policies/{POLICY}", "/dashboard/"):
        page = client.get(path).get_data(as_text=True)
        committed = re.search(r'id="layer-287g-agreements-committed".*?</table>', page, re.S)
        assert committed and "Knox County, TN" in committed.group(0), path
        assert "Bay County" not in committed.group(0) and "Smith County" not in committed.group(0)
        assert "Bo Unnamed" not in page and "Cy Private" not in page
        recruit = re.search(r'id="layer-287g-agreements-recruit".*?</table>', page, re.S)
        assert "no public commitment" in recruit.group(0)
        assert recruit.group(0).index("Mesa, AZ") < recruit.group(0).index("Bay County, FL")
        assert "Ana Named" in page


def test_the_public_sees_the_layer_but_no_target_lists(client, campaign_with_layer):
    page = client.get(f"/policies/{POLICY}").get_data(as_text=True)
    assert "has agreements in 4 jurisdictions" in page
    assert "where to recruit" not in page and "Ana Named" not in page.split("where to act")[1]


def test_agreements_no_longer_listed_after_a_pledge_are_possible_wins_in_the_queue(
    make, campaign_with_layer
):
    policy, _places, layer = campaign_with_layer
    # the June list no longer has Knox (named) or Bay (counted, not named)
    import_list(layer, [MESA, SMITH], date(2026, 6, 1))
    organizer, staff = make.user(Role.ORGANIZER), make.user(Role.STAFF)
    [seen] = targets_for(layers_for_policy(policy), organizer)
    assert names(seen.ended_after_pledge) == ["Knox County"]
    assert seen.ended_after_pledge[0].ended_on == date(2026, 6, 1)
    [everything] = targets_for(layers_for_policy(policy), staff)
    assert sorted(names(everything.ended_after_pledge)) == ["Bay County", "Knox County"]
    assert names(everything.with_commitment) == ["Smith County"]

    queue = follow_up_queue(date(2026, 6, 2), QueueFilter(owner="all")).items
    reasons = {item.jurisdiction_label: item.reason for item in queue}
    assert reasons["Knox County, TN"] == Reason.AGREEMENT_ENDED
    assert reasons["Bay County, FL"] == Reason.AGREEMENT_ENDED
    assert reasons["Smith County, TX"] != Reason.AGREEMENT_ENDED
    knox = next(i for i in queue if i.jurisdiction_label == "Knox County, TN")
    assert knox.due_on == date(2026, 6, 1)
    assert Reason.AGREEMENT_ENDED.label == "Agreement no longer listed: confirm the win"


def test_an_agreement_ended_before_the_pledge_is_no_win(make, catalog):
    policy = next(p for p in catalog if p.slug == POLICY)
    knox = make.jurisdiction("Knox County", "TN", JurisdictionKind.COUNTY, key="47093")
    layer = get_or_create_layer("287(g) agreements", policy)
    db.session.commit()
    import_list(layer, [KNOX], date(2025, 5, 16))
    import_list(layer, [MESA], date(2025, 7, 18))  # Knox gone long before the pledge
    make.commitment(make.user(jurisdiction=knox), policy, pledged_on=date(2026, 2, 1))
    [seen] = targets_for(layers_for_policy(policy), make.user(Role.STAFF))
    assert seen.ended_after_pledge == []
    queue = follow_up_queue(date(2026, 2, 2), QueueFilter(owner="all"))
    assert [i.reason for i in queue.items] == [Reason.NEVER_CONTACTED]


def test_my_commitments_says_what_the_latest_list_says_about_my_jurisdiction(
    client, auth, make, campaign_with_layer
):
    _policy, places, layer = campaign_with_layer
    official = db.session.scalar(db.select(User).where(User.jurisdiction_id == places["knox"].id))
    auth.login(official.email)
    page = client.get("/commitments/").get_data(as_text=True)
    assert "287(g) agreements in Knox County, TN" in page
    assert "the published list as of 2026-01-15 says" in page
    assert "<strong>Knox County Sheriff’s Office</strong> (Knox County, TN): Jail Enforcement " in (
        page
    )
    assert "signed 2020-06-08" in page

    import_list(layer, [MESA, SMITH], date(2026, 6, 1))
    page = client.get("/commitments/").get_data(as_text=True)
    assert "the published list as of 2026-06-01 says" in page
    assert "No agreement is listed in Knox County, TN" in page
    assert "not listed since 2026-06-01" in page


def test_a_city_official_sees_their_countys_sheriff(client, auth, make, campaign_with_layer):
    policy, _places, _layer = campaign_with_layer
    knoxville = make.jurisdiction("Knoxville", "TN", key="gn4634946", county_key="47093")
    official = make.user(jurisdiction=knoxville)
    make.commitment(official, policy)
    auth.login(official.email)
    page = client.get("/commitments/").get_data(as_text=True)
    assert "287(g) agreements in Knoxville, TN" in page
    assert "Knox County Sheriff’s Office</strong> (Knox County, TN)" in page
    # a policy no layer concerns shows nothing of the kind
    other = make.user(jurisdiction=knoxville)
    make.commitment(other, next(p for p in db.session.scalars(db.select(Policy))
                                if p.id != policy.id))  # fmt: skip
    auth.logout()
    auth.login(other.email)
    assert "287(g)" not in client.get("/commitments/").get_data(as_text=True)


def test_the_layer_is_public_json_for_the_map_with_status_model_and_fips(
    client, campaign_with_layer
):
    _policy, _places, layer = campaign_with_layer
    import_list(layer, [MESA, SMITH], date(2026, 6, 1))
    data = client.get("/map/layers/287g-agreements.json").get_json()
    assert data["layer"]["name"] == "287(g) agreements" and data["layer"]["as_of"] == "2026-06-01"
    places = {p["label"]: p for p in data["jurisdictions"]}
    assert places["Smith County, TX"]["status"] == "listed"
    assert places["Smith County, TX"]["fips"] == "48423"
    assert places["Smith County, TX"]["models"] == ["Task Force Model"]
    assert places["Mesa, AZ"]["fips"] is None and places["Mesa, AZ"]["lat"] is not None
    assert places["Knox County, TN"]["status"] == "ended"
    assert places["Knox County, TN"]["status_label"] == "No longer listed since 2026-06-01"
    # the layer names agencies, never officials or commitments
    body = client.get("/map/layers/287g-agreements.json").get_data(as_text=True)
    assert "Ana Named" not in body and "Bo Unnamed" not in body
    assert client.get("/map/layers/no-such-layer.json").status_code == 404


def test_layer_in_the_map_url_adds_its_columns_to_the_table_and_exports(
    client, campaign_with_layer
):
    import csv
    import io
    import json

    page = client.get("/map/").get_data(as_text=True)
    assert '<label for="layer-287g-agreements">Show 287(g) agreements</label>' in page
    assert "jurisdictions on the list" not in page
    page = client.get("/map/?layer=287g-agreements").get_data(as_text=True)
    assert 'id="layer-287g-agreements" name="layer" value="287g-agreements" data-layer-url=' in page
    assert "287(g) agreements: jurisdictions on the list" in page
    assert "Agreement listed: Jail Enforcement Model" in page  # Knox, public, in the table
    assert "export.csv?layer=287g-agreements" in page

    rows = list(csv.reader(io.StringIO(
        client.get("/map/export.csv?layer=287g-agreements").get_data(as_text=True).lstrip("\ufeff")
    )))  # fmt: skip
    header = rows[0]
    assert header[-4:] == ["287g_agreements_status", "287g_agreements_models",
                           "287g_agreements_agencies", "287g_agreements_as_of"]  # fmt: skip
    knox = next(r for r in rows[1:] if r[0] == "47093")
    assert knox[-4:] == ["Agreement listed", "Jail Enforcement Model",
                         "Knox County Sheriff’s Office", "2026-01-15"]  # fmt: skip
    # counted and private commitments are not on the public map, with or without the layer
    assert not any(r[0] in ("12005", "48423") for r in rows[1:])
    plain = client.get("/map/export.csv").get_data(as_text=True)
    assert "287g_agreements" not in plain
    geo = json.loads(client.get("/map/export.geojson?layer=287g-agreements").get_data())
    [feature] = [f for f in geo["features"] if f["id"] == "47093"]
    assert feature["properties"]["287g_agreements_status"] == "Agreement listed"
    assert client.get("/map/export.csv?layer=nonsense").status_code == 200


def test_staff_see_the_ended_agreement_and_record_the_win_citing_the_list(
    client, auth, make, campaign_with_layer
):
    """From the queue's "confirm the win" to the stage recorded with the list as evidence."""
    _policy, places, layer = campaign_with_layer
    import_list(layer, [MESA, SMITH], date(2026, 6, 1))  # Knox's agreement no longer listed
    staff = make.user(Role.STAFF, email="staff@example.org")
    commitment = db.session.scalar(
        db.select(Commitment).where(Commitment.jurisdiction_id == places["knox"].id)
    )
    auth.login(staff.email)
    page = client.get(f"/staff/commitments/{commitment.id}").get_data(as_text=True)
    assert "287(g) agreements in Knox County, TN" in page
    assert "Knox County Sheriff’s Office (Jail Enforcement Model), not listed since 2026-06-01" in (
        page
    )
    win = re.search(r'href="([^"]+)">Record the win, with this list as evidence', page)
    assert win is not None

    form_page = client.get(win.group(1).replace("&amp;", "&")).get_data(as_text=True)
    note = re.search(r'<textarea[^>]*name="note"[^>]*>\s*([^<]*)</textarea>', form_page).group(1)
    assert "not listed since 2026-06-01. Confirmed with Ana Named." in note
    saved = client.post(
        f"/commitments/{commitment.id}/progress",
        data={
            "stage": "implemented",
            "occurred_on": "2026-06-02",
            "note": note,
            "version": str(commitment.version),
        },
    )
    assert saved.status_code == 302
    db.session.refresh(commitment)
    assert commitment.stage.value == "implemented"
    entries = db.session.scalars(commitment.timeline.select()).all()
    assert "not listed since 2026-06-01" in entries[-1].note
    assert entries[-1].recorded_by_id == staff.id
