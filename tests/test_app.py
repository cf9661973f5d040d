"""The app factory, configuration, health check, CSRF and error pages."""

import re

import pytest

from campaign import create_app
from campaign.config import UnsafeConfigError


def test_production_refuses_to_start_with_the_default_secret_key(monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(UnsafeConfigError):
        create_app({"ENV_NAME": "production"})


def test_production_starts_with_a_real_secret_key():
    app = create_app(
        {"ENV_NAME": "production", "SECRET_KEY": "x" * 64, "PUBLIC_URL": "https://c.example.org"}
    )
    assert app.config["SESSION_COOKIE_SECURE"] is True


def test_unknown_environment_name_is_refused(monkeypatch):
    monkeypatch.setenv("CAMPAIGN_ENV", "prod")
    with pytest.raises(ValueError, match="CAMPAIGN_ENV must be one of"):
        create_app()


def test_default_database_is_sqlite_under_instance(monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    app = create_app({"ENV_NAME": "testing"})
    assert app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///")
    assert app.config["SQLALCHEMY_DATABASE_URI"].endswith("instance/campaign.sqlite3")


def test_postgres_urls_use_psycopg3(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
    app = create_app({"ENV_NAME": "testing"})
    assert app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql+psycopg://")


def test_healthz_answers_with_a_small_json_body(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {
        "status": "ok",
        "database": "ok",
        "rate_limits": {"enabled": False},  # the suite runs unthrottled
    }


def test_every_page_has_a_title_and_one_h1(client, catalog):
    for path in ("/", f"/policies/{catalog[0].slug}", "/signup", "/login", "/nowhere"):
        html = client.get(path).get_data(as_text=True)
        assert "<title>" in html and "</title>" in html
        assert html.count("<h1") == 1, path


def test_unexpected_errors_show_a_friendly_page_without_a_traceback(tmp_path):
    app = create_app(
        {"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/x.sqlite3"}
    )

    @app.get("/boom-for-test")
    def boom():
        raise RuntimeError("secret internals")

    response = app.test_client().get("/boom-for-test")
    assert response.status_code == 500
    html = response.get_data(as_text=True)
    assert "Something went wrong on our side" in html
    assert "secret internals" not in html and "Traceback" not in html


def test_post_without_a_csrf_token_is_refused(app, make):
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        make.user(email="ana@example.org")
        client = app.test_client()
        response = client.post(
            "/login", data={"email": "ana@example.org", "password": "correct horse battery"}
        )
        assert response.status_code == 400
        page = client.get("/login").get_data(as_text=True)
        assert 'name="csrf_token"' in page
    finally:
        app.config["WTF_CSRF_ENABLED"] = False


def test_static_files_are_versioned_and_cached_long(client):
    html = client.get("/login").get_data(as_text=True)
    href = re.search(r'href="(/static/css/app\.css\?v=[0-9a-f]{12})"', html).group(1)
    with client.get(href) as response:
        assert response.status_code == 200
        assert "max-age=31536000" in response.headers["Cache-Control"]


def test_a_basemap_appears_only_when_configured(app, client, catalog):
    assert "L.tileLayer" not in client.get("/map/").get_data(as_text=True)
    app.config["MAP_TILE_URL"] = "https://tiles.example.org/{z}/{x}/{y}.png"
    try:
        from campaign.figures import cache

        cache.clear()
        html = client.get("/map/").get_data(as_text=True)
        assert "L.tileLayer" in html
        assert "https://tiles.example.org/{z}/{x}/{y}.png" in html
    finally:
        app.config["MAP_TILE_URL"] = None


def test_sqlite_connections_are_not_pinged_but_postgresql_ones_are(tmp_path):
    """A file cannot drop a connection; a PostgreSQL server restart can."""
    sqlite_url = f"sqlite:///{tmp_path / 'campaign.sqlite3'}"
    sqlite_app = create_app({"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": sqlite_url})
    assert "pool_pre_ping" not in sqlite_app.config["SQLALCHEMY_ENGINE_OPTIONS"]
    postgresql_app = create_app(
        {"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://u@127.0.0.1/x"}
    )
    assert postgresql_app.config["SQLALCHEMY_ENGINE_OPTIONS"]["pool_pre_ping"] is True
