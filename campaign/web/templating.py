"""What every template can use: the campaign's name, date formatting, versioned static URLs,
and whatever the factory adds (the role predicates, from accounts)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path

from flask import Flask

from campaign.web.forms import ActionForm
from campaign.web.static_files import content_version


def long_date(value: date | datetime | None) -> str:
    if value is None:
        return ""
    return f"{value:%B} {value.day}, {value.year}"


def long_datetime(value: datetime | None) -> str:
    """Stored times are UTC, and the page says so."""
    if value is None:
        return ""
    return f"{long_date(value)} at {value:%H:%M} UTC"


def _action_form() -> ActionForm:
    """The CSRF token for a POST-only button. It never reads the request body: the error page
    for a body refused as too large (413) has a sign-out button too."""
    return ActionForm(formdata=None)


def register(app: Flask, template_globals: Mapping[str, object] | None = None) -> None:
    app.add_template_filter(long_date, "long_date")
    app.add_template_filter(long_datetime, "long_datetime")
    static_root = Path(app.static_folder or "")
    # In production the files do not change while a worker runs: hash each once, without
    # a stat per URL per page. While developing, an edited file gets a new URL at once.
    watch_files = app.debug or app.config.get("ENV_NAME") == "development"

    def version_of(filename: str) -> str | None:
        return content_version(static_root / filename)

    version_once = lru_cache(maxsize=None)(version_of)

    @app.url_defaults
    def version_static_urls(endpoint: str, values: dict) -> None:
        """`?v=<content hash>` on every static URL: a new file is a new URL, so the long
        cache lifetime never serves a stale script or stylesheet."""
        if endpoint != "static" or "v" in values or "filename" not in values:
            return
        filename = values["filename"]
        version = version_of(filename) if watch_files else version_once(filename)
        if version is not None:
            values["v"] = version

    @app.context_processor
    def inject() -> dict:
        return {
            **(template_globals or {}),
            "campaign_name": app.config["CAMPAIGN_NAME"],
            "action_form": _action_form,
        }
