"""Forms for asking for a reset link and choosing the new password."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Email, EqualTo, Length

from campaign.accounts.operations import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH
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
    password = PasswordField(
        "New password",
        description=f"At least {MIN_PASSWORD_LENGTH} characters.",
        validators=[
            DataRequired("Choose a password."),
            Length(
                min=MIN_PASSWORD_LENGTH,
                max=MAX_PASSWORD_LENGTH,
                message=f"Use between {MIN_PASSWORD_LENGTH} and {MAX_PASSWORD_LENGTH} "
                "characters for your password.",
            ),
        ],
    )
    confirm = PasswordField(
        "Repeat new password",
        validators=[
            DataRequired("Repeat your password."),
            EqualTo("password", "The two passwords differ."),
        ],
    )
