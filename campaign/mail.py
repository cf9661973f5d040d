"""Plain-text email over SMTP: how the app reaches people who cannot sign in yet.

Settings come from the app config (`MAIL_SERVER`, `MAIL_PORT`, `MAIL_USE_TLS`,
`MAIL_USERNAME`, `MAIL_PASSWORD`, `MAIL_DEFAULT_SENDER`, `MAIL_SUPPRESS_SEND`). Callers send
after their database commit, so a message never announces a change that was rolled back, and
a failed send surfaces as `MailError` rather than a half-finished request.

Every link in a message comes from `public_link`, built on `PUBLIC_URL` and never on the
request's Host header: a forged Host would otherwise put an attacker's site in a password
reset link. Doors a stranger knocks on (sign-up, forgotten password) mail with
`send_after_response`, so how long the answer takes cannot tell a known address from an
unknown one.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from urllib.parse import urlsplit

from flask import Response, after_this_request, current_app, has_request_context

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


def send_after_response(to: str, subject: str, body: str, *, about: str) -> None:
    """Send once the response has gone out (the WSGI server closes it), or at once outside
    a request. A failure is logged as "`about` not sent" (say which user, not the address):
    nobody is waiting to be told, and telling would say the address has an account."""
    app = current_app._get_current_object()

    def send() -> None:
        with app.app_context():
            try:
                send_mail(to, subject, body)
            except MailError:
                app.logger.exception("%s not sent", about)

    if not has_request_context():
        send()
        return

    @after_this_request
    def _send_when_closed(response: Response) -> Response:

        response.call_on_close(send)
        return response


def public_link(endpoint: str, **values) -> str:
    """An absolute URL for an email, on `PUBLIC_URL`'s scheme, host and path.

    Built from the URL map bound to that address, so the request's Host (which anyone can
    forge) plays no part, and it works the same from a request, a command or a thread.
    """
    base = urlsplit(current_app.config["PUBLIC_URL"])
    adapter = current_app.url_map.bind(
        base.netloc, script_name=base.path.rstrip("/") or "/", url_scheme=base.scheme
    )
    return adapter.build(endpoint, values, force_external=True)


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
