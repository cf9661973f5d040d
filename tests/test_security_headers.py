"""Security headers on every kind of response, and error pages that never show internals."""

from __future__ import annotations

import re

import pytest
from flask import abort, request
from werkzeug.exceptions import TooManyRequests

from campaign import create_app
from campaign.accounts.roles import Role
from campaign.commitments.stages import Stage

ALWAYS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}


def csp(response) -> dict[str, list[str]]:
    """The Content-Security-Policy header as {directive: [sources]}."""
    policy = response.headers["Content-Security-Policy"]
    directives = {}
    for part in policy.split(";"):
        name, *sources = part.split()
        directives[name] = sources
    return directives


def assert_security_headers(response) -> None:
    for name, value in ALWAYS.items():
        assert response.headers.get(name) == value, (name, response.headers.get(name))
    assert "camera=()" in response.headers["Permissions-Policy"]
    assert "geolocation=()" in response.headers["Permissions-Policy"]
    policy = csp(response)
    assert policy["default-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["base-uri"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["form-action"] == ["'self'"]
    assert policy["connect-src"] == ["'self'"]
    assert policy["img-src"] == ["'self'", "data:"]
    for directive in ("script-src", "style-src"):
        assert policy[directive][0] == "'self'"
        for source in policy[directive][1:]:
            assert re.fullmatch(r"'nonce-[A-Za-z0-9_-]{24}'", source), source
    assert "unsafe" not in response.headers["Content-Security-Policy"]
    assert "Strict-Transport-Security" not in response.headers  # plain http


@pytest.fixture
def public_data(make, catalog):
    official = make.user(email="official@example.org")
    return make.commitment(official, catalog[0], stage=Stage.PASSED)


def static_url(client) -> str:
    html = client.get("/").get_data(as_text=True)
    return re.search(r'href="(/static/css/app\.css\?v=[0-9a-f]{12})"', html).group(1)


@pytest.mark.parametrize(
    ("path", "status", "content_type"),
    [
        ("/", 200, "text/html"),
        ("/map/", 200, "text/html"),
        ("/map/data.json", 200, "application/json"),
        ("/map/export.csv", 200, "text/csv"),
        ("/map/export.geojson", 200, "application/geo+json"),
        ("/healthz", 200, "application/json"),
        ("/places/search?q=saint", 200, "application/json"),
        ("/nowhere", 404, "text/html"),
        ("/commitments/", 302, "text/html"),  # sign-in redirect
        ("/map", 308, None),  # the router's own trailing-slash redirect
    ],
)
def test_every_kind_of_response_carries_the_security_headers(
    client, public_data, path, status, content_type
):
    response = client.get(path)
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    if content_type:
        assert response.mimetype == content_type
    assert_security_headers(response)


def test_static_files_carry_the_headers_and_keep_their_long_cache(client, make):
    make.user(Role.STAFF, email="staff@example.org")
    client.post("/login", data={"email": "staff@example.org", "password": "correct horse battery"})
    with client.get(static_url(client)) as response:
        assert response.status_code == 200
        assert_security_headers(response)
        assert "max-age=31536000" in response.headers["Cache-Control"]
        assert "no-store" not in response.headers["Cache-Control"]


def test_error_responses_carry_the_headers(client):
    for response in (client.get("/nowhere"), client.put("/login"), client.post("/healthz")):
        assert response.status_code in (404, 405)
        assert_security_headers(response)


def test_a_method_not_allowed_keeps_its_allow_header(client):
    response = client.delete("/login")
    assert response.status_code == 405
    assert "That action is not allowed here" in response.get_data(as_text=True)
    assert set(response.headers["Allow"].replace(" ", "").split(",")) >= {"GET", "POST"}


def test_only_the_maps_inline_script_runs_and_only_with_this_requests_nonce(client, public_data):
    first, second = client.get("/map/"), client.get("/map/")
    nonces = []
    for response in (first, second):
        html = response.get_data(as_text=True)
        (source,) = [s for s in csp(response)["script-src"] if s.startswith("'nonce-")]
        nonce = source.removeprefix("'nonce-").removesuffix("'")
        inline = re.findall(r"<script(?![^>]*\bsrc=)([^>]*)>", html)
        assert inline == [f' nonce="{nonce}"'], inline  # folium's map script, and only it
        assert "L.map(" in html
        nonces.append(nonce)
    assert nonces[0] != nonces[1]


def test_pages_without_inline_script_allow_no_nonce(client):
    response = client.get("/login")
    assert csp(response)["script-src"] == ["'self'"]
    assert "<script>" not in response.get_data(as_text=True)


PAGES = {
    None: [
        "/",
        "/policies/{policy}",
        "/map/",
        "/signup",
        "/login",
        "/password/forgot",
        "/password/sent",
    ],
    "official@example.org": [
        "/commitments/",
        "/commitments/new",
        "/commitments/{commitment}",
        "/help/commitments/{commitment}",
        "/account",
    ],
    "admin@example.org": [
        "/",
        "/policies/{policy}",
        "/policies/{policy}/edit",
        "/map/",
        "/dashboard/",
        "/directory/",
        "/directory/{official}",
        "/staff/queue",
        "/staff/commitments/{commitment}",
        "/staff/jurisdictions",
        "/staff/audit/",
        "/admin/users",
        "/help/{help}",
    ],
}


@pytest.fixture
def site(make, catalog):
    from campaign.extensions import db
    from campaign.help.models import HelpMessage, HelpRequest, HelpStatus, HelpTopic

    official = make.user(email="official@example.org")
    commitment = make.commitment(official, catalog[0], stage=Stage.PASSED)
    make.user(Role.ADMIN, email="admin@example.org")
    help_request = HelpRequest(
        commitment=commitment,
        official=official,
        topic=HelpTopic.OTHER,
        status=HelpStatus.WAITING_FOR_STAFF,
        messages=[HelpMessage(author=official, body="A question")],
    )
    db.session.add(help_request)
    db.session.commit()
    return {
        "policy": catalog[0].slug,
        "commitment": commitment.id,
        "official": official.id,
        "help": help_request.id,
    }


@pytest.mark.parametrize("email", list(PAGES))
def test_no_page_has_inline_script_style_or_handlers_outside_the_nonce(client, auth, site, email):
    """What CSP would block in a browser: inline script without the nonce, style attributes,
    <style> blocks, on*= handlers and javascript: links. Signed-in pages are never stored."""
    if email:
        auth.login(email)
    for path in PAGES[email]:
        response = client.get(path.format(**site))
        assert response.status_code == 200, path
        html = response.get_data(as_text=True)
        nonce_sources = [s for s in csp(response)["script-src"] if s.startswith("'nonce-")]
        allowed = {f' nonce="{s[7:-1]}"' for s in nonce_sources}
        for attributes in re.findall(r"<script(?![^>]*\bsrc=)([^>]*)>", html):
            assert attributes in allowed, (path, attributes)
        assert not re.search(r"<style|\sstyle=|\son[a-z]+=|javascript:", html, re.I), path
        assert_security_headers(response)
        stored = response.headers.get("Cache-Control") != "no-store"
        assert stored is (email is None), path


def test_signed_in_pages_and_data_are_not_stored_in_caches(client, auth, make, public_data):
    assert "no-store" not in client.get("/").headers.get("Cache-Control", "")
    make.user(Role.STAFF, email="staff@example.org")
    auth.login("staff@example.org")
    for path in ("/", "/map/", "/map/data.json", "/dashboard/", "/staff/queue.csv", "/nowhere"):
        response = client.get(path)
        assert response.headers["Cache-Control"] == "no-store", path


def test_hsts_only_over_https(client):
    assert "Strict-Transport-Security" not in client.get("/login").headers
    secure = client.get("/login", base_url="https://campaign.example.org")
    assert secure.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"


def make_app(tmp_path, **overrides):
    config = {"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/x.db"}
    return create_app({**config, **overrides})


@pytest.mark.parametrize(("proxy_count", "secure"), [(0, False), (1, True)])
def test_https_behind_a_proxy_counts_only_when_the_proxy_is_configured(
    tmp_path, proxy_count, secure
):
    app = make_app(tmp_path, PROXY_COUNT=proxy_count)

    @app.get("/scheme-for-test")
    def scheme():
        return {"scheme": request.scheme}

    response = app.test_client().get(
        "/scheme-for-test", headers={"X-Forwarded-Proto": "https", "X-Forwarded-Host": "evil.test"}
    )
    assert response.get_json()["scheme"] == ("https" if secure else "http")
    assert ("Strict-Transport-Security" in response.headers) is secure


def test_forwarded_host_is_never_trusted(tmp_path):
    app = make_app(tmp_path, PROXY_COUNT=1)

    @app.get("/host-for-test")
    def host():
        return {"host": request.host}

    response = app.test_client().get("/host-for-test", headers={"X-Forwarded-Host": "evil.test"})
    assert response.get_json()["host"] == "localhost"


def test_a_https_form_post_with_a_same_origin_referrer_passes_csrf(app, client, make):
    """Why Referrer-Policy is same-origin: Flask-WTF refuses HTTPS posts without a Referer."""
    make.user(email="ana@example.org")
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        base = "https://campaign.example.org"
        page = client.get("/login", base_url=base).get_data(as_text=True)
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        form = {
            "csrf_token": token,
            "email": "ana@example.org",
            "password": "correct horse battery",
        }
        without = client.post("/login", base_url=base, data=form)
        assert without.status_code == 400  # what no-referrer would do to every form
        with_referrer = client.post(
            "/login", base_url=base, data=form, headers={"Referer": base + "/login"}
        )
        assert with_referrer.status_code == 302
    finally:
        app.config["WTF_CSRF_ENABLED"] = False


@pytest.mark.parametrize(
    ("tile_url", "source"),
    [
        ("https://tiles.example.org/{z}/{x}/{y}.png", "https://tiles.example.org"),
        ("https://{s}.tiles.example.org/{z}/{x}/{y}.png", "https://*.tiles.example.org"),
        ("https://tiles.example.org:8443/{z}/{x}/{y}.png", "https://tiles.example.org:8443"),
        ("/tiles/{z}/{x}/{y}.png", None),
    ],
)
def test_the_tile_host_is_allowed_for_images_only_when_a_basemap_is_configured(
    tmp_path, tile_url, source
):
    app = make_app(tmp_path, MAP_TILE_URL=tile_url)
    response = app.test_client().get("/healthz")
    expected = ["'self'", "data:"] + ([source] if source else [])
    assert csp(response)["img-src"] == expected
    assert csp(response)["connect-src"] == ["'self'"]


@pytest.mark.parametrize(
    "tile_url",
    ["ftp://tiles.example.org/{z}.png", "tiles.example.org/{z}.png", "https://tiles.{s}.org/{z}"],
)
def test_a_tile_url_the_policy_cannot_express_is_refused_at_start_up(tmp_path, tile_url):
    with pytest.raises(ValueError, match="MAP_TILE_URL"):
        make_app(tmp_path, MAP_TILE_URL=tile_url)


def production_app(tmp_path, monkeypatch):
    monkeypatch.setenv("CAMPAIGN_ENV", "production")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/prod.sqlite3")
    # SECRET_KEY and PUBLIC_URL are read from the environment when config.py is imported,
    # so pass them here (the test client's host is PUBLIC_URL's).
    app = create_app({"SECRET_KEY": "p" * 64, "PUBLIC_URL": "http://localhost"})
    assert app.config["ENV_NAME"] == "production" and not app.testing and not app.debug

    @app.get("/boom-for-test")
    def boom():
        raise RuntimeError("secret internals at /srv/campaign/views.py line 42")

    @app.get("/throttled-for-test")
    def throttled():
        raise TooManyRequests(retry_after=30)

    return app


def test_in_production_an_exception_shows_the_friendly_page_with_headers(tmp_path, monkeypatch):
    app = production_app(tmp_path, monkeypatch)
    response = app.test_client().get("/boom-for-test")
    assert response.status_code == 500
    html = response.get_data(as_text=True)
    assert "Something went wrong on our side" in html
    for leak in ("secret internals", "Traceback", "RuntimeError", "line 42", "/srv/"):
        assert leak not in html
    assert_security_headers(response)


def test_too_many_requests_has_a_friendly_page_and_keeps_retry_after(tmp_path, monkeypatch):
    app = production_app(tmp_path, monkeypatch)
    response = app.test_client().get("/throttled-for-test")
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "30"
    assert "Too many attempts" in response.get_data(as_text=True)
    assert_security_headers(response)
    as_json = app.test_client().get("/throttled-for-test", headers={"Accept": "application/json"})
    assert as_json.status_code == 429
    assert as_json.get_json() == {"error": "Too many attempts"}
    assert as_json.headers["Retry-After"] == "30"


@pytest.mark.parametrize(
    ("code", "title"),
    [
        (400, "Something in that request was not right"),
        (403, "You do not have access to this page"),
        (404, "Page not found"),
        (405, "That action is not allowed here"),
        (413, "That was too large"),
        (429, "Too many attempts"),
        (500, "Something went wrong on our side"),
    ],
)
def test_each_error_code_has_a_friendly_page(tmp_path, monkeypatch, code, title):
    app = production_app(tmp_path, monkeypatch)

    @app.get("/abort-for-test")
    def fail():
        abort(code)

    response = app.test_client().get("/abort-for-test")
    assert response.status_code == code
    html = response.get_data(as_text=True)
    assert f"<h1>{title}</h1>" in html and f"Error {code}" in html
    assert "Traceback" not in html and "werkzeug" not in html.lower()
    assert_security_headers(response)
