"""The officials directory: organizers see public officials without contact details."""

import csv
import io

import pytest

from campaign.accounts.roles import Role
from campaign.commitments.models import Visibility


@pytest.fixture
def officials(make, catalog):
    town = make.jurisdiction("Ithaca", "NY", key="ithaca")
    rosa = make.user(name="Rosa Public", email="rosa@example.org", jurisdiction=town)
    rosa.phone = "+1 555 0100"
    make.commitment(rosa, catalog[0])
    make.commitment(rosa, catalog[1], visibility=Visibility.PRIVATE)
    hidden = make.user(name="Hana Hidden", email="hana@example.org")
    make.commitment(hidden, catalog[0], visibility=Visibility.COUNTED)
    return rosa, hidden


def test_organizers_see_public_officials_without_contact_details(client, auth, make, officials):
    rosa, hidden = officials
    make.user(Role.ORGANIZER, email="org@example.org")
    auth.login("org@example.org")
    html = client.get("/directory/").get_data(as_text=True)
    assert "Rosa Public" in html and "Ithaca, NY" in html
    assert "Hana Hidden" not in html
    assert "rosa@example.org" not in html and "555 0100" not in html
    page = client.get(f"/directory/{rosa.id}").get_data(as_text=True)
    assert "Cancel ALPR contracts" in page
    assert "Robust sanctuary policies" not in page  # her private commitment
    assert "rosa@example.org" not in page
    assert client.get(f"/directory/{hidden.id}").status_code == 404
    assert client.get("/directory/officials.csv").status_code == 403


def test_staff_see_everyone_with_contact_details_and_export_them(client, auth, make, officials):
    make.user(Role.STAFF, email="staff@example.org")
    auth.login("staff@example.org")
    html = client.get("/directory/").get_data(as_text=True)
    assert "Hana Hidden" in html and "rosa@example.org" in html
    rows = list(
        csv.DictReader(io.StringIO(client.get("/directory/officials.csv").data.decode("utf-8-sig")))
    )
    assert {r["name"] for r in rows} == {"Rosa Public", "Hana Hidden"}
    assert next(r for r in rows if r["name"] == "Rosa Public")["phone"] == "'+1 555 0100"


def test_directory_search_and_state_filter(client, auth, make, officials):
    make.user(Role.STAFF, email="staff@example.org")
    auth.login("staff@example.org")
    assert "Hana Hidden" not in client.get("/directory/?state=NY").get_data(as_text=True)
    html = client.get("/directory/?q=ithaca").get_data(as_text=True)
    assert "Rosa Public" in html and "Hana Hidden" not in html


@pytest.mark.parametrize("role", [None, Role.OFFICIAL])
def test_directory_is_closed_to_officials_and_visitors(client, auth, make, officials, role):
    if role:
        make.user(role, email="x@example.org")
        auth.login("x@example.org")
    response = client.get("/directory/")
    assert response.status_code == (403 if role else 302)


@pytest.mark.parametrize("path", ["/directory/", "/directory/officials.csv"])
def test_a_search_with_control_characters_is_read_as_plain_text(
    client, auth, make, officials, path
):
    """PostgreSQL refuses NUL in a query parameter: the search is cleaned like a form field."""
    make.user(Role.STAFF, email="staff@example.org")
    auth.login("staff@example.org")
    response = client.get(path, query_string={"q": "Ros\x00a\u202e"})
    assert response.status_code == 200
    assert "Rosa Public" in response.get_data(as_text=True)
