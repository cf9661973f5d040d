"""The jurisdiction picker: a typed name, a key set by type-ahead, and a confirm step.

With JavaScript, type-ahead fills the hidden key. Without it, the server reads the typed
name; when it is not certain, it re-shows the form with candidates as radio buttons so the
person confirms one. Either way nothing is picked silently.
"""

from __future__ import annotations

from wtforms import HiddenField, RadioField, SelectChoice, StringField
from wtforms.validators import Length, Optional

from campaign.places.models import Jurisdiction
from campaign.places.search import get_by_key, resolve_jurisdiction
from campaign.validation import strip_line

NOT_FOUND = (
    "We could not find “{text}”. Check the spelling, add the state (for example "
    "“Saint Paul, MN”), or add your body below if it is a school district or board."
)
CONFIRM = "More than one place fits. Choose yours below."


def picker_fields(label: str, *, required_message: str | None = None):
    """The three fields of a picker, to put on a form class under one prefix."""
    text = StringField(label, filters=[strip_line], validators=[Length(max=200)])
    key = HiddenField(filters=[strip_line], validators=[Optional(), Length(max=40)])
    choice = RadioField("Which one?", choices=[], validate_choice=False, filters=[strip_line])
    return text, key, choice


def resolve_picker(form, prefix: str, *, required: bool = True) -> Jurisdiction | None:
    """Resolve the picker fields named `prefix`, `prefix_key`, `prefix_choice` on `form`."""
    text_field = getattr(form, prefix)
    key_field = getattr(form, f"{prefix}_key")
    choice_field = getattr(form, f"{prefix}_choice")
    if choice_field.data:
        chosen = get_by_key(choice_field.data)
        if chosen is not None:
            return chosen
    text = text_field.data or ""
    if not text and not key_field.data:
        if required:
            text_field.errors = [*text_field.errors, "Enter the jurisdiction you serve."]
        return None
    resolution = resolve_jurisdiction(text, key_field.data)
    if resolution.jurisdiction is not None:
        return resolution.jurisdiction
    if resolution.candidates:
        choice_field.choices = [
            SelectChoice(m.jurisdiction.key, f"{m.jurisdiction.label} — {m.description}")
            for m in resolution.candidates
        ]
        text_field.errors = [*text_field.errors, CONFIRM]
    else:
        text_field.errors = [*text_field.errors, NOT_FOUND.format(text=text)]
    return None
