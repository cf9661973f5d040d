"""Forms used across features."""

from flask_wtf import FlaskForm


class ActionForm(FlaskForm):
    """An empty form: a POST-only button still carries a CSRF token."""
