"""Forms for enrolling an authenticator app and entering its code at sign-in."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length


class EnrolForm(FlaskForm):
    code = StringField(
        "Code from your authenticator app",
        description="The 6 digits the app shows for this account after you add the key.",
        validators=[DataRequired("Enter the 6-digit code your app shows."), Length(max=20)],
    )


class CodeForm(FlaskForm):
    code = StringField(
        "Code from your authenticator app, or a recovery code",
        description="The 6 digits your app shows now. Lost your phone? Enter one of the "
        "recovery codes you saved when you set it up.",
        validators=[DataRequired("Enter the code from your authenticator app."), Length(max=40)],
    )
