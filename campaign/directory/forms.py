"""The staff form on an official's directory page: what the official said by phone."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import DateField, RadioField, SelectChoice, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from campaign.catalog.models import Policy
from campaign.commitments.models import Visibility
from campaign.commitments.operations import EVENT_DATES, TARGET_DATES
from campaign.commitments.stages import Stage
from campaign.validation import NOTE_MAX, DateWithin, strip
from campaign.web.forms import SelectField


class PhoneEntryForm(FlaskForm):
    """A commitment, or a step forward, that an official reported by phone."""

    policy = SelectField("Policy", validators=[DataRequired("Choose the policy.")])
    stage = SelectField(
        "Stage they reported",
        choices=[SelectChoice(s.value, s.label) for s in Stage],
        default=Stage.PLEDGED.value,
    )
    occurred_on = DateField(
        "Date it happened",
        validators=[InputRequired("Enter the date it happened."), DateWithin(window=EVENT_DATES)],
    )
    visibility = RadioField(
        "Who may see it, if it is a new commitment",
        choices=[SelectChoice(v.value, v.label) for v in Visibility],
        default=Visibility.COUNTED.value,
        validators=[DataRequired("Choose who may see it.")],
    )
    target_date = DateField(
        "Target date (optional)", validators=[Optional(), DateWithin(window=TARGET_DATES)]
    )
    note = TextAreaField(
        "Note for the timeline (optional)",
        filters=[strip],
        validators=[
            Optional(),
            Length(max=NOTE_MAX, message=f"Keep the note under {NOTE_MAX:,} characters."),
        ],
    )

    def set_policy_choices(self, policies: list[Policy]) -> None:
        self.policy.choices = [SelectChoice("", "Choose…")] + [
            SelectChoice(p.slug, p.short_title) for p in policies
        ]
