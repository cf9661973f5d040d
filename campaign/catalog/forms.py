"""Staff edit the catalog's words and links without a deploy."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, FieldList, FormField, StringField, TextAreaField, URLField
from wtforms.validators import DataRequired, Length, Optional

from campaign.validation import WebLink, strip, strip_line


class ResourceForm(FlaskForm):
    class Meta:
        csrf = False  # the enclosing form carries the token

    label = StringField("Label", filters=[strip_line], validators=[Optional(), Length(max=120)])
    url = URLField("Link", filters=[strip], validators=[Optional(), Length(max=500), WebLink()])


class PolicyForm(FlaskForm):
    summary = TextAreaField(
        "Summary",
        filters=[strip],
        validators=[DataRequired("Write a summary."), Length(max=2000)],
    )
    hostile_state_friendly = BooleanField("✓ Useful in hostile or heavily preempting states")
    resources = FieldList(FormField(ResourceForm), min_entries=1, max_entries=12)
