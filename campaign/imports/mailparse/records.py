"""What reading mail produces: messages, refusals, and the limits that bound the work."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Limits:
    """How much one import may read; the defaults suit a helpdesk's years of mail."""

    max_message_bytes: int = 64_000_000  # one message, as exported (a 20 MB attachment is ~28 MB)
    max_archive_members: int = 50_000  # files in one zip
    max_expanded_bytes: int = 1_000_000_000  # bytes decompressed from one zip or gzip file
    max_ratio: int = 100  # expanded/compressed; mail compresses 2-10 times
    max_body_chars: int = 100_000  # text kept per message
    max_html_chars: int = 1_000_000  # HTML laid out per message (inscriptis does ~0.5 MB/s)
    max_attachments: int = 500  # attachments listed per message


DEFAULT_LIMITS = Limits()


@dataclass(frozen=True)
class Attachment:
    """A file that came with a message: listed for staff, never stored or opened."""

    filename: str  # display name only, never a path; "(unnamed)" if none; <= 255 chars
    content_type: str  # lowercased "type/subtype"
    size: int  # decoded bytes


@dataclass
class ParsedMessage:
    """One message as staff will see it, with every guess made while reading it.

    Lengths are bounded for storage: ids <= 250 characters (longer ones are replaced by
    "sha256:" and their hash), subject <= 500, sender_name <= 200, sender_email <= 254,
    body <= `Limits.max_body_chars`, source <= 1,000.
    """

    message_id: str  # without <>, domain lowercased; "sha256:<raw_sha256>" when missing
    in_reply_to: str | None  # normalised like message_id
    references: list[str]  # oldest first, at most 100 (the first and the last 99)
    sender_name: str  # "" when the sender gave no name
    sender_email: str | None  # lowercased; None when missing or not an address
    sent_at: datetime | None  # timezone-aware UTC; None when missing or unreadable
    subject: str  # one line; "" when missing
    body: str  # plain text, "\n" line endings, ends "\n…" when cut
    attachments: list[Attachment]
    problems: list[str]  # human-readable, in the order met, no duplicates
    source: str  # e.g. "helpdesk.mbox, message 12" or "export/2024/x.eml"
    raw_sha256: str  # hex, of the message's bytes, CRLF read as LF, mbox From_ line left out
    raw_size: int  # bytes, counted the same way


@dataclass(frozen=True)
class Rejected:
    """A file or message that could not be imported, and why, in words for staff."""

    source: str  # as ParsedMessage.source, or the file, folder or archive itself
    reason: str


Item = ParsedMessage | Rejected

CHUNK = 1 << 16
SNIFF_BYTES = 1 << 16
ZIP_RATIO_FLOOR = 1_000_000  # members smaller than this may compress as well as they like
GZIP_RATIO_FLOOR = 10_000_000
MAX_REFERENCES = 100
MAX_ID_CHARS = 250
MAX_SUBJECT_CHARS = 500
MAX_NAME_CHARS = 200
MAX_FILENAME_CHARS = 255
MAX_CONTAINER_CHARS = 980  # a source, before ", message N": at most 1,000 characters in all
MAX_MIME_DEPTH = 50
UTF8_BOM = b"\xef\xbb\xbf"


class StopReading(Exception):
    """A limit was reached: the rest of the archive or member is not read."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
