"""Forms of the import pages: uploads, the column mapping, and triage decisions."""

from __future__ import annotations

from collections.abc import Sequence

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired, MultipleFileField
from wtforms import (
    DateField,
    RadioField,
    SelectChoice,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Email, InputRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from campaign.commitments.models import Visibility
from campaign.commitments.operations import EVENT_DATES
from campaign.commitments.stages import Stage
from campaign.imports.spreadsheet import FIELDS, Field
from campaign.places.forms import picker_fields
from campaign.validation import NOTE_MAX, DateWithin, strip, strip_line
from campaign.web.forms import SelectField


class SpreadsheetUploadForm(FlaskForm):
    file = FileField(
        "Spreadsheet (CSV or XLSX)",
        validators=[FileRequired("Choose the spreadsheet to import.")],
        description="One row per commitment, with a header row. Nothing is written until you "
        "have checked the dry run.",
    )


class MailboxUploadForm(FlaskForm):
    files = MultipleFileField(
        "Mailbox export (mbox, .eml files, or a .zip of them)",
        description="Messages already imported are recognised and skipped.",
    )


def mapping_form(
    headers: list[str], mapping: dict[str, str | None], fields: Sequence[Field] = FIELDS
) -> FlaskForm:
    """One select per field, offering the file's own column names (reference layers pass
    their own fields)."""

    class MappingForm(FlaskForm):
        pass

    options = [SelectChoice("", "(not in this file)")] + [SelectChoice(h, h) for h in headers]
    for field in fields:
        label = field.label + (" (required)" if field.required else "")
        setattr(
            MappingForm,
            field.name,
            SelectField(label, choices=options, default=mapping.get(field.name) or ""),
        )
    return MappingForm()


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class AcceptForm(FlaskForm):
    """What staff confirm when a helpdesk email records commitments."""

    name = StringField(
        "Official's name", filters=[strip_line], validators=[Optional(), Length(max=120)]
    )
    email = StringField(
        "Official's email",
        filters=[strip_line],
        validators=[DataRequired("Enter the official's email."), Email(), Length(max=254)],
    )
    office_title = StringField(
        "Office", filters=[strip_line], validators=[Optional(), Length(max=120)]
    )
    jurisdiction, jurisdiction_key, jurisdiction_choice = picker_fields("Jurisdiction")
    policies = MultiCheckboxField("Policies", coerce=str, validate_choice=True)
    stage = SelectField(
        "Stage", choices=[SelectChoice(s.value, s.label) for s in Stage], default="pledged"
    )
    occurred_on = DateField(
        "Date",
        validators=[InputRequired("Enter the date."), DateWithin(window=EVENT_DATES)],
        description="When the official said it; the email's date unless the text says otherwise.",
    )
    visibility = RadioField(
        "Visibility",
        choices=[SelectChoice(v.value, v.label) for v in Visibility],
        default=Visibility.COUNTED.value,
        validators=[DataRequired("Choose who may see these commitments.")],
    )
    note = TextAreaField(
        "Note for the timeline",
        filters=[strip],
        validators=[Optional(), Length(max=NOTE_MAX)],
    )


class DismissForm(FlaskForm):
    reason = StringField(
        "Why it is not a commitment (optional)",
        filters=[strip_line],
        validators=[Optional(), Length(max=300)],
    )
