"""Decoding: RFC 2047 encoded words, undeclared 8-bit text and mislabelled charsets."""

from __future__ import annotations

import binascii
import codecs
import re
from email.message import Message

from campaign.imports.mailparse.cleaning import quoted

# --------------------------------------------------------------------------------------
# Header text

_RAW_BYTES = re.compile("[\udc80-\udcff]")  # undeclared 8-bit bytes, as the parser keeps them
_ENCODED_WORD = re.compile(r"=\?([^?\s*]+)(?:\*[^?\s]*)?\?([bBqQ])\?([^?]*)\?=")


def unfold(value: str) -> str:
    return re.sub(r"\r?\n(?=[ \t])", "", value)


def header_text(
    headers: dict[str, str], name: str, problems: list[str], decode_words: bool = True
) -> str:
    """A header's text: unfolded, 8-bit bytes decoded, encoded words decoded if asked."""
    raw = headers.get(name)
    if raw is None:
        return ""
    text = unfold(raw)
    what = f"the {HEADER_TITLES.get(name, name.title())} header"
    if _RAW_BYTES.search(text):
        text = decode_bytes(text.encode("ascii", "surrogateescape"), None, problems, what)
    return decode_header_words(text, problems, what) if decode_words else text


def decode_header_words(text: str, problems: list[str], what: str = "a header") -> str:
    """Decode RFC 2047 encoded words, leniently: adjacent words of one charset are joined
    before decoding (mailers split UTF-8 characters across words), bad padding is mended."""
    out: list[str] = []
    position = 0
    run_charset: str | None = None
    run = bytearray()

    def flush_run() -> None:
        nonlocal run_charset
        if run_charset is not None:
            out.append(decode_bytes(bytes(run), run_charset, problems, what))
            run.clear()
            run_charset = None

    for match in _ENCODED_WORD.finditer(text):
        gap = text[position : match.start()]
        if gap.strip() or run_charset is None:
            flush_run()
            out.append(gap)
        charset, encoding, payload = match.groups()
        try:
            if encoding in "bB":
                payload = payload.strip()
                data = binascii.a2b_base64(payload + "=" * (-len(payload) % 4))
            else:
                data = binascii.a2b_qp(payload.encode("utf-8"), header=True)
        except (binascii.Error, ValueError):
            flush_run()
            out.append(match.group(0))
            problems.append(f"{what} has a damaged encoded word; shown as it came")
            position = match.end()
            continue
        charset = charset.lower()
        if run_charset is not None and charset != run_charset:
            flush_run()
        run_charset = charset
        run += data
        position = match.end()
    flush_run()
    out.append(text[position:])
    return "".join(out)


# --------------------------------------------------------------------------------------
# Charsets

# Labels read with the superset browsers use for them (WHATWG Encoding Standard).
_SUPERSETS = {
    "ascii": "cp1252",
    "iso8859-1": "cp1252",
    "iso8859-9": "cp1254",
    "iso8859-11": "cp874",
    "tis-620": "cp874",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "shift_jis": "cp932",
    "euc_kr": "cp949",
    "big5": "big5hkscs",
}
_LATIN_LABELS = {"ascii", "iso8859-1", "cp1252"}
# Python codecs that are not mail charsets and would turn bytes into something else.
_NOT_CHARSETS = {"unicode-escape", "raw-unicode-escape", "undefined", "idna", "punycode", "mbcs"}


def _codec(label: str) -> str | None:
    try:
        name = codecs.lookup(label).name
    except (LookupError, ValueError, TypeError):
        return None
    try:
        b"a".decode(name)  # refuses bytes-to-bytes codecs such as zlib or rot13
    except UnicodeError:
        pass  # a text codec (UTF-16 wants two bytes)
    except LookupError:
        return None
    return None if name in _NOT_CHARSETS else name


def decode_bytes(data: bytes, label: str | None, problems: list[str], what: str) -> str:
    """Decode text under its declared charset, or the best guess, noting every guess."""
    label = (label or "").strip().strip("\"'").lower() or None
    codec = _codec(label) if label else None
    if label and codec is None:
        if data.isascii():
            return data.decode("ascii")
        text, guess = _guess(data)
        problems.append(f"unknown charset {quoted(label)} in {what}; read as {guess}")
        return text
    if codec is None:
        if data.isascii():
            return data.decode("ascii")
        text, guess = _guess(data)
        if guess != "UTF-8":
            problems.append(f"{what} has no declared charset; read as {guess}")
        return text
    if codec in _LATIN_LABELS and not data.isascii():
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            pass
        else:
            problems.append(f"{what} is labelled {quoted(label)} but is UTF-8; read as UTF-8")
            return text
    try:
        return data.decode(_SUPERSETS.get(codec, codec))
    except UnicodeDecodeError:
        pass
    if codec == "utf-8":
        text, guess = _guess(data)
        problems.append(f"{what} is labelled UTF-8 but is not; read as {guess}")
        return text
    problems.append(f"{what} is not valid {quoted(label)}; unreadable bytes replaced")
    return data.decode(_SUPERSETS.get(codec, codec), "replace")


def _guess(data: bytes) -> tuple[str, str]:
    try:
        return data.decode("utf-8"), "UTF-8"
    except UnicodeDecodeError:
        return data.decode("cp1252", "replace"), "windows-1252"


def header_map(message: Message) -> dict[str, str]:
    """The first value of each header, raw (8-bit bytes kept as surrogate escapes)."""
    headers: dict[str, str] = {}
    for name, value in message.raw_items():
        headers.setdefault(name.strip().lower(), str(value))
    return headers


HEADER_TITLES = {"from": "From", "sender": "Sender", "return-path": "Return-Path"}
