"""Forms of the layer pages: the upload with what the list is (the column mapping is the
imports' mapping_form with the layer's fields)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import DateField, RadioField, SelectChoice, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from campaign.layers.models import LayerStatus
from campaign.validation import DateWithin, strip, strip_line
from campaign.web.forms import SelectField


class LayerUploadForm(FlaskForm):
    layer_name = StringField(
        "Layer",
        filters=[strip_line],
        validators=[DataRequired("Name the layer, for example “287(g) agreements”."),
                    Length(max=200)],
        description="An existing layer's name adds a snapshot to it; a new name makes a new "
        "layer when you confirm the import.",
    )  # fmt: skip
    policy = SelectField("Policy it concerns", validators=[DataRequired("Choose the policy.")])
    as_of = DateField(
        "List as of",
        validators=[InputRequired("Enter the date the list was published."),
                    DateWithin(future_days=0)],
        description="The date the list was published (ICE dates its files).",
    )  # fmt: skip
    list_status = RadioField(
        "Which list",
        choices=[SelectChoice(s.value, s.label) for s in LayerStatus],
        default=LayerStatus.PARTICIPATING.value,
        validators=[DataRequired("Choose which list this is.")],
    )
    source_note = TextAreaField(
        "Source and licence (for a new layer)",
        filters=[strip],
        validators=[Optional(), Length(max=2000)],
    )
    file = FileField(
        "The list (XLSX or CSV, as published)",
        validators=[FileRequired("Choose the list to import.")],
        description="Nothing is written until you have checked the dry run.",
    )
