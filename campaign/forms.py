"""Forms used across features."""

from flask import abort
from flask_wtf import FlaskForm


class ActionForm(FlaskForm):
    """An empty form: a POST-only button still carries a CSRF token."""


def require_action_form() -> None:
    """For a POST-only button: a missing or stale CSRF token is a 400, nothing changes."""
    if not ActionForm().validate_on_submit():
        abort(400)
