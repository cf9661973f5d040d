"""Forms for committing to policies and reporting progress."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    RadioField,
    SelectChoice,
    StringField,
    TextAreaField,
    URLField,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from campaign.catalog.models import Policy
from campaign.commitments.models import Visibility
from campaign.commitments.operations import EVENT_DATES, TARGET_DATES
from campaign.commitments.stages import Stage
from campaign.validation import NOTE_MAX, DateWithin, WebLink, strip, strip_line
from campaign.web.forms import SelectField

VISIBILITY_CHOICES = [SelectChoice(v.value, v.label) for v in Visibility]
NOTE_TOO_LONG = f"Keep the note under {NOTE_MAX:,} characters."


def commit_form_class(policies: list[Policy]) -> type[FlaskForm]:
    """A form with a checkbox, visibility, target date and note for each policy."""

    class CommitForm(FlaskForm):
        pass

    for policy in policies:
        setattr(
            CommitForm, f"commit_{policy.id}", BooleanField("I commit to advancing this policy")
        )
        setattr(
            CommitForm,
            f"visibility_{policy.id}",
            RadioField(
                "Who may see this commitment",
                choices=VISIBILITY_CHOICES,
                default=Visibility.PUBLIC.value,
            ),
        )
        setattr(
            CommitForm,
            f"target_{policy.id}",
            DateField(
                "Target date (optional)",
                validators=[Optional(), DateWithin(window=TARGET_DATES)],
            ),
        )
        setattr(
            CommitForm,
            f"note_{policy.id}",
            TextAreaField(
                "Note for the campaign (optional)",
                filters=[strip],
                validators=[Optional(), Length(max=NOTE_MAX, message=NOTE_TOO_LONG)],
            ),
        )
    return CommitForm


class ProgressForm(FlaskForm):
    stage = SelectField("New stage", validators=[DataRequired("Choose the new stage.")])
    occurred_on = DateField(
        "Date it happened",
        validators=[InputRequired("Enter the date it happened."), DateWithin(window=EVENT_DATES)],
    )
    evidence_url = URLField(
        "Evidence link (optional)",
        description="An ordinance, agenda item, vote record or news story.",
        filters=[strip],
        validators=[Optional(), Length(max=2000), WebLink()],
    )
    note = TextAreaField(
        "Note (optional)",
        filters=[strip],
        validators=[Optional(), Length(max=NOTE_MAX, message=NOTE_TOO_LONG)],
    )
    version = HiddenField()

    def set_stage_choices(self, stages: list[Stage]) -> None:
        self.stage.choices = [SelectChoice("", "Choose…")] + [
            SelectChoice(s.value, s.label) for s in stages
        ]


class VisibilityForm(FlaskForm):
    visibility = RadioField(
        "Who may see this commitment",
        choices=VISIBILITY_CHOICES,
        validators=[DataRequired("Choose who may see it.")],
    )
    # Shown to staff only: they change it on the official's request, and say so.
    reason = StringField(
        "Why you are changing it for the official",
        description="Staff may only make it less public, at the official's request. "
        "The reason is kept in the audit trail.",
        filters=[strip_line],
        validators=[Optional(), Length(max=200, message="Keep the reason under 200 characters.")],
    )
