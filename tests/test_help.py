"""Help requests replace the helpdesk's back-and-forth: ask, queue, reply on site and by email."""

import pytest
from sqlalchemy import select

from campaign.accounts.roles import Role
from campaign.extensions import db
from campaign.followup.models import FollowUp
from campaign.followup.queue import QueueFilter, Reason, follow_up_queue
from campaign.help.models import HelpRequest, HelpStatus
from campaign.timeutil import today


@pytest.fixture
def people(make, catalog):
    official = make.user(name="Rosa Official", email="rosa@example.org")
    staff = make.user(Role.STAFF, name="Sam Staff", email="staff@example.org")
    commitment = make.commitment(official, catalog[0])
    return official, staff, commitment


def ask(client, commitment, body="Can we get model ordinance language?"):
    return client.post(
        f"/help/commitments/{commitment.id}", data={"topic": "model_language", "body": body}
    )


def test_official_asks_staff_see_it_first_in_the_queue_and_reply_by_site_and_email(
    client, auth, people, mailbox
):
    _official, staff, commitment = people
    # Even a snoozed commitment comes back when its official asks for help.
    db.session.add(
        FollowUp(
            commitment_id=commitment.id,
            follow_up_on=today().replace(year=today().year + 1),
            owner_id=staff.id,
        )
    )
    db.session.commit()
    auth.login("rosa@example.org")
    response = ask(client, commitment)
    assert response.status_code == 302
    thread_url = response.headers["Location"]
    auth.logout()

    items = follow_up_queue(today(), QueueFilter(owner="all")).items
    assert [(i.commitment_id, i.reason) for i in items] == [(commitment.id, Reason.HELP_REQUESTED)]

    auth.login("staff@example.org")
    assert "Official asked for help" in client.get("/staff/queue?owner=all").get_data(as_text=True)
    client.post(thread_url, data={"body": "Attached is the model ordinance from Minneapolis."})
    request = db.session.scalar(select(HelpRequest))
    assert request.status == HelpStatus.ANSWERED
    assert follow_up_queue(today(), QueueFilter(owner="all")).items == []

    (message,) = mailbox.messages
    assert message["To"] == "rosa@example.org"
    text = message.get_content()
    assert "model ordinance from Minneapolis" in text
    assert thread_url in text

    auth.logout()
    auth.login("rosa@example.org")
    page = client.get(thread_url).get_data(as_text=True)
    assert "model ordinance from Minneapolis" in page and "Sam Staff" in page


def test_an_officials_reply_puts_it_back_in_the_queue(client, auth, people):
    _official, _staff, commitment = people
    auth.login("rosa@example.org")
    thread_url = ask(client, commitment).headers["Location"]
    request = db.session.scalar(select(HelpRequest))
    request.status = HelpStatus.ANSWERED
    db.session.commit()
    client.post(thread_url, data={"body": "Thanks! One more question."})
    db.session.refresh(request)
    assert request.status == HelpStatus.WAITING_FOR_STAFF


def test_other_officials_and_organizers_cannot_read_a_thread(client, auth, make, people):
    _official, _staff, commitment = people
    auth.login("rosa@example.org")
    thread_url = ask(client, commitment).headers["Location"]
    auth.logout()
    make.user(email="other@example.org")
    auth.login("other@example.org")
    assert client.get(thread_url).status_code == 404
    assert ask(client, commitment).status_code == 404
    auth.logout()
    make.user(Role.ORGANIZER, email="org@example.org")
    auth.login("org@example.org")
    assert client.get(thread_url).status_code == 404


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"topic": "model_language", "body": ""}, "Write your message."),
        ({"topic": "", "body": "Help"}, "Choose what you need help with."),
        (
            {"topic": "model_language", "body": "x" * 100_000},
            "Keep messages under 5,000 characters.",
        ),
    ],
)
def test_bad_help_requests_are_refused(client, auth, people, data, message):
    _official, _staff, commitment = people
    auth.login("rosa@example.org")
    response = client.post(f"/help/commitments/{commitment.id}", data=data)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert db.session.scalar(select(HelpRequest)) is None
