"""Forgotten passwords: ask for a link by email, then choose a new password from it.

The same pages serve accounts created by import or the demo with no password yet: setting one
through the emailed link is how their owner claims them.
"""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)

from campaign.accounts.invitations import claim_account, user_for_invitation
from campaign.accounts.operations import AccountError
from campaign.accounts.reset import (
    ResetTokenError,
    request_password_reset,
    reset_password,
    send_reset_email,
    user_for_reset_token,
)
from campaign.accounts.reset_forms import ForgotPasswordForm, ResetPasswordForm
from campaign.accounts.second_factor import begin_sign_in
from campaign.extensions import db

bp = Blueprint("password", __name__, url_prefix="/password")


@bp.route("/forgot", methods=["GET", "POST"])
def forgot():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        found = request_password_reset(form.email.data)
        db.session.rollback()  # nothing to save: end the transaction before mailing
        if found is not None:
            send_reset_email(*found)  # after the response, so the time taken tells nothing
        # Known, unknown and deactivated addresses all end on the same page.
        return redirect(url_for("password.sent"))
    status = 422 if request.method == "POST" else 200
    return render_template("password/forgot.html", form=form), status


@bp.route("/sent")
def sent():
    return render_template("password/sent.html")


@bp.route("/reset/<token>", methods=["GET", "POST"])
def reset(token: str):
    try:
        user_for_reset_token(token)
    except ResetTokenError as error:
        return _unusable_link(error)
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            user = reset_password(token, form.password.data)
        except ResetTokenError as error:  # another request used the link meanwhile
            db.session.rollback()
            return _unusable_link(error)
        except AccountError as error:
            db.session.rollback()
            getattr(form, error.field or "password").errors.append(str(error))
        else:
            # Every older session of the account ended with the reset; a second factor is
            # still asked for, so a reset link alone does not open the account.
            signed_in = begin_sign_in(user)
            db.session.commit()
            if not signed_in:
                flash("Your new password is set. Enter your code to sign in.", "success")
                return redirect(url_for("second_factor.verify"))
            flash("Your new password is set, and you are signed in.", "success")
            return redirect(url_for("pages.home"))
    status = 422 if request.method == "POST" else 200
    return _private(render_template("password/reset.html", form=form, problem=None), status)


@bp.route("/claim/<token>", methods=["GET", "POST"])
def claim(token: str):
    """An imported official chooses their first password from an emailed invitation."""
    try:
        user_for_invitation(token)
    except ResetTokenError as error:
        return _unusable_link(error, invitation=True)
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            user = claim_account(token, form.password.data)
        except ResetTokenError as error:
            db.session.rollback()
            return _unusable_link(error, invitation=True)
        except AccountError as error:
            db.session.rollback()
            getattr(form, error.field or "password").errors.append(str(error))
        else:
            begin_sign_in(user)  # an unclaimed account has no second factor yet
            db.session.commit()
            flash("Welcome. Your password is set, and you are signed in.", "success")
            return redirect(url_for("commitments.mine"))
    status = 422 if request.method == "POST" else 200
    return _private(
        render_template("password/reset.html", form=form, problem=None, invitation=True), status
    )


def _unusable_link(error: ResetTokenError, *, invitation: bool = False) -> Response:
    """A page that says what went wrong and offers a new link: 400 if garbled, else 410 Gone."""
    status = 400 if error.reason == "invalid" else 410
    page = render_template("password/reset.html", form=None, problem=error, invitation=invitation)
    return _private(page, status)


def _private(body: str, status: int) -> Response:
    """The token is in this page's URL: keep it out of caches. The app-wide Referrer-Policy
    (same-origin, campaign/web/headers.py) keeps it out of other sites' logs; no-referrer would
    also drop the Referer that CSRF protection requires on this page's own HTTPS form post."""
    response = make_response(body, status)
    response.headers["Cache-Control"] = "no-store"
    return response
