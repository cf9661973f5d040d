"""Sign-up, sign-in, profile and password-change forms."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    PasswordField,
    SelectChoice,
    StringField,
)
from wtforms.validators import DataRequired, Email, EqualTo, Length, Optional

from campaign.accounts.operations import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH
from campaign.places.forms import picker_fields
from campaign.places.matching import STATES
from campaign.places.models import JurisdictionKind
from campaign.validation import strip_line
from campaign.web.forms import SelectField

STATE_CHOICES = [SelectChoice("", "Choose a state")] + [
    SelectChoice(code, name) for code, name in sorted(STATES.items(), key=lambda kv: kv[1])
]
BODY_KIND_CHOICES = [
    SelectChoice(kind.value, kind.label)
    for kind in (JurisdictionKind.SCHOOL_DISTRICT, JurisdictionKind.OTHER)
]


def email_field(description: str | None = None) -> EmailField:
    """An email address, trimmed, checked for shape only (no DNS look-up from the server)."""
    return EmailField(
        "Email",
        description=description,
        filters=[strip_line],
        validators=[
            DataRequired("Enter your email address."),
            Email(
                "Enter a valid email address, like name@example.org.", check_deliverability=False
            ),
            Length(max=254),
        ],
    )


def new_password_field(label: str) -> PasswordField:
    """A new password, with the length rules of accounts.operations stated up front."""
    return PasswordField(
        label,
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


class SignupForm(FlaskForm):
    name = StringField(
        "Your full name",
        filters=[strip_line],
        validators=[DataRequired("Enter your name."), Length(max=120)],
    )
    email = email_field()
    password = new_password_field("Password")
    confirm = PasswordField(
        "Repeat password",
        validators=[
            DataRequired("Repeat your password."),
            EqualTo("password", "The two passwords differ."),
        ],
    )
    office_title = StringField(
        "Office title",
        description="For example City Councilmember, County Commissioner, School Board Member.",
        filters=[strip_line],
        validators=[DataRequired("Enter the office you hold."), Length(max=120)],
    )
    jurisdiction, jurisdiction_key, jurisdiction_choice = picker_fields("Jurisdiction you serve")
    body_name = StringField(
        "Name of the school district or body",
        filters=[strip_line],
        validators=[Optional(), Length(max=200)],
    )
    body_kind = SelectField("Kind of body", choices=BODY_KIND_CHOICES, validate_choice=False)
    body_state = SelectField("State", choices=STATE_CHOICES, validate_choice=False)
    near, near_key, near_choice = picker_fields("Nearest city or town")


class LoginForm(FlaskForm):
    email = EmailField(
        "Email",
        filters=[strip_line],
        validators=[DataRequired("Enter your email address."), Length(max=254)],
    )
    password = PasswordField(
        "Password",
        validators=[DataRequired("Enter your password."), Length(max=MAX_PASSWORD_LENGTH)],
    )
    remember = BooleanField("Keep me signed in on this device")


class ProfileForm(FlaskForm):
    name = StringField(
        "Your full name",
        filters=[strip_line],
        validators=[DataRequired("Enter your name."), Length(max=120)],
    )
    office_title = StringField(
        "Office title",
        filters=[strip_line],
        validators=[DataRequired("Enter the office you hold."), Length(max=120)],
    )
    phone = StringField(
        "Phone (seen only by campaign staff)",
        filters=[strip_line],
        validators=[Optional(), Length(max=40)],
    )


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField(
        "Current password", validators=[DataRequired("Enter your current password.")]
    )
    password = new_password_field("New password")
    confirm = PasswordField(
        "Repeat new password",
        validators=[
            DataRequired("Repeat your new password."),
            EqualTo("password", "The two passwords differ."),
        ],
    )
