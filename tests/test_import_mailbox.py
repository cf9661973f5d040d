"""Mailbox import and triage: suggestions, threads, idempotence, and what accepting creates."""

from __future__ import annotations

import io
import mailbox as stdlib_mailbox
from datetime import UTC, date, datetime
from email.message import EmailMessage
from email.utils import format_datetime

import pytest
from sqlalchemy import func, select

from campaign.accounts.models import User
from campaign.accounts.roles import Role
from campaign.commitments.models import Commitment, TimelineEntry, Visibility
from campaign.commitments.stages import Stage
from campaign.extensions import db
from campaign.imports.models import MailMessage, TriageStatus
from campaign.imports.triage import (
    Acceptance,
    TriageError,
    accept_thread,
    dismiss_thread,
    import_mailbox,
    suggestions_for,
    thread_of,
)
from campaign.places.models import JurisdictionKind


def message(
    sender, subject, body, *, msgid, when, reply_to=None, html=None, charset=None, attach=None
) -> EmailMessage:
    msg = EmailMessage()
    if sender:
        msg["From"] = sender
    msg["To"] = "helpdesk@campaign.example"
    msg["Subject"] = subject
    msg["Date"] = format_datetime(when)
    msg["Message-ID"] = f"<{msgid}>"
    if reply_to:
        msg["In-Reply-To"] = f"<{reply_to}>"
        msg["References"] = f"<{reply_to}>"
    if html and body is None:
        msg.set_content(html, subtype="html")
    elif charset:
        msg.set_content(body, charset=charset, cte="quoted-printable")
    else:
        msg.set_content(body)
        if html:
            msg.add_alternative(html, subtype="html")
    if attach:
        msg.add_attachment(attach, maintype="application", subtype="pdf", filename="resolution.pdf")
    return msg


def day(d: int) -> datetime:
    return datetime(2025, 3, d, 15, 0, tzinfo=UTC)


@pytest.fixture
def helpdesk(tmp_path):
    """An mbox export: plain, HTML-only, multipart with an attachment, Latin-1, a reply."""
    path = tmp_path / "helpdesk.mbox"
    box = stdlib_mailbox.mbox(path)
    box.add(message("Ana Ruiz <ana@stpaul.example>", "We will cancel our ALPR contract",
                    "Hello, the City of Saint Paul will end its license plate reader contract.\n"
                    "Ana Ruiz, Council Member, Saint Paul, MN", msgid="a1@stpaul.example",
                    when=day(3)))  # fmt: skip
    box.add(message("Helpdesk <helpdesk@campaign.example>", "Re: We will cancel our ALPR contract",
                    "Thank you Ana! We will follow up.", msgid="h1@campaign.example",
                    when=day(4), reply_to="a1@stpaul.example"))  # fmt: skip
    box.add(message("Bo Lee <bo@bay.example>", "Sanctuary", None,
                    html="<html><body><p>Bay County commissioners pledge a <b>sanctuary</b> "
                    "policy.</p><script>alert(1)</script></body></html>",
                    msgid="b1@bay.example", when=day(5)))  # fmt: skip
    box.add(message("José Núñez <jose@nm.example>", "Doña Ana", "Doña Ana County, NM: "
                    "detention contract vote next month. Señor Núñez", msgid="j1@nm.example",
                    when=day(6), charset="iso-8859-1", attach=b"%PDF-1.4 fake"))  # fmt: skip
    box.add(message(None, "no sender here", "Anonymous note about 287(g)", msgid="x1@nowhere",
                    when=day(7)))  # fmt: skip
    box.close()
    return path


@pytest.fixture
def places(make):
    return {
        "saint_paul": make.jurisdiction("Saint Paul", "MN", key="gn5045360", population=300000),
        "bay": make.jurisdiction("Bay County", "FL", JurisdictionKind.COUNTY, key="12005"),
        "dona_ana_county": make.jurisdiction(
            "Doña Ana County", "NM", JurisdictionKind.COUNTY, key="35013"
        ),
    }


def test_each_message_becomes_a_triage_item_with_suggestions(helpdesk, catalog, places, make):
    ana = make.user(email="ana@stpaul.example", name="Ana Ruiz", jurisdiction=places["saint_paul"])
    _batch, report = import_mailbox(helpdesk, None)
    db.session.commit()
    assert report.added == 5
    assert report.already_imported == 0
    messages = {m.message_id: m for m in db.session.scalars(select(MailMessage))}
    assert set(messages) == {
        "a1@stpaul.example", "h1@campaign.example", "b1@bay.example", "j1@nm.example",
        "x1@nowhere",
    }  # fmt: skip

    first = messages["a1@stpaul.example"]
    assert first.sender_email == "ana@stpaul.example"
    assert first.sender_name == "Ana Ruiz"
    assert first.subject == "We will cancel our ALPR contract"
    assert first.sent_at == datetime(2025, 3, 3, 15, 0)
    assert first.status == TriageStatus.NEW
    # The reply is grouped with the message it answers.
    assert messages["h1@campaign.example"].thread_key == first.thread_key
    assert messages["b1@bay.example"].thread_key != first.thread_key

    suggested = suggestions_for(thread_of(first))
    assert suggested.official == ana
    assert suggested.jurisdictions[0] == places["saint_paul"]
    assert [p.slug for p in suggested.policies] == ["cancel-alpr-contracts"]
    assert suggested.sent_on == date(2025, 3, 3)

    html = messages["b1@bay.example"]
    assert "Bay County commissioners pledge a sanctuary policy." in html.body
    assert "alert" not in html.body and "<" not in html.body
    bay = suggestions_for(thread_of(html))
    assert bay.official is None and bay.email == "bo@bay.example" and bay.name == "Bo Lee"
    assert bay.jurisdictions == [places["bay"]]
    assert [p.slug for p in bay.policies] == ["robust-sanctuary-policies"]

    latin = messages["j1@nm.example"]
    assert "Doña Ana County" in latin.body and "Señor Núñez" in latin.body
    assert latin.attachments == [
        {"filename": "resolution.pdf", "content_type": "application/pdf", "size": 13}
    ]
    assert suggestions_for(thread_of(latin)).jurisdictions == [places["dona_ana_county"]]

    nobody = messages["x1@nowhere"]
    assert nobody.sender_email is None
    assert nobody.problems  # "no sender address" is shown to staff
    assert [p.slug for p in suggestions_for(thread_of(nobody)).policies] == [
        "end-287g-and-task-forces"
    ]


def test_importing_the_same_mailbox_again_adds_nothing(helpdesk, catalog, places):
    import_mailbox(helpdesk, None)
    db.session.commit()
    _batch, report = import_mailbox(helpdesk, None)
    db.session.commit()
    assert report.added == 0
    assert report.already_imported == 5
    assert db.session.scalar(select(func.count(MailMessage.id))) == 5


def test_a_reply_imported_before_its_original_joins_its_thread(tmp_path, catalog):
    early = tmp_path / "replies.mbox"
    box = stdlib_mailbox.mbox(early)
    box.add(message("Helpdesk <h@c.example>", "Re: hi", "Thanks", msgid="r@c.example",
                    when=day(4), reply_to="o@x.example"))  # fmt: skip
    box.close()
    late = tmp_path / "originals.mbox"
    box = stdlib_mailbox.mbox(late)
    box.add(message("Ana <ana@x.example>", "hi", "hello", msgid="o@x.example", when=day(3)))
    box.close()
    import_mailbox(early, None)
    import_mailbox(late, None)
    db.session.commit()
    keys = set(db.session.scalars(select(MailMessage.thread_key)))
    assert len(keys) == 1


def test_accepting_creates_the_official_commitments_and_linked_entries(
    helpdesk, catalog, places, make
):
    staff = make.user(Role.STAFF)
    import_mailbox(helpdesk, staff)
    db.session.commit()
    html = db.session.scalar(select(MailMessage).where(MailMessage.message_id == "b1@bay.example"))
    sanctuary = next(p for p in catalog if p.slug == "robust-sanctuary-policies")
    alpr = next(p for p in catalog if p.slug == "cancel-alpr-contracts")
    before_users = db.session.scalar(select(func.count(User.id)))

    accepted = accept_thread(
        thread_of(html),
        Acceptance(
            email="bo@bay.example",
            name="Bo Lee",
            office_title="County Commissioner",
            jurisdiction=places["bay"],
            policies=[sanctuary, alpr],
            stage=Stage.INTRODUCED,
            occurred_on=date(2025, 3, 5),
            visibility=Visibility.COUNTED,
            note="From his email",
        ),
        staff,
    )
    db.session.commit()
    assert len(accepted.recorded) == 2 and accepted.unchanged == []
    assert db.session.scalar(select(func.count(User.id))) == before_users + 1
    bo = db.session.scalar(select(User).where(User.email == "bo@bay.example"))
    assert bo.password_hash is None and bo.jurisdiction == places["bay"]
    commitments = db.session.scalars(select(Commitment).order_by(Commitment.policy_id)).all()
    assert {c.policy for c in commitments} == {sanctuary, alpr}
    assert all(c.stage == Stage.INTRODUCED and c.official == bo for c in commitments)
    entries = db.session.scalars(select(TimelineEntry).order_by(TimelineEntry.id)).all()
    assert len(entries) == 4  # pledged + introduced, for each policy
    assert {e.mail_message_id for e in entries} == {html.id}
    db.session.refresh(html)
    assert html.status == TriageStatus.ACCEPTED
    assert html.official == bo

    with pytest.raises(TriageError, match="already been triaged"):
        accept_thread(thread_of(html), Acceptance("bo@bay.example", "Bo", None, places["bay"],
                      [sanctuary], Stage.PLEDGED, date(2025, 3, 5), Visibility.PUBLIC, None),
                      staff)  # fmt: skip


def test_not_a_commitment_leaves_no_records(helpdesk, catalog, places, make):
    staff = make.user(Role.STAFF)
    import_mailbox(helpdesk, staff)
    db.session.commit()
    first = db.session.scalar(
        select(MailMessage).where(MailMessage.message_id == "a1@stpaul.example")
    )
    dismiss_thread(thread_of(first), "a question, not a pledge", staff)
    db.session.commit()
    statuses = {m.status for m in thread_of(first).messages}
    assert statuses == {TriageStatus.NOT_COMMITMENT}
    assert db.session.scalar(select(func.count(Commitment.id))) == 0


def test_staff_triage_a_thread_in_the_browser(client, auth, make, catalog, places, helpdesk):
    staff = make.user(Role.STAFF)
    auth.login(staff.email)
    with helpdesk.open("rb") as handle:
        response = client.post(
            "/staff/imports/mailbox",
            data={"files": [(io.BytesIO(handle.read()), "helpdesk.mbox")]},
            content_type="multipart/form-data",
        )
    assert response.status_code == 302
    report = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "New, to triage" in report
    queue = client.get("/staff/triage/").get_data(as_text=True)
    assert "We will cancel our ALPR contract" in queue
    assert "Cancel ALPR contracts" in queue
    assert "4 threads" in queue

    bay = db.session.scalar(select(MailMessage).where(MailMessage.message_id == "b1@bay.example"))
    page = client.get(f"/staff/triage/{bay.id}").get_data(as_text=True)
    assert 'value="bo@bay.example"' in page
    assert 'value="Bay County, FL"' in page
    assert "alert(1)" not in page
    sanctuary = next(p for p in catalog if p.slug == "robust-sanctuary-policies")
    accept = {
        "name": "Bo Lee",
        "email": "bo@bay.example",
        "jurisdiction": "Bay County, FL",
        "jurisdiction_key": "12005",
        "policies": [str(sanctuary.id)],
        "stage": "pledged",
        "occurred_on": "2025-03-05",
        "visibility": "counted",
    }
    response = client.post(f"/staff/triage/{bay.id}", data=accept)
    assert response.status_code == 302
    commitment = db.session.scalar(select(Commitment))
    assert commitment.policy == sanctuary
    staff_page = client.get(f"/staff/commitments/{commitment.id}").get_data(as_text=True)
    assert f"/staff/triage/{bay.id}#m{bay.id}" in staff_page
    assert "3 threads" in client.get("/staff/triage/").get_data(as_text=True)

    # The same news from another click (or another staff member) records nothing twice.
    again = client.post(f"/staff/triage/{bay.id}", data=accept)
    assert again.status_code == 422
    assert "This thread has already been triaged." in again.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Commitment.id))) == 1


def test_unreadable_items_are_reported_one_by_one_and_never_stop_the_rest(
    tmp_path, catalog, client, auth, make
):
    export = tmp_path / "export"
    export.mkdir()
    good = message("Ana <ana@x.example>", "hello", "We pledge to end ALPR use.",
                   msgid="g@x.example", when=day(3))  # fmt: skip
    (export / "1-good.eml").write_bytes(bytes(good))
    (export / "2-photo.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(300))
    (export / "3-list.csv").write_text("name,email\nAna,ana@x.example\n")
    (export / "4-empty.eml").write_bytes(b"")
    latin = message("Zoë <zoe@x.example>", "Café", "Señor", msgid="l@x.example", when=day(4),
                    charset="iso-8859-1")  # fmt: skip
    (export / "5-latin.eml").write_bytes(bytes(latin))

    batch, report = import_mailbox(export, None)
    db.session.commit()
    assert report.added == 2
    # Staff see, on the import's page, each file that was not read and why.
    auth.login(make.user(Role.STAFF).email)
    page = client.get(f"/staff/imports/{batch.id}").get_data(as_text=True)
    for source, reason in [
        ("export/2-photo.png", "not an email message (a PNG image)"),
        ("export/3-list.csv", "not an email message"),
        ("export/4-empty.eml", "empty file"),
    ]:
        assert f'<th scope="row">{source}</th><td>{reason}</td>' in page
    assert "1-good.eml" not in page and "5-latin.eml" not in page
    cafe = db.session.scalar(select(MailMessage).where(MailMessage.message_id == "l@x.example"))
    assert cafe.subject == "Café" and "Señor" in cafe.body


def test_a_dismissed_reply_never_hides_an_accepted_thread(helpdesk, catalog, places, make):
    staff = make.user(Role.STAFF)
    import_mailbox(helpdesk, staff)
    db.session.commit()
    first = db.session.scalar(
        select(MailMessage).where(MailMessage.message_id == "a1@stpaul.example")
    )
    reply = db.session.scalar(
        select(MailMessage).where(MailMessage.message_id == "h1@campaign.example")
    )
    alpr = next(p for p in catalog if p.slug == "cancel-alpr-contracts")
    decision = Acceptance("ana@stpaul.example", "Ana Ruiz", None, places["saint_paul"], [alpr],
                          Stage.PLEDGED, date(2025, 3, 3), Visibility.COUNTED, None)  # fmt: skip
    accept_thread(thread_of(first), decision, staff)
    reply.status = TriageStatus.NEW  # a later reply, still to read
    db.session.commit()
    dismiss_thread(thread_of(first), "thank-you note", staff)
    db.session.commit()
    thread = thread_of(first)
    assert thread.status == TriageStatus.ACCEPTED
    with pytest.raises(TriageError, match="Only a thread"):
        from campaign.imports.triage import reopen_thread

        reopen_thread(thread, staff)
    db.session.refresh(first)
    assert first.status == TriageStatus.ACCEPTED and first.decided_by == staff
