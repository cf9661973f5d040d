"""Forms for asking for a reset link and choosing the new password."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Email, EqualTo, Length

from campaign.accounts.forms import new_password_field
from campaign.validation import strip_line


class ForgotPasswordForm(FlaskForm):
    email = EmailField(
        "Email",
        description="The address you signed up with, or the one the campaign has for you.",
        filters=[strip_line],
        validators=[
            DataRequired("Enter your email address."),
            Email(
                "Enter a valid email address, like name@example.org.", check_deliverability=False
            ),
            Length(max=254),
        ],
    )


class ResetPasswordForm(FlaskForm):
    password = new_password_field("New password")
    confirm = PasswordField(
        "Repeat new password",
        validators=[
            DataRequired("Repeat your password."),
            EqualTo("password", "The two passwords differ."),
        ],
    )
