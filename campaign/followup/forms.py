"""Staff forms: queue filter, assignment, contact log."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    HiddenField,
    RadioField,
    SelectChoice,
    SelectMultipleField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from campaign.followup.models import ContactKind
from campaign.validation import NOTE_MAX, DateWithin, strip
from campaign.web.forms import SelectField


class ContactForm(FlaskForm):
    kind = RadioField(
        "Kind of contact",
        choices=[SelectChoice(k.value, k.label) for k in ContactKind],
        default=ContactKind.CALL.value,
        validators=[DataRequired("Choose the kind of contact.")],
    )
    contacted_on = DateField(
        "Date of contact",
        validators=[InputRequired("Enter the date of the contact."), DateWithin(future_days=1)],
    )
    note = TextAreaField(
        "What was said",
        filters=[strip],
        validators=[
            Optional(),
            Length(max=NOTE_MAX, message=f"Keep notes under {NOTE_MAX:,} characters."),
        ],
    )
    next_follow_up_on = DateField(
        "Next follow-up (optional)",
        description="The commitment leaves the queue until then.",
        validators=[Optional(), DateWithin(future_days=730)],
    )


class AssignForm(FlaskForm):
    owner = SelectField("Assign to", validate_choice=False)
    commitment_ids = SelectMultipleField("Commitments", validate_choice=False, coerce=str)
    back = HiddenField()


class RejectOfficialForm(FlaskForm):
    """Why staff did not verify an official: kept in the audit trail."""

    reason = TextAreaField(
        "Why (kept in the audit trail)",
        filters=[strip],
        validators=[Optional(), Length(max=300, message="Keep the reason under 300 characters.")],
    )
