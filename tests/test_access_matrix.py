"""Who may reach which route: every route of the app against an explicit table, for every role.

`MATRIX` classifies each endpoint and method in `app.url_map` (static files aside). The
first test fails when a route is added without a row here, so no new page can forget its
access rule. URL parameters are filled with records that belong to official A (a private
commitment, a help request, A's jurisdiction key and user id...), and each route is requested
as anonymous, official A, official B (another official), organizer, staff and admin.

A refusal is exact: anonymous visitors are sent to sign in; signed-in people get 403 for a
route their role may not use and 404 for a record that is not theirs (so ids reveal nothing).
A refused response contains none of A's private data, and no request changes the database
unless the table says that role's POST writes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from flask import current_app
from sqlalchemy import select

from campaign.accounts.confirmation import make_confirmation_token
from campaign.accounts.invitations import make_invitation_token
from campaign.accounts.models import AccountOrigin, SecondFactor
from campaign.accounts.reset import make_reset_token
from campaign.accounts.roles import Role
from campaign.accounts.sessions import start_session
from campaign.commitments.models import Visibility
from campaign.commitments.stages import Stage
from campaign.extensions import db
from campaign.imports.models import ImportBatch, ImportKind, ImportStatus, MailMessage, TriageStatus
from campaign.imports.sheets import store_sheet
from campaign.imports.spreadsheet import Sheet
from campaign.layers.models import LayerStatus, LayerUpload, ReferenceLayer, UploadStatus
from campaign.places.models import JurisdictionKind
from campaign.timeutil import today

ANON, A, B, ORG, STAFF, ADMIN = (
    "anonymous",
    "official_a",
    "official_b",
    "organizer",
    "staff",
    "admin",
)
ROLES = (ANON, A, B, ORG, STAFF, ADMIN)
SIGNED_IN = (A, B, ORG, STAFF, ADMIN)
LOGIN = "login"  # anonymous visitors are redirected to the sign-in page

# What only official A (and campaign staff) may ever read, and what only staff may read.
OWNER_SECRETS = {
    "email": "alma.owner@example.org",
    "phone": "+1 555 0199",
    "private note": "PRIVATE-NOTE-7f3a",
    "evidence link": "https://evidence.example/private-7f3a",
    "help question": "HELP-QUESTION-7f3a",
}
STAFF_SECRETS = {"contact log note": "CONTACT-NOTE-7f3a"}
OWNER_NAME = "Alma Owner"


def everyone(status: int = 200) -> dict:
    return dict.fromkeys(ROLES, status)


def signed_in(status: int = 200) -> dict:
    return {ANON: LOGIN, **dict.fromkeys(SIGNED_IN, status)}


def anonymous_only(status: int, signed_in_status: int = 302) -> dict:
    return {ANON: status, **dict.fromkeys(SIGNED_IN, signed_in_status)}


def officials(status: int = 200, *, other_official: int | None = None) -> dict:
    """Officials only; `other_official` is official B's answer for a record of A's."""
    return {
        ANON: LOGIN,
        A: status,
        B: status if other_official is None else other_official,
        ORG: 403,
        STAFF: 403,
        ADMIN: 403,
    }


def owner_or_staff(status: int = 200) -> dict:
    """A's own record: A and staff; for B and organizers it does not exist."""
    return {ANON: LOGIN, A: status, B: 404, ORG: 404, STAFF: status, ADMIN: status}


def organizers_and_staff(status: int = 200) -> dict:
    return {ANON: LOGIN, A: 403, B: 403, ORG: status, STAFF: status, ADMIN: status}


def staff_only(status: int = 200) -> dict:
    return {ANON: LOGIN, A: 403, B: 403, ORG: 403, STAFF: status, ADMIN: status}


def admin_only(status: int = 200) -> dict:
    return {ANON: LOGIN, A: 403, B: 403, ORG: 403, STAFF: 403, ADMIN: status}


@dataclass(frozen=True)
class Route:
    """A request (path with {placeholders} filled from the `world` fixture) and its answers."""

    path: str
    expect: dict
    data: dict = field(default_factory=dict)
    writers: tuple = ()  # roles whose request must change the database; nobody else's may


STAFF_WRITE = (STAFF, ADMIN)
CONTACT = {"kind": "call", "contacted_on": "{today}", "note": "Called back"}

MATRIX: dict[tuple[str, str], Route] = {
    # Public pages and data: the same for everyone; visibility rules decide their content.
    ("pages.home", "GET"): Route("/", everyone()),
    ("pages.policy", "GET"): Route("/policies/{policy}", everyone()),
    ("map.page", "GET"): Route("/map/", everyone()),
    ("map.data", "GET"): Route("/map/data.json", everyone()),
    ("map.detail", "GET"): Route("/map/jurisdictions/{place_key}.json", everyone()),
    ("map.export_csv", "GET"): Route("/map/export.csv", everyone()),
    ("map.export_geojson", "GET"): Route("/map/export.geojson", everyone()),
    ("layers.map_data", "GET"): Route("/map/layers/{layer_slug}.json", everyone()),
    ("places.search", "GET"): Route("/places/search?q=Ownerton", everyone()),
    ("health.healthz", "GET"): Route("/healthz", everyone()),
    # Accounts. Signed-in people are sent on from sign-up and sign-in.
    ("accounts.signup", "GET"): Route("/signup", anonymous_only(200)),
    ("accounts.signup", "POST"): Route(
        "/signup",
        anonymous_only(302),
        {
            "name": "New Person",
            "email": "new.person@example.org",
            "password": "correct horse battery",
            "confirm": "correct horse battery",
            "office_title": "Mayor",
            "jurisdiction_key": "{signup_key}",
        },
        writers=(ANON,),
    ),
    ("accounts.login", "GET"): Route("/login", anonymous_only(200)),
    ("accounts.login", "POST"): Route(
        "/login", anonymous_only(422), {"email": "nobody@example.org", "password": "not it"}
    ),
    # Signing out deletes the browser's session record, so a copied cookie dies with it.
    ("accounts.logout", "POST"): Route("/logout", everyone(302), writers=SIGNED_IN),
    # The code step of sign-in needs a right password first; without it, back to sign in.
    ("second_factor.verify", "GET"): Route("/login/code", everyone(302)),
    ("second_factor.verify", "POST"): Route("/login/code", everyone(302), {"code": "123456"}),
    # Anyone may enrol an authenticator app (staff must, in production); a wrong code saves
    # nothing.
    ("second_factor.enrol", "GET"): Route("/account/second-factor", signed_in()),
    ("second_factor.enrol", "POST"): Route(
        "/account/second-factor", signed_in(422), {"code": "not-a-code"}
    ),
    ("accounts.profile", "GET"): Route("/account", signed_in()),
    ("accounts.profile", "POST"): Route(
        "/account",
        signed_in(302),
        {"name": "Renamed Person", "office_title": "Mayor", "phone": "+1 555 0100"},
        writers=SIGNED_IN,
    ),
    # Password reset: the emailed token is the credential, whoever holds it.
    ("password.forgot", "GET"): Route("/password/forgot", everyone()),
    ("password.forgot", "POST"): Route(
        "/password/forgot", everyone(302), {"email": "nobody@example.org"}
    ),
    ("password.sent", "GET"): Route("/password/sent", everyone()),
    # Confirming a sign-up's address: the emailed token is the credential, whoever holds it.
    ("confirmation.sent", "GET"): Route("/signup/sent", everyone()),
    ("confirmation.confirm", "GET"): Route("/signup/confirm/{confirmation_token}", everyone()),
    ("confirmation.confirm", "POST"): Route(
        "/signup/confirm/{confirmation_token}", everyone(302), writers=ROLES
    ),
    ("confirmation.resend", "GET"): Route("/signup/confirm/resend", anonymous_only(200)),
    ("confirmation.resend", "POST"): Route(
        "/signup/confirm/resend", everyone(302), {"email": "nobody@example.org"}
    ),
    ("password.reset", "GET"): Route("/password/reset/{reset_token}", everyone()),
    ("password.reset", "POST"): Route(
        "/password/reset/{reset_token}",
        everyone(302),
        {"password": "a brand new passphrase", "confirm": "a brand new passphrase"},
        writers=ROLES,
    ),
    # An official's own commitments.
    ("commitments.new", "GET"): Route("/commitments/new", officials()),
    ("commitments.new", "POST"): Route(
        "/commitments/new",
        officials(302),
        {"commit_{free_policy_id}": "y", "visibility_{free_policy_id}": "public"},
        writers=(A, B),
    ),
    ("commitments.mine", "GET"): Route("/commitments/", officials()),
    ("commitments.recorded", "GET"): Route(
        "/commitments/recorded?ids={commitment}", officials(other_official=404)
    ),
    ("commitments.detail", "GET"): Route("/commitments/{commitment}", owner_or_staff()),
    ("commitments.report_progress", "POST"): Route(
        "/commitments/{commitment}/progress",
        owner_or_staff(302),
        {"stage": "passed", "occurred_on": "{today}"},
        writers=(A, *STAFF_WRITE),
    ),
    # Only the official makes a commitment more visible: staff are refused with a message
    # (A's commitment is private; staff may only narrow, see the visibility actions below).
    ("commitments.set_visibility", "POST"): Route(
        "/commitments/{commitment}/visibility",
        {ANON: LOGIN, A: 302, B: 404, ORG: 404, STAFF: 422, ADMIN: 422},
        {"visibility": "counted"},
        writers=(A,),
    ),
    # Help requests: the official asks on their own commitment; staff answer.
    ("help.ask", "GET"): Route("/help/commitments/{commitment}", officials(other_official=404)),
    ("help.ask", "POST"): Route(
        "/help/commitments/{commitment}",
        officials(302, other_official=404),
        {"topic": "legal_review", "body": "Another question"},
        writers=(A,),
    ),
    ("help.thread", "GET"): Route("/help/{help_request}", owner_or_staff()),
    ("help.thread", "POST"): Route(
        "/help/{help_request}",
        owner_or_staff(302),
        {"body": "A reply"},
        writers=(A, *STAFF_WRITE),
    ),
    # Organizers' aggregate pages and the directory.
    ("dashboard.page", "GET"): Route("/dashboard/", organizers_and_staff()),
    ("dashboard.policies_csv", "GET"): Route("/dashboard/policies.csv", organizers_and_staff()),
    ("dashboard.states_csv", "GET"): Route("/dashboard/states.csv", organizers_and_staff()),
    ("directory.index", "GET"): Route("/directory/", organizers_and_staff()),
    ("directory.official", "GET"): Route("/directory/{official}", organizers_and_staff()),
    # Staff downloads of contact details write their audit entry (tests/test_export_audit.py).
    ("directory.export_csv", "GET"): Route(
        "/directory/officials.csv", staff_only(), writers=STAFF_WRITE
    ),
    # The staff workspace.
    ("followup.queue", "GET"): Route("/staff/queue?owner=all", staff_only()),
    ("followup.queue_csv", "GET"): Route(
        "/staff/queue.csv?owner=all", staff_only(), writers=STAFF_WRITE
    ),
    ("followup.assign_many", "POST"): Route(
        "/staff/assign",
        staff_only(302),
        {"owner": "{staff_id}", "commitment_ids": "{commitment}", "back": "/staff/queue"},
        writers=STAFF_WRITE,
    ),
    ("followup.commitment", "GET"): Route("/staff/commitments/{commitment}", staff_only()),
    ("followup.commitment", "POST"): Route(
        "/staff/commitments/{commitment}", staff_only(302), CONTACT, writers=STAFF_WRITE
    ),
    ("followup.verify", "POST"): Route(
        "/staff/timeline/{evidence_entry}/verify", staff_only(302), writers=STAFF_WRITE
    ),
    ("followup.jurisdictions", "GET"): Route("/staff/jurisdictions", staff_only()),
    ("followup.confirm_jurisdiction", "POST"): Route(
        "/staff/jurisdictions/{unconfirmed_body}/confirm", staff_only(302), writers=STAFF_WRITE
    ),
    ("followup.officials_awaiting_verification", "GET"): Route(
        "/staff/officials/to-verify", staff_only()
    ),
    ("followup.verify_official_page", "GET"): Route(
        "/staff/officials/{unverified_official}/verify", staff_only()
    ),
    ("followup.verify_official_page", "POST"): Route(
        "/staff/officials/{unverified_official}/verify", staff_only(302), writers=STAFF_WRITE
    ),
    ("followup.reject_official_view", "POST"): Route(
        "/staff/officials/{unverified_official}/reject",
        staff_only(302),
        {"reason": "No such office"},
        writers=STAFF_WRITE,
    ),
    ("followup.contact_official", "POST"): Route(
        "/staff/officials/{official}/contact", staff_only(302), CONTACT, writers=STAFF_WRITE
    ),
    ("audit.index", "GET"): Route("/staff/audit/", staff_only()),
    ("catalog.edit_policy", "GET"): Route("/policies/{policy}/edit", staff_only()),
    ("catalog.edit_policy", "POST"): Route(
        "/policies/{policy}/edit",
        staff_only(302),
        {"summary": "A new summary.", "resources-0-label": "", "resources-0-url": ""},
        writers=STAFF_WRITE,
    ),
    # Sessions: each person ends their own; another person's session is unknown to them.
    ("accounts.change_password", "POST"): Route(
        "/account/password",
        signed_in(302),
        {
            "current_password": "correct horse battery",
            "password": "a brand new passphrase",
            "confirm": "a brand new passphrase",
        },
        writers=SIGNED_IN,
    ),
    ("accounts.revoke_session", "POST"): Route(
        "/account/sessions/{owner_session}/revoke",
        {ANON: LOGIN, A: 302, B: 404, ORG: 404, STAFF: 404, ADMIN: 404},
        writers=(A,),
    ),
    ("accounts.sign_out_everywhere", "POST"): Route(
        "/account/sessions/revoke-all", signed_in(302), writers=SIGNED_IN
    ),
    # An imported official claims the account with the emailed link, whoever holds it.
    ("password.claim", "GET"): Route("/password/claim/{invitation_token}", everyone()),
    ("password.claim", "POST"): Route(
        "/password/claim/{invitation_token}",
        everyone(302),
        {"password": "a brand new passphrase", "confirm": "a brand new passphrase"},
        writers=ROLES,
    ),
    ("directory.invite", "POST"): Route(
        "/directory/{unclaimed_official}/invite", staff_only(302), writers=STAFF_WRITE
    ),
    ("directory.record_by_phone", "POST"): Route(
        "/directory/{official}/by-phone",
        staff_only(302),
        {
            "policy": "{policy}",
            "stage": "introduced",
            "occurred_on": "{today}",
            "visibility": "counted",
        },
        writers=STAFF_WRITE,
    ),
    # Imports and the helpdesk triage queue: staff only.
    ("imports.index", "GET"): Route("/staff/imports/", staff_only()),
    ("imports.upload_spreadsheet", "POST"): Route("/staff/imports/spreadsheet", staff_only(422)),
    ("imports.upload_mailbox", "POST"): Route("/staff/imports/mailbox", staff_only(422)),
    ("imports.columns", "GET"): Route("/staff/imports/{pending_import}/columns", staff_only()),
    ("imports.columns", "POST"): Route(
        "/staff/imports/{pending_import}/columns",
        staff_only(302),
        {
            "email": "Email",
            "jurisdiction": "Jurisdiction",
            "policy": "Policy",
            "official_name": "Name",
            "pledged_on": "Date",
        },
        writers=STAFF_WRITE,
    ),
    ("imports.report", "GET"): Route("/staff/imports/{pending_import}", staff_only()),
    ("imports.report_csv", "GET"): Route(
        "/staff/imports/{pending_import}/report.csv", staff_only(), writers=STAFF_WRITE
    ),
    ("imports.save_choices", "POST"): Route(
        "/staff/imports/{pending_import}/choices",
        staff_only(302),
        {"then": "check"},
        writers=STAFF_WRITE,
    ),
    ("imports.apply", "POST"): Route(
        "/staff/imports/{pending_import}/apply", staff_only(302), writers=STAFF_WRITE
    ),
    ("imports.cancel", "POST"): Route(
        "/staff/imports/{pending_import}/cancel", staff_only(302), writers=STAFF_WRITE
    ),
    ("imports.invite", "POST"): Route(
        "/staff/imports/{pending_import}/invitations", staff_only(302)
    ),
    # Reference layers: staff bring published lists in.
    ("layers.index", "GET"): Route("/staff/layers/", staff_only()),
    ("layers.upload", "POST"): Route("/staff/layers/upload", staff_only(422)),
    ("layers.columns", "GET"): Route("/staff/layers/{pending_layer}/columns", staff_only()),
    ("layers.columns", "POST"): Route(
        "/staff/layers/{pending_layer}/columns",
        staff_only(302),
        {"state": "STATE", "agency": "AGENCY"},
        writers=STAFF_WRITE,
    ),
    ("layers.report", "GET"): Route("/staff/layers/{pending_layer}", staff_only()),
    ("layers.save_choices", "POST"): Route(
        "/staff/layers/{pending_layer}/choices",
        staff_only(302),
        {"then": "check"},
        writers=STAFF_WRITE,
    ),
    ("layers.apply", "POST"): Route(
        "/staff/layers/{pending_layer}/apply", staff_only(302), writers=STAFF_WRITE
    ),
    ("layers.cancel", "POST"): Route(
        "/staff/layers/{pending_layer}/cancel", staff_only(302), writers=STAFF_WRITE
    ),
    ("triage.queue", "GET"): Route("/staff/triage/", staff_only()),
    ("triage.thread", "GET"): Route("/staff/triage/{mail_message}", staff_only()),
    ("triage.thread", "POST"): Route(
        "/staff/triage/{mail_message}",
        staff_only(302),
        {
            "name": "Mail Person",
            "email": "mail.person@example.org",
            "jurisdiction": "Signupville, MN",
            "jurisdiction_key": "{signup_key}",
            "policies": "{free_policy_id}",
            "stage": "pledged",
            "occurred_on": "{today}",
            "visibility": "counted",
        },
        writers=STAFF_WRITE,
    ),
    ("triage.dismiss", "POST"): Route(
        "/staff/triage/{mail_message}/dismiss",
        staff_only(302),
        {"reason": "a newsletter"},
        writers=STAFF_WRITE,
    ),
    # Reopening a thread still to triage is refused with a message; nothing changes.
    ("triage.reopen", "POST"): Route("/staff/triage/{mail_message}/reopen", staff_only(302)),
    # Account administration.
    ("admin.users", "GET"): Route("/admin/users", admin_only()),
    ("admin.update_user", "POST"): Route(
        "/admin/users/{official}", admin_only(302), {"active": "0"}, writers=(ADMIN,)
    ),
    ("admin.reset_factor", "POST"): Route(
        "/admin/users/{unclaimed_official}/second-factor/reset",
        admin_only(302),
        writers=(ADMIN,),
    ),
}


def _routes_of(app) -> dict[tuple[str, str], str]:
    return {
        (rule.endpoint, method): rule.rule
        for rule in app.url_map.iter_rules()
        if rule.endpoint != "static"
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }


def test_every_route_of_the_app_is_classified_in_the_access_matrix(app):
    routes = _routes_of(app)
    missing = sorted(set(routes) - set(MATRIX))
    assert not missing, "\n".join(
        f"new route {endpoint} {method} {routes[(endpoint, method)]}: add it to the access "
        "matrix in tests/test_access_matrix.py (which roles may, and what the others get)"
        for endpoint, method in missing
    )
    stale = sorted(set(MATRIX) - set(routes))
    assert not stale, f"the access matrix lists routes the app no longer has: {stale}"


def test_every_matrix_path_reaches_the_endpoint_it_classifies(app, world):
    adapter = app.url_map.bind("localhost")
    for (endpoint, method), route in MATRIX.items():
        path = route.path.format(**world).partition("?")[0]
        assert adapter.match(path, method=method)[0] == endpoint, (endpoint, method, path)
        assert set(route.expect) == set(ROLES), f"{endpoint} {method}: classify every role"


@pytest.fixture
def world(make, catalog):
    return build_world(make, catalog)


def build_world(make, catalog) -> dict:
    """Official A's records, official B, an organizer, a staff member and an admin.

    Returns the values that fill the matrix's URL placeholders and form data.
    """
    now = today()
    alma = make.user(
        name=OWNER_NAME,
        email=OWNER_SECRETS["email"],
        jurisdiction=make.jurisdiction("Ownerton", "MN", key="ownerton"),
    )
    alma.phone = OWNER_SECRETS["phone"]
    private = make.commitment(
        alma, catalog[0], visibility=Visibility.PRIVATE, pledged_on=now - timedelta(days=60)
    )
    private.note = OWNER_SECRETS["private note"]
    evidence = make.progress(
        private,
        Stage.INTRODUCED,
        occurred_on=now - timedelta(days=30),
        evidence_url=OWNER_SECRETS["evidence link"],
        note=OWNER_SECRETS["private note"],
    )
    public = make.commitment(alma, catalog[1], pledged_on=now - timedelta(days=60))
    help_request = make.help_request(private, OWNER_SECRETS["help question"])
    bob = make.user(name="Bob Other", email="b@example.org")
    make.commitment(bob, catalog[0], pledged_on=now - timedelta(days=10))
    make.user(Role.ORGANIZER, email="org@example.org")
    staff = make.user(Role.STAFF, email="staff@example.org", name="Sam Staff")
    make.user(Role.ADMIN, email="admin@example.org")
    make.contact(alma, staff, note=STAFF_SECRETS["contact log note"], commitment=private)
    unconfirmed = make.jurisdiction(
        "Ownerton School District", "MN", JurisdictionKind.SCHOOL_DISTRICT, confirmed=False
    )
    signup_place = make.jurisdiction("Signupville", "MN", key="signupville")
    with current_app.test_request_context():
        start_session(alma, "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0")
        owner_session = alma.current_session.id
    unclaimed = make.user(email="unclaimed@example.org", name="Una Claimed")
    unclaimed.password_hash = None
    newcomer = make.user(email="nina@example.org", name="Nina Newcomer", unverified=True)
    newcomer.email_confirmed_at = None
    newcomer.origin = AccountOrigin.SIGNUP
    db.session.flush()
    db.session.add(SecondFactor(user_id=unclaimed.id, secret="JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"))
    pending_import = ImportBatch(
        kind=ImportKind.SPREADSHEET,
        status=ImportStatus.PENDING,
        filename="helpdesk.csv",
        sha256="0" * 64,
        size=1,
        uploaded_by=staff,
        mapping_json=json.dumps(
            {
                "email": "Email",
                "jurisdiction": "Jurisdiction",
                "policy": "Policy",
                "official_name": "Name",
                "pledged_on": "Date",
            }
        ),
    )
    store_sheet(
        pending_import,
        Sheet(
            ["Name", "Email", "Jurisdiction", "Policy", "Date"],
            [
                (
                    2,
                    [
                        "Sheet Person",
                        "sheet@example.org",
                        "Signupville, MN",
                        catalog[3].short_title,
                        "2025-01-02",
                    ],
                )
            ],
        ),
    )
    db.session.add(pending_import)
    mail = MailMessage(
        message_key="1" * 64,
        message_id="m1@example.org",
        thread_key="1" * 64,
        sender_name=OWNER_NAME,
        sender_email=OWNER_SECRETS["email"],
        subject="We pledge",
        body=OWNER_SECRETS["private note"],
        raw_sha256="2" * 64,
        status=TriageStatus.NEW,
    )
    db.session.add(mail)
    pending_layer = LayerUpload(
        layer_name="287(g) agreements",
        policy=catalog[2],
        list_status=LayerStatus.PARTICIPATING,
        as_of=now - timedelta(days=5),
        status=UploadStatus.PENDING,
        filename="participating.csv",
        sha256="3" * 64,
        size=1,
        uploaded_by=staff,
        mapping_json=json.dumps({"state": "STATE", "agency": "AGENCY"}),
        sheet_json=json.dumps(
            {"headers": ["STATE", "AGENCY"], "rows": [[2, ["MINNESOTA", "Signupville PD"]]]}
        ),
    )
    db.session.add(pending_layer)
    db.session.add(
        ReferenceLayer(slug="287g-agreements", name="287(g) agreements", policy=catalog[2])
    )
    db.session.commit()
    return {
        "commitment": private.id,
        "public_commitment": public.id,
        "evidence_entry": evidence.id,
        "help_request": help_request.id,
        "official": alma.id,
        "place_key": "ownerton",
        "policy": catalog[1].slug,
        "free_policy_id": catalog[2].id,
        "staff_id": staff.id,
        "unconfirmed_body": unconfirmed.id,
        "signup_key": signup_place.key,
        "reset_token": make_reset_token(alma),
        "owner_session": owner_session,
        "unclaimed_official": unclaimed.id,
        "invitation_token": make_invitation_token(unclaimed),
        "unverified_official": newcomer.id,
        "confirmation_token": make_confirmation_token(newcomer),
        "pending_import": pending_import.id,
        "pending_layer": pending_layer.id,
        "layer_slug": "287g-agreements",
        "mail_message": mail.id,
        "today": now.isoformat(),
    }


LOGINS = {
    A: OWNER_SECRETS["email"],
    B: "b@example.org",
    ORG: "org@example.org",
    STAFF: "staff@example.org",
    ADMIN: "admin@example.org",
}


def database_snapshot() -> dict[str, list]:
    """Every row of every table, to tell whether a request wrote anything."""
    db.session.expire_all()
    return {
        table.name: sorted((tuple(row) for row in db.session.execute(select(table))), key=repr)
        for table in db.metadata.sorted_tables
    }


def _changed_tables(before: dict, after: dict) -> list[str]:
    return [name for name in before if before[name] != after[name]]


def _fill(value: str, world: dict) -> str:
    return value.format(**world)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("key", list(MATRIX), ids=lambda key: f"{key[0]}-{key[1]}")
def test_route_answers_each_role_as_the_matrix_says(client, auth, world, key, role):
    method = key[1]
    route = MATRIX[key]
    if role != ANON:
        assert auth.login(LOGINS[role]).status_code == 302
    path = _fill(route.path, world)
    data = {_fill(k, world): _fill(v, world) for k, v in route.data.items()}
    before = database_snapshot()
    response = client.open(path, method=method, data=data if method == "POST" else None)
    after = database_snapshot()
    expected = route.expect[role]
    body = response.get_data(as_text=True)
    label = f"{method} {path} as {role}"

    if expected == LOGIN:
        assert response.status_code == 302, f"{label}: expected a redirect to sign in"
        assert response.headers["Location"].startswith("/login?next="), label
    else:
        assert response.status_code == expected, f"{label}: {response.status_code}"

    refused = expected in (LOGIN, 403, 404)
    if refused:
        leaked = [
            what for what, text in [*OWNER_SECRETS.items(), *STAFF_SECRETS.items()] if text in body
        ]
        assert OWNER_NAME not in body and not leaked, f"{label} refused but shows {leaked}"
    else:
        if role not in (A, STAFF, ADMIN):
            leaked = [what for what, text in OWNER_SECRETS.items() if text in body]
            assert not leaked, f"{label} shows official A's {leaked}"
        if role not in (STAFF, ADMIN):
            leaked = [what for what, text in STAFF_SECRETS.items() if text in body]
            assert not leaked, f"{label} shows staff-only {leaked}"

    changed = _changed_tables(before, after)
    if role in route.writers:
        assert changed, f"{label} should have saved something (is the test's data valid?)"
    else:
        assert not changed, f"{label} changed {changed}"


def test_official_b_does_not_see_a_in_my_commitments(client, auth, world):
    auth.login(LOGINS[B])
    html = client.get("/commitments/").get_data(as_text=True)
    assert "Cancel ALPR contracts" in html  # B's own commitment
    assert "Ownerton" not in html and OWNER_NAME not in html


# Each action on a commitment has its own predicate in accounts/roles.py; this is the table
# of who may do what to official A's commitment. True: allowed. Views pass the predicate to
# get_commitment_or_404, so a refusal is the same 404 as a missing record.
COMMITMENT_ACTIONS = {
    "can_view_commitment": {A: True, B: False, ORG: False, STAFF: True, ADMIN: True},
    "can_report_progress": {A: True, B: False, ORG: False, STAFF: True, ADMIN: True},
    "can_change_visibility": {A: True, B: False, ORG: False, STAFF: True, ADMIN: True},
    "can_make_more_visible": {A: True, B: False, ORG: False, STAFF: False, ADMIN: False},
    "can_ask_for_help": {A: True, B: False, ORG: False, STAFF: False, ADMIN: False},
}


@pytest.mark.parametrize("action", list(COMMITMENT_ACTIONS))
def test_each_commitment_action_is_allowed_to_the_roles_the_table_says(world, action):
    from campaign.accounts import roles
    from campaign.accounts.models import User, normalize_email
    from campaign.commitments.models import Commitment

    predicate = getattr(roles, action)
    commitment = db.session.get(Commitment, world["commitment"])
    allowed = {}
    for role, email in LOGINS.items():
        user = db.session.scalar(
            select(User).where(User.email_normalized == normalize_email(email))
        )
        allowed[role] = predicate(user, commitment)
    assert allowed == COMMITMENT_ACTIONS[action]
    anonymous = current_app.login_manager.anonymous_user()
    assert predicate(anonymous, commitment) is False


# Making A's public commitment less public: A without a reason, staff with one (on A's request).
NARROWING = {ANON: LOGIN, A: 302, B: 404, ORG: 404, STAFF: 302, ADMIN: 302}


@pytest.mark.parametrize("role", ROLES)
def test_making_a_commitment_less_public_answers_each_role_as_the_table_says(
    client, auth, world, role
):
    if role != ANON:
        assert auth.login(LOGINS[role]).status_code == 302
    path = f"/commitments/{world['public_commitment']}/visibility"
    before = database_snapshot()
    response = client.post(path, data={"visibility": "counted", "reason": "asked by phone"})
    changed = _changed_tables(before, database_snapshot())
    if NARROWING[role] == LOGIN:
        assert response.headers["Location"].startswith("/login?next=")
    else:
        assert response.status_code == NARROWING[role], role
    assert bool(changed) == (NARROWING[role] == 302), (role, changed)
