"""Officials reach only their own records; other roles reach only what their role allows."""

import pytest

from campaign.accounts.roles import Role


@pytest.fixture
def two_officials(make, catalog):
    a = make.user(email="a@example.org", name="Official A")
    b = make.user(email="b@example.org", name="Official B")
    return a, b, make.commitment(a, catalog[0])


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/commitments/{id}"),
        ("post", "/commitments/{id}/progress"),
        ("post", "/commitments/{id}/visibility"),
        ("get", "/commitments/recorded?ids={id}"),
    ],
)
def test_official_b_gets_404_for_official_a_commitment(client, auth, two_officials, method, path):
    _a, _b, commitment = two_officials
    auth.login("b@example.org")
    response = getattr(client, method)(
        path.format(id=commitment.id),
        data={"stage": "introduced", "occurred_on": "2026-03-01", "visibility": "public"},
    )
    assert response.status_code == 404
    assert "Official A" not in response.get_data(as_text=True)


def test_official_b_does_not_see_a_in_my_commitments(client, auth, two_officials):
    auth.login("b@example.org")
    html = client.get("/commitments/").get_data(as_text=True)
    assert "You have not committed to any policy yet." in html


@pytest.mark.parametrize("path", ["/commitments/", "/commitments/new", "/account"])
def test_anonymous_visitors_are_sent_to_sign_in(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


@pytest.mark.parametrize("role", [Role.ORGANIZER, Role.STAFF, Role.ADMIN])
def test_only_officials_make_commitments(client, auth, make, catalog, role):
    make.user(role, email="x@example.org")
    auth.login("x@example.org")
    assert client.get("/commitments/new").status_code == 403
    assert client.post("/commitments/new", data={f"commit_{catalog[0].id}": "y"}).status_code == 403


def test_organizer_cannot_open_an_official_commitment(client, auth, make, two_officials):
    make.user(Role.ORGANIZER, email="org@example.org")
    auth.login("org@example.org")
    assert client.get(f"/commitments/{two_officials[2].id}").status_code == 404


def test_staff_can_open_any_commitment(client, auth, make, two_officials):
    make.user(Role.STAFF, email="staff@example.org")
    auth.login("staff@example.org")
    response = client.get(f"/commitments/{two_officials[2].id}")
    assert response.status_code == 200
    assert "Official A" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "path",
    [
        "/commitments/99999999999999999999",
        "/commitments/0",
        "/commitments/recorded?ids=1,99999999999999999999",
        "/map/jurisdictions/%00x.json",
    ],
)
def test_out_of_range_ids_are_404_not_500(client, auth, two_officials, path):
    auth.login("a@example.org")
    assert client.get(path).status_code == 404
