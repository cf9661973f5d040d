"""Forms and form pieces used across features."""

from __future__ import annotations

import wtforms
from flask import abort
from flask_wtf import FlaskForm
from markupsafe import Markup, escape
from wtforms import widgets


class ActionForm(FlaskForm):
    """An empty form: a POST-only button still carries a CSRF token."""


def require_action_form() -> None:
    """For a POST-only button: a missing or stale CSRF token is a 400, nothing changes."""
    if not ActionForm().validate_on_submit():
        abort(400)


class QuickSelect(widgets.Select):
    """WTForms' select, writing each plain option directly.

    WTForms builds every option's attributes with `html_params`, which formats through
    `Markup.format` (about 35 µs an option on the 2-core machine): the owner menus list every
    staff member, and staff open them after every call. The markup is the same as WTForms'
    (tests/test_forms_widgets.py compares them); an option with attributes of its own still
    goes through WTForms.
    """

    @classmethod
    def render_option(cls, choice, **kwargs) -> Markup:
        if kwargs or choice.render_kw:
            return super().render_option(choice, **kwargs)
        value = str(choice.value) if isinstance(choice.value, bool) else choice.value
        label = escape(choice.label or choice.value)
        selected = " selected" if choice.selected else ""
        option = f'<option{selected} value="{escape(value)}">{label}</option>'
        return Markup(option)  # noqa: S704 - value and label escaped above


class SelectField(wtforms.SelectField):
    """The project's select field: WTForms' own, rendered by QuickSelect."""

    widget = QuickSelect()
