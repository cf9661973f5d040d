"""Forms for asking the campaign for help and replying in the thread."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, RadioField, SelectChoice, TextAreaField
from wtforms.validators import DataRequired, Length

from campaign.help.models import HelpTopic
from campaign.validation import strip

MESSAGE_MAX = 5000


def _message_field(label: str) -> TextAreaField:
    return TextAreaField(
        label,
        filters=[strip],
        validators=[
            DataRequired("Write your message."),
            Length(max=MESSAGE_MAX, message=f"Keep messages under {MESSAGE_MAX:,} characters."),
        ],
    )


class AskForm(FlaskForm):
    topic = RadioField(
        "What do you need?",
        choices=[SelectChoice(t.value, t.label) for t in HelpTopic],
        validators=[DataRequired("Choose what you need help with.")],
    )
    body = _message_field("Your message to the campaign")


class ReplyForm(FlaskForm):
    body = _message_field("Your reply")
    close = BooleanField("Close this request (staff)")
