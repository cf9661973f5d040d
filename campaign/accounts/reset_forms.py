"""Forms for asking for a reset link and choosing the new password."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import PasswordField
from wtforms.validators import DataRequired, EqualTo

from campaign.accounts.forms import email_field, new_password_field


class ForgotPasswordForm(FlaskForm):
    email = email_field("The address you signed up with, or the one the campaign has for you.")


class ResetPasswordForm(FlaskForm):
    password = new_password_field("New password")
    confirm = PasswordField(
        "Repeat new password",
        validators=[
            DataRequired("Repeat your password."),
            EqualTo("password", "The two passwords differ."),
        ],
    )
