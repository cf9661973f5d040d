"""Plain-text email over SMTP: how the app reaches people who cannot sign in yet.

Settings come from the app config (`MAIL_SERVER`, `MAIL_PORT`, `MAIL_USE_TLS`,
`MAIL_USERNAME`, `MAIL_PASSWORD`, `MAIL_DEFAULT_SENDER`, `MAIL_SUPPRESS_SEND`). Callers send
after their database commit, so a message never announces a change that was rolled back, and
a failed send surfaces as `MailError` rather than a half-finished request.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr

from flask import current_app

logger = logging.getLogger(__name__)

SMTP_TIMEOUT_SECONDS = 10


class MailError(RuntimeError):
    """A message could not be handed to the SMTP server; the text says why."""


def send_mail(to: str, subject: str, body: str) -> None:
    """Send one plain-text message, or log it instead when `MAIL_SUPPRESS_SEND` is on."""
    config = current_app.config
    message = build_message(sender=config["MAIL_DEFAULT_SENDER"], to=to, subject=subject, body=body)
    if config["MAIL_SUPPRESS_SEND"]:
        # The decoded body, not the wire form: links in it stay clickable in a dev console.
        logger.info(
            "MAIL_SUPPRESS_SEND is on; not sending.\nTo: %s\nSubject: %s\n\n%s", to, subject, body
        )
        return
    host, port = config["MAIL_SERVER"], int(config["MAIL_PORT"])
    try:
        with smtplib.SMTP(host, port, timeout=SMTP_TIMEOUT_SECONDS) as smtp:
            if config["MAIL_USE_TLS"]:
                smtp.starttls(context=ssl.create_default_context())
            if config["MAIL_USERNAME"]:
                smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"] or "")
            smtp.send_message(message)
    except (smtplib.SMTPException, OSError) as error:
        raise MailError(f"Could not send mail to {to} through {host}:{port}: {error}") from error


def build_message(*, sender: str, to: str, subject: str, body: str) -> EmailMessage:
    """The message with the headers spam filters expect (Date, Message-ID)."""
    message = EmailMessage()  # the modern policy refuses CR/LF in headers: no injection
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(usegmt=True)
    # make_msgid() alone asks DNS for this host's name; the sender's domain is enough.
    domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"
    message["Message-ID"] = make_msgid(domain=domain)
    message.set_content(body)
    return message
