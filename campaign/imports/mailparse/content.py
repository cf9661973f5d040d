"""Content: the text of a message's MIME parts, HTML laid out as text, attachments listed."""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass, field
from email.message import Message
from html.parser import HTMLParser

from inscriptis.css_profiles import CSS_PROFILES
from inscriptis.html_engine import Inscriptis
from inscriptis.model.config import ParserConfig
from lxml.html import HTMLParser as LxmlHTMLParser
from lxml.html import document_fromstring

from campaign.imports.mailparse.cleaning import clean_body, clean_line
from campaign.imports.mailparse.decoding import (
    decode_bytes,
    decode_header_words,
    header_map,
    header_text,
    unfold,
)
from campaign.imports.mailparse.records import (
    MAX_FILENAME_CHARS,
    MAX_MIME_DEPTH,
    Attachment,
    Limits,
)

# --------------------------------------------------------------------------------------
# Text and attachments

_TEXT_TYPES = ("text/plain", "text/html")
_FORWARDED = ("message/rfc822", "message/global")
_DEFECT_NOTES = {
    "NoBoundaryInMultipartDefect": "damaged MIME structure; parts may be missing",
    "StartBoundaryNotFoundDefect": "damaged MIME structure; parts may be missing",
    "CloseBoundaryNotFoundDefect": "damaged MIME structure; parts may be missing",
    "MultipartInvariantViolationDefect": "damaged MIME structure; parts may be missing",
    "MissingHeaderBodySeparatorDefect": "a malformed header line; the rest was read as text",
    "InvalidBase64PaddingDefect": "damaged base64 encoding in a part",
    "InvalidBase64CharactersDefect": "damaged base64 encoding in a part",
    "InvalidBase64LengthDefect": "damaged base64 encoding in a part",
}


@dataclass
class _Walk:
    problems: list[str]
    limits: Limits
    texts: list[str] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    unlisted: int = 0
    found_text: bool = False
    seen: list[Message] = field(default_factory=list)


def message_content(
    message: Message, problems: list[str], limits: Limits
) -> tuple[str, list[Attachment]]:
    walk = _Walk(problems, limits)
    _visit(message, walk, depth=0, as_body=True)
    for part in walk.seen:
        for defect in part.defects:
            note = _DEFECT_NOTES.get(type(defect).__name__)
            if note:
                problems.append(note)
    if not walk.found_text:
        problems.append("no readable text")
    if walk.unlisted:
        problems.append(f"{walk.unlisted:,} more attachments not listed")
    body = clean_body("\n\n".join(text for text in walk.texts if text.strip()))
    if len(body) > limits.max_body_chars:
        problems.append(f"text cut at {limits.max_body_chars:,} characters (it has {len(body):,})")
        body = body[: limits.max_body_chars - 2].rstrip() + "\n…"
    return body, walk.attachments


def _visit(part: Message, walk: _Walk, depth: int, as_body: bool) -> None:
    """Collect body text and attachments; `as_body` is False inside rejected alternatives."""
    walk.seen.append(part)
    if depth > MAX_MIME_DEPTH:
        walk.problems.append("message nested too deeply; inner parts skipped")
        return
    content_type = part.get_content_type()
    if content_type in _FORWARDED and as_body and part.is_multipart():
        inner = next((p for p in part.get_payload() if isinstance(p, Message)), None)
        if inner is not None:
            walk.texts.append(_forwarded_header(inner, walk.problems))
            _visit(inner, walk, depth + 1, as_body)
            return
    if part.is_multipart() and part.get_content_maintype() == "multipart":
        subparts = [p for p in part.get_payload() if isinstance(p, Message)]
        if content_type == "multipart/alternative":
            chosen = _preferred_alternative(subparts) if as_body else None
            for sub in subparts:
                _visit(sub, walk, depth + 1, as_body=sub is chosen)
        elif content_type == "multipart/related" and subparts:
            _visit(subparts[0], walk, depth + 1, as_body)
            for sub in subparts[1:]:
                _visit(sub, walk, depth + 1, as_body=False)
        else:
            for sub in subparts:
                _visit(sub, walk, depth + 1, as_body)
        return
    is_file = part.get_filename() is not None or (
        (part.get("content-disposition") or "").strip().lower().startswith("attachment")
    )
    if content_type.startswith("multipart/") and not part.is_multipart():  # no parts: raw
        content_type = "text/plain"
    if content_type in _TEXT_TYPES and not is_file:
        if as_body:
            walk.found_text = True
            walk.texts.append(_part_text(part, content_type, walk))
        return  # the other rendering of a chosen alternative: not a file
    if len(walk.attachments) >= walk.limits.max_attachments:
        walk.unlisted += 1
        return
    walk.attachments.append(_attachment(part, content_type, walk.problems))


def _preferred_alternative(subparts: list[Message]) -> Message | None:
    """text/plain if there is one, else HTML, else the first rich part."""
    for wanted in ("text/plain", "text/html"):
        for sub in subparts:
            if sub.get_content_type() == wanted and sub.get_filename() is None:
                return sub
    for sub in subparts:
        if sub.is_multipart():
            return sub
    return subparts[-1] if subparts else None


def _part_text(part: Message, content_type: str, walk: _Walk) -> str:
    data = part.get_payload(decode=True)
    if not isinstance(data, bytes):
        data = b""
    what = "the HTML text" if content_type == "text/html" else "the message text"
    text = decode_bytes(data, part.get_content_charset(), walk.problems, what)
    if content_type == "text/html":
        return _html_to_text(text, walk.problems, walk.limits)
    return text


def _forwarded_header(inner: Message, problems: list[str]) -> str:
    headers = header_map(inner)
    lines = ["---------- Forwarded message ----------"]
    for name in ("from", "date", "subject", "to"):
        value = clean_line(header_text(headers, name, problems), 300)
        if value:
            lines.append(f"{name.title()}: {value}")
    return "\n".join(lines)


def _attachment(part: Message, content_type: str, problems: list[str]) -> Attachment:
    filename = _filename(part.get_filename(), problems)
    content_type = clean_line(content_type, 100)
    if not part.is_multipart():
        return Attachment(filename, content_type, _decoded_size(part))
    # message/rfc822 and message/delivery-status carry parsed messages, not bytes.
    inner = [p for p in part.get_payload() if isinstance(p, Message)]
    size = 0
    for message in inner:
        with contextlib.suppress(Exception):  # a message too broken to write out again
            size += len(message.as_bytes())
    if filename == "(unnamed)" and content_type in _FORWARDED and inner:
        subject = header_text(header_map(inner[0]), "subject", problems)
        filename = clean_line(subject or "forwarded message", MAX_FILENAME_CHARS - 4) + ".eml"
    return Attachment(filename, content_type, size)


def _filename(raw: str | None, problems: list[str]) -> str:
    if not raw:
        return "(unnamed)"
    text = decode_header_words(unfold(raw), problems, "an attachment name")
    text = re.split(r"[/\\]", text.rstrip("/\\"))[-1]
    return clean_line(text, MAX_FILENAME_CHARS) or "(unnamed)"


def _decoded_size(part: Message) -> int:
    """Decoded size; base64 (nearly every attachment) is counted without decoding it."""
    encoding = str(part.get("content-transfer-encoding", "")).strip().lower()
    payload = part.get_payload()
    if encoding == "base64" and isinstance(payload, str):
        ignored = sum(payload.count(char) for char in "\n\r\t =")
        return (len(payload) - ignored) * 3 // 4
    data = part.get_payload(decode=True)
    return len(data) if isinstance(data, bytes) else 0


# --------------------------------------------------------------------------------------
# HTML to text


_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*>")  # lxml refuses it in a str


def _html_config() -> ParserConfig:
    # "strict" lays out as the HTML spec does; "relaxed" indents every nested div.
    return ParserConfig(css=CSS_PROFILES["strict"].copy(), display_links=True)


def _html_to_text(html: str, problems: list[str], limits: Limits) -> str:
    if len(html) > limits.max_html_chars:
        problems.append(f"HTML text cut at {limits.max_html_chars:,} characters before conversion")
        html = html[: limits.max_html_chars]
    html = _XML_DECLARATION.sub("", html.replace("\x00", ""), count=1)
    if not html.strip():
        return ""
    try:
        parser = LxmlHTMLParser()
        tree = document_fromstring(html, parser=parser)
        if any(error.level_name == "FATAL" for error in parser.error_log):
            raise ValueError("the HTML exceeds the parser's limits")
        text = Inscriptis(tree, _html_config()).get_text()
    except Exception:  # lxml gives up on some HTML, inscriptis on very deep HTML
        text = ""
    if not text.strip():
        plain = _bare_text(html)
        if plain.strip():
            problems.append("HTML layout lost; the bare text is shown")
            return plain
    return text


class _BareText(HTMLParser):
    """The stdlib's forgiving tokenizer: text outside scripts and styles, a line per block."""

    SKIP = frozenset({"script", "style", "head", "title", "template", "noscript"})
    BLOCKS = frozenset(
        {"p", "div", "br", "li", "tr", "table", "ul", "ol", "blockquote", "pre", "hr"}
        | {"h1", "h2", "h3", "h4", "h5", "h6", "section", "article", "header", "footer"}
    )

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in self.SKIP:
            self.skipping += 1
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIP:
            self.skipping = max(0, self.skipping - 1)
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(data)


def _bare_text(html: str) -> str:
    parser = _BareText()
    with contextlib.suppress(Exception):  # a forgiving tokenizer; keep whatever it read
        parser.feed(html)
        parser.close()
    return "".join(parser.parts)
