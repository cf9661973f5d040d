"""Officials ask for help on a commitment; staff answer; both read the thread here."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from campaign.accounts.roles import can_ask_for_help, can_make_commitments, is_staff
from campaign.commitments.operations import get_commitment_or_404
from campaign.extensions import db
from campaign.help.forms import AskForm, ReplyForm
from campaign.help.models import HelpTopic
from campaign.help.operations import ask_for_help, get_help_request_or_404, reply
from campaign.mail import MailError, public_link, send_mail
from campaign.security import role_required

bp = Blueprint("help", __name__, url_prefix="/help")


@bp.route("/commitments/<id:commitment_id>", methods=["GET", "POST"])
@role_required(can_make_commitments)
def ask(commitment_id: int):
    commitment = get_commitment_or_404(commitment_id, current_user, check=can_ask_for_help)
    form = AskForm()
    if form.validate_on_submit():
        help_request = ask_for_help(
            commitment, current_user, HelpTopic(form.topic.data), form.body.data
        )
        db.session.commit()
        flash(
            "Your request is with the campaign. You will get an email when staff reply.", "success"
        )
        return redirect(url_for(".thread", request_id=help_request.id))
    status = 422 if request.method == "POST" else 200
    return render_template("help/ask.html", commitment=commitment, form=form), status


@bp.route("/<id:request_id>", methods=["GET", "POST"])
@login_required
def thread(request_id: int):
    help_request = get_help_request_or_404(request_id, current_user)
    form = ReplyForm()
    if form.validate_on_submit():
        reply(help_request, current_user, form.body.data, close=bool(form.close.data))
        db.session.commit()
        if is_staff(current_user):
            _email_official(help_request)
        else:
            flash("Your reply is sent to the campaign.", "success")
        return redirect(url_for(".thread", request_id=help_request.id))
    status = 422 if request.method == "POST" else 200
    return render_template("help/thread.html", help_request=help_request, form=form), status


def _email_official(help_request) -> None:
    """Tell the official staff answered; after the commit, so a mail failure loses nothing."""
    link = public_link("help.thread", request_id=help_request.id)
    latest = help_request.messages[-1].body
    body = (
        f"Hello {help_request.official.name},\n\n"
        f"The campaign replied to your request about "
        f"“{help_request.commitment.policy.short_title}”:\n\n"
        f"{latest}\n\n"
        f"Answer or read the whole conversation here: {link}\n"
    )
    try:
        send_mail(help_request.official.email, "The campaign replied to your request", body)
    except MailError:
        current_app.logger.warning("Reply email to official %s failed", help_request.official_id)
        flash("Reply saved, but the email to the official could not be sent.", "error")
    else:
        flash("Reply saved and the official was emailed.", "success")
