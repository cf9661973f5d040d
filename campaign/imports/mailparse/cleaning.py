"""Clean strings: single lines without control characters, bodies with plain line ends."""

from __future__ import annotations

import re

# --------------------------------------------------------------------------------------
# Clean strings

# C0 and C1 controls (not tab, newline, carriage return), bidi embeddings, overrides and
# isolates, lone surrogates and the byte-order mark.
INVISIBLE = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff\ufeff]"
)


def clean_line(text: str, limit: int) -> str:
    """One line of display text: no controls or bidi overrides, spaces collapsed, capped."""
    text = " ".join(INVISIBLE.sub("", text).split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def clean_body(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = text.replace("\u2028", "\n").replace("\u2029", "\n\n")
    text = INVISIBLE.sub("", text)
    text = "\n".join(line.rstrip() for line in text.split("\n"))
    return re.sub(r"\n{3,}", "\n\n", text).strip("\n")


def quoted(text: str) -> str:
    return "'" + clean_line(text, 60) + "'"


def size_in_words(count: int) -> str:
    if count >= 1_000_000_000:
        return f"{count / 1_000_000_000:g} GB"
    if count >= 1_000_000:
        return f"{count / 1_000_000:g} MB"
    return f"{count:,} bytes"


def is_hidden(name: str) -> bool:
    return (name.startswith(".") and name not in (".", "..")) or name == "__MACOSX"


def os_reason(error: OSError) -> str:
    return "could not be read: " + (error.strerror or type(error).__name__).lower()
