"""Request size limits: a small body cap everywhere, one documented way for uploads to ask for
more, a friendly 413 (never a 500), and a form error for a field longer than its rule."""

from __future__ import annotations

import io
from functools import wraps

import pytest
from flask import render_template_string, request
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from campaign import create_app
from campaign.accounts.roles import Role
from campaign.extensions import db
from campaign.security import allow_large_body
from tests.conftest import form_errors

MIB = 1024 * 1024


def test_defaults_are_small_except_for_uploads(app):
    assert app.config["MAX_CONTENT_LENGTH"] == 1 * MIB
    assert app.config["MAX_FORM_MEMORY_SIZE"] == 256 * 1024
    assert app.config["MAX_FORM_PARTS"] == 1000
    assert app.config["IMPORT_MAX_UPLOAD_BYTES"] == 64 * MIB


def assert_friendly_413(response) -> None:
    assert response.status_code == 413
    html = response.get_data(as_text=True)
    assert "<h1>That was too large</h1>" in html
    assert "Traceback" not in html
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "Content-Security-Policy" in response.headers


@pytest.fixture(params=["visitor", "official"])
def form_page(request, client, auth, make):
    """A form as a visitor (sign-in) and as an official (their account page, whose error
    page then has a sign-out form that must not read the refused body again)."""
    if request.param == "visitor":
        return "/login"
    make.user(email="official@example.org")
    auth.login("official@example.org")
    return "/account"


def test_a_body_over_the_cap_gets_the_friendly_413(client, form_page):
    response = client.post(form_page, data={"name": "x" * (2 * MIB)})
    assert_friendly_413(response)


def test_a_body_over_the_cap_is_refused_when_csrf_reads_it(app, client, form_page):
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        response = client.post(form_page, data={"name": "x" * (2 * MIB)})
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert_friendly_413(response)


def test_a_multipart_field_over_the_memory_cap_gets_the_friendly_413(client, form_page):
    response = client.post(
        form_page, data={"name": "x" * (300 * 1024)}, content_type="multipart/form-data"
    )
    assert_friendly_413(response)


def test_too_many_multipart_parts_get_the_friendly_413(client, form_page):
    data = {f"field{i}": "x" for i in range(1001)}
    response = client.post(form_page, data=data, content_type="multipart/form-data")
    assert_friendly_413(response)


def test_a_script_gets_the_413_as_json(client):
    response = client.post(
        "/login", data={"password": "x" * (2 * MIB)}, headers={"Accept": "application/json"}
    )
    assert response.status_code == 413
    assert response.get_json() == {"error": "That was too large"}


@pytest.fixture
def official_with_commitment(client, auth, make, catalog):
    official = make.user(email="official@example.org")
    commitment = make.commitment(official, catalog[0])
    auth.login("official@example.org")
    return commitment


@pytest.fixture
def staff_with_commitment(client, auth, make, catalog):
    official = make.user(email="official@example.org")
    commitment = make.commitment(official, catalog[0])
    make.user(Role.ADMIN, email="admin@example.org")
    auth.login("admin@example.org")
    return commitment


# Well under the body cap, far over each field's own rule: the form says so, nothing is saved.
LONG = "x" * (100 * 1024)


def test_overlong_signup_fields_get_form_errors(client):
    response = client.post(
        "/signup",
        data={
            "name": LONG,
            "email": LONG + "@example.org",
            "password": LONG,
            "confirm": LONG,
            "office_title": LONG,
            "jurisdiction": LONG,
            "body_name": LONG,
        },
    )
    assert response.status_code == 422
    assert form_errors(response) == [
        "Field cannot be longer than 120 characters.",  # name
        "Enter a valid email address, like name@example.org.",
        "Field cannot be longer than 254 characters.",
        "Use between 10 and 256 characters for your password.",
        "Field cannot be longer than 120 characters.",  # office title
        "Field cannot be longer than 200 characters.",  # jurisdiction
        "Field cannot be longer than 200 characters.",  # body name
    ]


def test_overlong_login_fields_get_form_errors_without_a_password_check(client, make):
    make.user(email="ana@example.org")
    response = client.post("/login", data={"email": LONG, "password": LONG})
    assert response.status_code == 422
    assert form_errors(response) == [
        "Field cannot be longer than 254 characters.",
        "Field cannot be longer than 256 characters.",
    ]


def test_an_overlong_profile_field_gets_a_form_error(client, official_with_commitment):
    response = client.post("/account", data={"name": LONG, "office_title": "Mayor", "phone": LONG})
    assert response.status_code == 422
    assert len(form_errors(response)) == 2


def test_an_overlong_progress_note_gets_a_form_error(client, official_with_commitment):
    commitment = official_with_commitment
    response = client.post(
        f"/commitments/{commitment.id}/progress",
        data={"stage": "introduced", "occurred_on": "2024-05-01", "note": LONG},
    )
    assert response.status_code == 422
    assert "Keep the note under 2,000 characters." in form_errors(response)


def test_an_overlong_help_message_gets_a_form_error(client, official_with_commitment):
    response = client.post(
        f"/help/commitments/{official_with_commitment.id}", data={"topic": "other", "body": LONG}
    )
    assert response.status_code == 422
    assert "Keep messages under 5,000 characters." in form_errors(response)


def test_an_overlong_contact_note_gets_a_form_error(client, staff_with_commitment):
    response = client.post(
        f"/staff/officials/{staff_with_commitment.official_id}/contact",
        data={"kind": "call", "contacted_on": "2024-05-01", "note": LONG},
        follow_redirects=True,
    )
    assert response.status_code == 200
    assert "Keep notes under 2,000 characters." in response.get_data(as_text=True)


def test_an_overlong_policy_summary_gets_a_form_error(client, staff_with_commitment, catalog):
    response = client.post(
        f"/policies/{catalog[0].slug}/edit",
        data={"summary": LONG, "resources-0-label": LONG, "resources-0-url": "https://x.org"},
    )
    assert response.status_code == 422
    assert len(form_errors(response)) == 2


# allow_large_body on a view of its own app: routes cannot be added to the shared test app.


def passthrough(view):
    """A decorator like role_required: functools.wraps carries the mark outward."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        return view(*args, **kwargs)

    return wrapped


@pytest.fixture
def upload_app(tmp_path):
    app = create_app(
        {
            "ENV_NAME": "testing",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/x.sqlite3",
            "WTF_CSRF_ENABLED": True,
            "IMPORT_MAX_UPLOAD_BYTES": 3 * MIB,
        }
    )

    @app.route("/upload-for-test", methods=["GET", "POST"])
    @passthrough
    @allow_large_body("IMPORT_MAX_UPLOAD_BYTES")
    def upload():
        if request.method == "GET":
            return render_template_string("{{ csrf_token() }}")
        return {"bytes": len(request.files["file"].read())}

    @app.post("/small-for-test")
    def small():
        return {"bytes": len(request.files["file"].read())}

    with app.app_context():
        db.create_all()  # the session cookie below makes pages look the user up
    return app


def signed_in_client(app):
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = "a-session-token"
    return client


def post_file(client, path: str, size: int):
    """A multipart upload encoded in memory (the test client would spool a large one to a
    temporary file that it never closes)."""
    token = client.get("/upload-for-test").get_data(as_text=True)
    fields = MultiDict({"csrf_token": token})
    fields.add("file", FileStorage(io.BytesIO(b"x" * size), filename="people.csv"))
    boundary, body = encode_multipart(fields)
    return client.post(path, data=body, content_type=f"multipart/form-data; boundary={boundary}")


def test_an_upload_view_accepts_a_file_up_to_its_own_limit(upload_app):
    client = signed_in_client(upload_app)
    response = post_file(client, "/upload-for-test", 2 * MIB)
    assert response.status_code == 200
    assert response.get_json() == {"bytes": 2 * MIB}


def test_an_upload_over_its_own_limit_gets_the_friendly_413(upload_app):
    client = signed_in_client(upload_app)
    assert_friendly_413(post_file(client, "/upload-for-test", 4 * MIB))


def test_other_views_keep_the_small_limit(upload_app):
    client = signed_in_client(upload_app)
    assert_friendly_413(post_file(client, "/small-for-test", 2 * MIB))


def test_the_larger_limit_is_not_offered_to_visitors(upload_app):
    assert_friendly_413(post_file(upload_app.test_client(), "/upload-for-test", 2 * MIB))


def test_the_larger_limit_is_only_for_multipart_bodies(upload_app):
    client = signed_in_client(upload_app)
    token = client.get("/upload-for-test").get_data(as_text=True)
    response = client.post("/upload-for-test", data={"csrf_token": token, "x": "y" * (2 * MIB)})
    assert_friendly_413(response)
