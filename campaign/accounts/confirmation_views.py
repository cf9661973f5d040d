"""Confirming the email address given at sign-up, and asking for a new link."""

from __future__ import annotations

from flask import Blueprint, flash, make_response, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm

from campaign.accounts.confirmation import (
    confirm_email,
    confirmation_mail,
    resend_confirmation,
    user_for_confirmation,
)
from campaign.accounts.forms import email_field
from campaign.accounts.reset import ResetTokenError
from campaign.extensions import db
from campaign.web.forms import ActionForm, require_action_form

bp = Blueprint("confirmation", __name__, url_prefix="/signup")


class ResendForm(FlaskForm):
    email = email_field("The address you signed up with.")


@bp.route("/sent")
def sent():
    return render_template("confirmation/sent.html")


@bp.route("/confirm/<token>", methods=["GET", "POST"])
def confirm(token: str):
    """GET shows a button and changes nothing: mail scanners that open links must not use
    them up. POST confirms."""
    try:
        user = user_for_confirmation(token)
    except ResetTokenError as error:
        return _unusable_link(error)
    if request.method == "POST":
        require_action_form()
        try:
            user = confirm_email(token)
        except ResetTokenError as error:  # another request used the link meanwhile
            db.session.rollback()
            return _unusable_link(error)
        db.session.commit()
        if current_user.is_authenticated and current_user.id == user.id:
            flash("Your email address is confirmed. You can now make commitments.", "success")
            return redirect(url_for("commitments.new"))
        flash("Your email address is confirmed. Sign in to make your commitments.", "success")
        return redirect(url_for("accounts.login", next=url_for("commitments.new")))
    page = render_template("confirmation/confirm.html", form=ActionForm(), name=user.name)
    return _private(page, 200)


@bp.route("/confirm/resend", methods=["GET", "POST"])
def resend():
    """A new link: to the signed-in account, or to an address typed in (the same answer
    whether it has an account waiting or not)."""
    if current_user.is_authenticated:
        if request.method == "GET":
            return redirect(url_for("commitments.new"))
        require_action_form()
        if current_user.awaiting_email_confirmation:
            confirmation_mail(current_user).send_after_response()
            flash(f"We sent a new confirmation link to {current_user.email}.", "success")
        return redirect(url_for("commitments.new"))
    form = ResendForm()
    if form.validate_on_submit():
        mail = resend_confirmation(form.email.data)
        db.session.rollback()
        if mail is not None:
            mail.send_after_response()
        return redirect(url_for("confirmation.sent"))
    status = 422 if request.method == "POST" else 200
    return render_template("confirmation/resend.html", form=form), status


def _unusable_link(error: ResetTokenError):
    """What went wrong and a way to get a new link: 400 if garbled, else 410 Gone."""
    status = 400 if error.reason == "invalid" else 410
    page = render_template("confirmation/problem.html", problem=error, form=ResendForm(None))
    return _private(page, status)


def _private(body: str, status: int):
    """The token is in the URL: keep the page out of caches (as reset_views does)."""
    response = make_response(body, status)
    response.headers["Cache-Control"] = "no-store"
    return response
