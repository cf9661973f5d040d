"""What every template can use: role predicates, the campaign's name, date formatting."""

from __future__ import annotations

from datetime import date, datetime

from flask import Flask

from campaign.accounts import roles
from campaign.forms import ActionForm


def long_date(value: date | datetime | None) -> str:
    if value is None:
        return ""
    return f"{value:%B} {value.day}, {value.year}"


def register(app: Flask) -> None:
    app.add_template_filter(long_date, "long_date")

    @app.context_processor
    def inject() -> dict:
        return {
            "roles": roles,
            "campaign_name": app.config["CAMPAIGN_NAME"],
            "action_form": ActionForm,
        }
