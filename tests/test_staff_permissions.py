"""Every staff-only route, tried as a visitor, an official and an organizer."""

import pytest

from campaign.accounts.roles import Role
from campaign.help.models import HelpStatus, HelpTopic

STAFF_ROUTES = [
    ("get", "/staff/queue"),
    ("get", "/staff/queue.csv"),
    ("post", "/staff/assign"),
    ("get", "/staff/commitments/{commitment}"),
    ("post", "/staff/commitments/{commitment}"),
    ("post", "/staff/officials/{official}/contact"),
    ("get", "/staff/jurisdictions"),
    ("post", "/staff/jurisdictions/{official_place}/confirm"),
    ("post", "/staff/timeline/1/verify"),
    ("get", "/staff/audit/"),
    ("get", "/directory/officials.csv"),
    ("get", "/policies/{policy}/edit"),
    ("post", "/policies/{policy}/edit"),
    ("get", "/admin/users"),
    ("post", "/admin/users/{official}"),
]


@pytest.fixture
def records(make, catalog):
    from campaign.extensions import db
    from campaign.help.models import HelpMessage, HelpRequest

    official = make.user(email="official@example.org")
    commitment = make.commitment(official, catalog[0])
    db.session.add(
        HelpRequest(
            commitment=commitment,
            official=official,
            topic=HelpTopic.OTHER,
            status=HelpStatus.WAITING_FOR_STAFF,
            messages=[HelpMessage(author=official, body="Private question")],
        )
    )
    db.session.commit()
    return {
        "commitment": commitment.id,
        "official": official.id,
        "official_place": official.jurisdiction_id,
        "policy": catalog[0].slug,
    }


@pytest.mark.parametrize("role", [None, Role.OFFICIAL, Role.ORGANIZER])
@pytest.mark.parametrize(("method", "path"), STAFF_ROUTES)
def test_staff_routes_refuse_visitors_officials_and_organizers(
    client, auth, make, records, role, method, path
):
    if role is not None:
        make.user(role, email="someone@example.org")
        auth.login("someone@example.org")
    response = getattr(client, method)(path.format(**records), data={"role": "admin"})
    if role is None:
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/login")
    else:
        assert response.status_code == 403
    assert "Private question" not in response.get_data(as_text=True)


@pytest.mark.parametrize("role", [Role.ORGANIZER, None])
def test_a_help_thread_is_hidden_from_everyone_but_its_official_and_staff(
    client, auth, make, records, role
):
    from campaign.extensions import db
    from campaign.help.models import HelpRequest

    thread = f"/help/{db.session.scalar(db.select(HelpRequest.id))}"
    if role:
        make.user(role, email="someone@example.org")
        auth.login("someone@example.org")
    response = client.get(thread)
    assert response.status_code in (302, 404)
    assert "Private question" not in response.get_data(as_text=True)
