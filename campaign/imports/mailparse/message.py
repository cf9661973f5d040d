"""One message: its headers (sender, date, ids) and content, as a ParsedMessage."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta
from email.message import Message
from email.utils import parseaddr, parsedate_to_datetime

from campaign.imports.mailparse.cleaning import INVISIBLE, clean_line, quoted
from campaign.imports.mailparse.content import message_content
from campaign.imports.mailparse.decoding import (
    HEADER_TITLES,
    decode_header_words,
    header_map,
    header_text,
    unfold,
)
from campaign.imports.mailparse.records import (
    MAX_ID_CHARS,
    MAX_NAME_CHARS,
    MAX_REFERENCES,
    MAX_SUBJECT_CHARS,
    Limits,
    ParsedMessage,
)

# --------------------------------------------------------------------------------------
# One message


def build_message(
    message: Message, source: str, sha: str, size: int, limits: Limits
) -> ParsedMessage:
    problems: list[str] = []
    headers = header_map(message)

    name, email = _sender(headers, problems)
    message_id = _message_id(headers.get("message-id"))
    if message_id is None:
        message_id = "sha256:" + sha
        problems.append("no Message-ID; the message is known by its content")
    references = _id_list(headers.get("references"))
    in_reply_to = next(iter(_id_list(headers.get("in-reply-to"))), None)
    references = [i for i in references if i != message_id]
    if len(references) > MAX_REFERENCES:
        references = references[:1] + references[-(MAX_REFERENCES - 1) :]
    if in_reply_to == message_id:
        in_reply_to = None

    subject = clean_line(header_text(headers, "subject", problems), MAX_SUBJECT_CHARS)
    sent_at = _sent_at(headers.get("date"), problems)
    body, attachments = message_content(message, problems, limits)

    return ParsedMessage(
        message_id=message_id,
        in_reply_to=in_reply_to,
        references=references,
        sender_name=name,
        sender_email=email,
        sent_at=sent_at,
        subject=subject,
        body=body,
        attachments=attachments,
        problems=list(dict.fromkeys(problems)),
        source=source,
        raw_sha256=sha,
        raw_size=size,
    )


_ADDRESS = re.compile(r"[^@\s<>()\[\],;:\"\\]+@[^@\s<>()\[\],;:\"\\]+")


def _sender(headers: dict[str, str], problems: list[str]) -> tuple[str, str | None]:
    """The sender's name and address, from From, else Sender, else Return-Path."""
    for header in ("from", "sender", "return-path"):
        if header not in headers:
            continue
        raw = header_text(headers, header, problems, decode_words=False)
        if not raw.strip() or raw.strip() == "<>":
            continue
        what = f"the {HEADER_TITLES[header]} header"
        if header != "from":
            problems.append(f"no From header; sender taken from {HEADER_TITLES[header]}")
        name, address = _parse_address(raw)
        if not _ADDRESS.fullmatch(address):
            # Some mailers encode the whole "Name <address>" as one encoded word.
            name, address = _parse_address(decode_header_words(raw, [], what))
        name = clean_line(decode_header_words(name, problems, what), MAX_NAME_CHARS)
        if _ADDRESS.fullmatch(address) and len(address) <= 254:
            return name, address.lower()
        shown = clean_line(decode_header_words(raw, [], what), MAX_NAME_CHARS)
        problems.append(f"sender address {quoted(shown)} is not an email address")
        return name or shown, None
    problems.append("no sender address")
    return "", None


def _parse_address(text: str) -> tuple[str, str]:
    try:
        return parseaddr(text)
    except Exception:  # older parsers raise on some malformed address lists
        return "", ""


def _sent_at(raw: str | None, problems: list[str]) -> datetime | None:
    if raw is None or not raw.strip():
        problems.append("no date")
        return None
    text = clean_line(unfold(raw), 200)
    try:
        sent = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        problems.append(f"unreadable date {quoted(text)}")
        return None
    if sent.tzinfo is None:
        if not text.rstrip().endswith("-0000"):
            problems.append(f"date {quoted(text)} has no time zone; read as UTC")
        sent = sent.replace(tzinfo=UTC)
    try:
        sent = sent.astimezone(UTC)
    except (OverflowError, ValueError):
        problems.append(f"unreadable date {quoted(text)}")
        return None
    if sent.year < 1980 or sent > datetime.now(UTC) + timedelta(days=2):
        problems.append(f"implausible date {quoted(text)} ignored")
        return None
    return sent


_ANGLE_ID = re.compile(r"<([^<>]*)>")


def _normal_id(token: str) -> str | None:
    token = INVISIBLE.sub("", "".join(token.split()))
    if not token or "<" in token or ">" in token:
        return None
    local, at, domain = token.rpartition("@")
    if at:
        token = f"{local}@{domain.lower()}"
    if len(token) > MAX_ID_CHARS:
        return "sha256:" + hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()
    return token


def _message_id(raw: str | None) -> str | None:
    ids = _id_list(raw)
    return ids[0] if ids else None


def _id_list(raw: str | None) -> list[str]:
    """Message ids in a Message-ID, In-Reply-To or References header, in order, once each."""
    if raw is None:
        return []
    text = unfold(raw)
    tokens = _ANGLE_ID.findall(text)
    if not tokens:
        # Bare ids only with an "@": "(none)" or "unknown" would make distinct messages one.
        tokens = [word for word in text.split() if "@" in word]
    ids = (_normal_id(token) for token in tokens)
    return list(dict.fromkeys(i for i in ids if i))
