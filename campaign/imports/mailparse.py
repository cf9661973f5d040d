"""Read the helpdesk's exported mail into plain records, whatever shape the export is in.

Pure parsing: no Flask, no database, nothing written to disk. The import views and the
`import-mailbox` command turn what this yields into triage items.

    read_mail(path, display_name=None, limits=DEFAULT_LIMITS)
        -> Iterator[ParsedMessage | Rejected]     # one item at a time, in a stable order
    thread_keys(messages) -> dict[message_id, thread key]

`read_mail` accepts, told apart by content rather than by file name:

- an mbox file (starts with a ``From `` line; mboxrd ``>From `` lines are unescaped);
- a single message (.eml, or any name: RFC 5322 headers first);
- a folder, read recursively in name order, symbolic links not followed;
- a .zip of .eml and/or mbox files, read member by member in name order without extracting
  anything to disk (so absolute or ``../`` member names are harmless), with guards against
  zip bombs: at most `Limits.max_archive_members` members (checked before the archive's
  table of contents is loaded), at most `Limits.max_expanded_bytes` expanded in all, no
  member that expands more than `Limits.max_ratio` times, members read in bounded chunks,
  archives inside archives not opened, password-protected members skipped;
- a gzip-compressed mbox or message (.mbox.gz), decompressed in bounded chunks under the
  same total and ratio limits.

`source` says where each item came from: ``"helpdesk.mbox, message 12"``,
``"export/2024/x.eml"`` (folders), ``"export.zip: mail/x.eml"`` (zip members), built from
`display_name` (default: the path's name). Hidden files (``.DS_Store``, macOS ``._*``
companions) and ``__MACOSX/`` folders are skipped silently. Everything else that is not mail
(a PDF, an image, a spreadsheet, an empty file, a message over `Limits.max_message_bytes`)
yields a `Rejected` saying why, and reading goes on: one broken file or message never stops
the others. An unreadable path yields a `Rejected` too; `read_mail` does not raise on bad
input. Messages stream through the parser as they are read, so memory follows the largest
message (about three times its size), not the export.

Each message is parsed by the standard library's ``email`` feed parser under the
``compat32`` policy rather than ``policy.default``: compat32 hands over header and body
bytes as they came, and this module decodes them itself (RFC 2047 encoded words, undeclared
8-bit text, mislabelled charsets such as windows-1252 or UTF-8 sent as ISO-8859-1 and
"UTF-8" that is not, unknown charsets), so every guess lands in `ParsedMessage.problems`;
``policy.default`` replaces what it cannot decode without saying so. ISO-8859-1 and US-ASCII
labels are read as windows-1252, as browsers do. The text is the message's text/plain parts;
HTML-only mail is laid out as text by inscriptis (Apache-2.0, on lxml: paragraphs, lists and
tables stay readable, links show their targets, scripts, styles and ``display:none``
content are dropped), falling back to the bare text for HTML lxml cannot hold. A forwarded
message (message/rfc822) is shown inline under a "Forwarded message" heading. Header-derived
strings are single lines without control characters or bidi overrides; the text has ``\\n``
line endings and no control characters but tabs and newlines, and is cut at
`Limits.max_body_chars`. Attachments are listed (name, type, decoded size), never kept.

`thread_keys` groups replies through Message-ID, In-Reply-To and References (union of all
links, so cycles and self-references are harmless). A thread's key is the Message-ID of its
earliest message that replies to nothing, or, when the thread's start is not in the given
messages, the first id its earliest message refers to (References[0], else In-Reply-To):
replies to a missing message still group, under the id that message would have.
"""

from __future__ import annotations

import binascii
import codecs
import contextlib
import gzip
import hashlib
import os
import re
import stat
import struct
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import policy
from email.message import Message
from email.parser import BytesFeedParser
from email.utils import parseaddr, parsedate_to_datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import BinaryIO, Protocol

from inscriptis.css_profiles import CSS_PROFILES
from inscriptis.html_engine import Inscriptis
from inscriptis.model.config import ParserConfig
from lxml.html import HTMLParser as LxmlHTMLParser
from lxml.html import document_fromstring

__all__ = [
    "DEFAULT_LIMITS",
    "Attachment",
    "Limits",
    "ParsedMessage",
    "Rejected",
    "read_mail",
    "thread_keys",
]


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


class _StopReading(Exception):
    """A limit was reached: the rest of the archive or member is not read."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# --------------------------------------------------------------------------------------
# Entry points


def read_mail(
    path: Path | str, display_name: str | None = None, limits: Limits = DEFAULT_LIMITS
) -> Iterator[Item]:
    """Yield each message found at `path` (file, folder, zip or gzip), or why it was not.

    `display_name` names the upload in `source` (the original file name, where `path` is a
    temporary file); it defaults to the path's own name.
    """
    path = Path(path)
    label = _clean_line(display_name or path.name or str(path), 300) or "(upload)"
    try:
        info = path.stat()
    except OSError as error:
        yield Rejected(label, _os_reason(error))
        return
    if stat.S_ISDIR(info.st_mode):
        yielded = False
        for item in _read_folder(path, label, limits):
            yielded = True
            yield item
        if not yielded:
            yield Rejected(label, "the folder holds no files")
    else:
        yield from _read_file(path, label, limits)


class Threaded(Protocol):
    """What threading reads of a message: a ParsedMessage, or a stored triage item."""

    message_id: str
    in_reply_to: str | None
    references: list[str]
    sent_at: datetime | None


def thread_keys(messages: Iterable[Threaded]) -> dict[str, str]:
    """Map each message's id to the key of its thread (see the module docstring)."""
    present: dict[str, tuple[int, Threaded]] = {}
    for position, message in enumerate(messages):
        present.setdefault(message.message_id, (position, message))

    parent: dict[str, str] = {}

    def find(node: str) -> str:
        root = node
        while parent.setdefault(root, root) != root:
            root = parent[root]
        while parent[node] != root:
            parent[node], node = root, parent[node]
        return root

    for message_id, (_, message) in present.items():
        find(message_id)
        for linked in _links(message):
            a, b = find(message_id), find(linked)
            if a != b:
                parent[b] = a

    groups: dict[str, list[tuple[int, Threaded]]] = {}
    for message_id, entry in present.items():
        groups.setdefault(find(message_id), []).append(entry)

    keys: dict[str, str] = {}
    for members in groups.values():
        members.sort(key=_thread_order)
        starts = [message for _, message in members if not _links(message)]
        key = starts[0].message_id if starts else _links(members[0][1])[0]
        for _, message in members:
            keys[message.message_id] = key
    return keys


def _links(message: Threaded) -> list[str]:
    ids = list(message.references)
    if message.in_reply_to and message.in_reply_to not in ids:
        ids.append(message.in_reply_to)
    return [i for i in ids if i != message.message_id]


def _thread_order(entry: tuple[int, Threaded]) -> tuple:
    position, message = entry
    sent = message.sent_at
    return (sent is None, sent or datetime.min.replace(tzinfo=UTC), position)


# --------------------------------------------------------------------------------------
# Files, folders and archives


def _read_folder(folder: Path, label: str, limits: Limits) -> Iterator[Item]:
    try:
        entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
    except OSError as error:
        yield Rejected(label, _os_reason(error))
        return
    for entry in entries:
        if _is_hidden(entry.name):
            continue
        source = _clean_line(f"{label}/{entry.name}", MAX_CONTAINER_CHARS)
        try:
            if entry.is_symlink():
                yield Rejected(source, "symbolic link not followed")
            elif entry.is_dir(follow_symlinks=False):
                yield from _read_folder(Path(entry.path), source, limits)
            elif entry.is_file(follow_symlinks=False):
                yield from _read_file(Path(entry.path), source, limits)
            else:
                yield Rejected(source, "not a regular file")
        except OSError as error:
            yield Rejected(source, _os_reason(error))


def _read_file(path: Path, source: str, limits: Limits) -> Iterator[Item]:
    try:
        if not stat.S_ISREG(path.stat().st_mode):
            yield Rejected(source, "not a regular file")
            return
        handle = path.open("rb")
    except OSError as error:
        yield Rejected(source, _os_reason(error))
        return
    with handle:
        try:
            head = _read_at_most(handle, SNIFF_BYTES)
            kind, detail = _sniff(head)
            if kind == "zip":
                yield from _read_zip(handle, source, limits)
            elif kind == "gzip":
                handle.seek(0)
                yield from _read_gzip(handle, source, limits)
            elif kind in ("mbox", "message"):
                yield from _read_messages(kind, _strip_lead(head), handle, source, limits)
            else:
                yield Rejected(source, detail)
        except OSError as error:
            yield Rejected(source, "reading stopped: " + _os_reason(error))


def _read_zip(handle: BinaryIO, source: str, limits: Limits) -> Iterator[Item]:
    too_big = _zip_directory_too_big(handle, limits)
    if too_big:
        yield Rejected(source, too_big)
        return
    try:
        archive = zipfile.ZipFile(handle)
    except Exception:  # zipfile raises several kinds of error for a damaged archive
        yield Rejected(source, "damaged zip archive")
        return
    with archive:
        members = [
            info
            for info in archive.infolist()
            if not info.is_dir() and not any(_is_hidden(p) for p in info.filename.split("/"))
        ]
        if len(members) > limits.max_archive_members:
            yield Rejected(
                source,
                f"the archive holds {len(members):,} files; at most "
                f"{limits.max_archive_members:,} are read at once",
            )
            return
        if not members:
            yield Rejected(source, "the archive holds no files")
            return
        budget = _Budget(limits)
        for info in sorted(members, key=lambda member: member.filename):
            member_source = _clean_line(f"{source}: {info.filename}", MAX_CONTAINER_CHARS)
            reason = _zip_member_refusal(info, budget, limits)
            if reason:
                yield Rejected(member_source, reason)
                continue
            budget.expected(info.file_size)
            try:
                with archive.open(info) as member:
                    stream = _GuardedReader(member, budget)
                    head = _read_at_most(stream, SNIFF_BYTES)
                    kind, detail = _sniff(head)
                    if kind in ("zip", "gzip"):
                        yield Rejected(member_source, "archive inside an archive not opened")
                    elif kind in ("mbox", "message"):
                        yield from _read_messages(
                            kind, _strip_lead(head), stream, member_source, limits
                        )
                    else:
                        yield Rejected(member_source, detail)
            except _StopReading as stop:
                yield Rejected(member_source, "zip member skipped: " + stop.reason)
            except NotImplementedError:
                yield Rejected(member_source, "compressed with a method that cannot be read")
            except Exception:  # a damaged member (CRC, zlib, truncation) must not stop the rest
                yield Rejected(member_source, "damaged file in the archive")


def _zip_member_refusal(info: zipfile.ZipInfo, budget: _Budget, limits: Limits) -> str | None:
    if info.flag_bits & 0x1:
        return "password-protected file skipped"
    if info.file_size > ZIP_RATIO_FLOOR and info.file_size > limits.max_ratio * max(
        info.compress_size, 1
    ):
        ratio = info.file_size // max(info.compress_size, 1)
        return (
            f"zip member skipped: it expands {ratio:,} times "
            f"(more than {limits.max_ratio}), like a zip bomb"
        )
    if budget.expanded + info.file_size > limits.max_expanded_bytes:
        return "zip member skipped: archive expands beyond " + _size(limits.max_expanded_bytes)
    return None


def _zip_directory_too_big(handle: BinaryIO, limits: Limits) -> str | None:
    """Refuse before `ZipFile` builds its table of contents, whose size the archive sets."""
    handle.seek(0, os.SEEK_END)
    size = handle.tell()
    tail_size = min(size, 22 + 65535)
    handle.seek(size - tail_size)
    tail = handle.read(tail_size)
    handle.seek(0)
    end = tail.rfind(b"PK\x05\x06")
    if end < 0 or len(tail) - end < 22:
        return None  # ZipFile will call it damaged
    entries, directory_size = struct.unpack("<HL", tail[end + 10 : end + 16])
    locator = end - 20
    if (entries == 0xFFFF or directory_size == 0xFFFFFFFF) and tail[
        locator : locator + 4
    ] == b"PK\x06\x07":
        (record_offset,) = struct.unpack("<Q", tail[locator + 8 : locator + 16])
        handle.seek(record_offset)
        record = handle.read(56)
        handle.seek(0)
        if record[:4] == b"PK\x06\x06":
            entries, directory_size = struct.unpack("<QQ", record[32:48])
    if entries > limits.max_archive_members:
        return (
            f"the archive holds {entries:,} files; at most "
            f"{limits.max_archive_members:,} are read at once"
        )
    # ZipFile reads every entry the directory holds, whatever the count above says. A real
    # entry takes about 100 bytes; 256 per allowed member leaves room for long names.
    if directory_size > 256 * limits.max_archive_members:
        return (
            f"the archive's list of files is too long ({_size(directory_size)}); "
            f"at most {limits.max_archive_members:,} files are read at once"
        )
    return None


def _read_gzip(handle: BinaryIO, source: str, limits: Limits) -> Iterator[Item]:
    budget = _Budget(limits, compressed=handle)
    try:
        with gzip.GzipFile(fileobj=handle, mode="rb") as unzipped:
            stream = _GuardedReader(unzipped, budget)
            head = _read_at_most(stream, SNIFF_BYTES)
            kind, detail = _sniff(head)
            if kind in ("zip", "gzip"):
                yield Rejected(source, "archive inside a compressed file not opened")
            elif kind in ("mbox", "message"):
                yield from _read_messages(kind, _strip_lead(head), stream, source, limits)
            elif kind == "empty":
                yield Rejected(source, "empty compressed file")
            else:
                yield Rejected(source, detail)
    except _StopReading as stop:
        yield Rejected(source, "rest of the file skipped: " + stop.reason)
    except Exception:  # truncated or corrupt gzip data
        yield Rejected(source, "damaged gzip file; the rest of it was not read")


class _Budget:
    """Bytes expanded from one archive, checked against the total and ratio limits."""

    def __init__(self, limits: Limits, compressed: BinaryIO | None = None) -> None:
        self.limits = limits
        self.expanded = 0
        self._compressed = compressed
        self._member_left: int | None = None

    def expected(self, size: int) -> None:
        self._member_left = size

    def spend(self, count: int) -> None:
        self.expanded += count
        limits = self.limits
        if self.expanded > limits.max_expanded_bytes:
            raise _StopReading("archive expands beyond " + _size(limits.max_expanded_bytes))
        if self._member_left is not None:
            self._member_left -= count
            if self._member_left < 0:  # zipfile stops at the declared size; belt and braces
                raise _StopReading("the file is larger than the archive says")
        if (
            self._compressed is not None
            and self.expanded > GZIP_RATIO_FLOOR
            and self.expanded > limits.max_ratio * max(self._compressed.tell(), 1)
        ):
            raise _StopReading(
                f"it expands more than {limits.max_ratio} times, like a decompression bomb"
            )


class _GuardedReader:
    """A binary stream whose reads are counted against a `_Budget`."""

    def __init__(self, stream: BinaryIO, budget: _Budget) -> None:
        self._stream = stream
        self._budget = budget

    def read(self, size: int) -> bytes:
        data = self._stream.read(size)
        self._budget.spend(len(data))
        return data


# --------------------------------------------------------------------------------------
# Telling mail from everything else

_HEADER_NAME = re.compile(rb"[!-9;-~]+[ \t]*:")
_MAIL_HEADERS = frozenset(
    b"from to cc bcc subject date message-id received return-path mime-version delivered-to "
    b"sender reply-to in-reply-to references content-type x-mailer user-agent "
    b"authentication-results dkim-signature thread-topic".split()
)
_MAGIC = (
    (b"%PDF", "a PDF document"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an Outlook .msg or old Office file"),
    (b"Rar!", "a RAR archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"BZh", "a bzip2 file"),
    (b"\xfd7zXZ", "an xz file"),
)


def _sniff(head: bytes) -> tuple[str, str]:
    """Name the kind of file from its first bytes: zip, gzip, mbox, message, empty or other."""
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return "zip", ""
    if head.startswith(b"\x1f\x8b"):
        return "gzip", ""
    text = _strip_lead(head)
    if not text.strip():
        return "empty", "empty file"
    if text.startswith(b"From "):
        return "mbox", ""
    if _looks_like_headers(text):
        return "message", ""
    for magic, name in _MAGIC:
        if head.startswith(magic):
            return "other", f"not an email message ({name})"
    if head[257:262] == b"ustar":
        return "other", "not an email message (a tar archive)"
    return "other", "not an email message"


def _strip_lead(head: bytes) -> bytes:
    return head.removeprefix(UTF8_BOM).lstrip(b"\r\n")


def _looks_like_headers(head: bytes) -> bool:
    """True when the bytes open with header fields, one of them a mail header."""
    block = head.split(b"\n\n", 1)[0].split(b"\r\n\r\n", 1)[0]
    if b"\x00" in block:
        return False
    known = False
    for number, line in enumerate(block.split(b"\n")[:500]):
        line = line.rstrip(b"\r")
        if line[:1] in (b" ", b"\t"):
            if number == 0:
                return False
            continue
        if not _HEADER_NAME.match(line):
            return known and number > 0
        name = line.split(b":", 1)[0].strip().lower()
        known = known or name in _MAIL_HEADERS
    return known


# --------------------------------------------------------------------------------------
# Splitting a stream into messages

_FROM_LINE = re.compile(rb"From \S+ +(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) ")
_ESCAPED_FROM = re.compile(rb">+From ")


def _read_messages(
    kind: str, head: bytes, stream: BinaryIO, source: str, limits: Limits
) -> Iterator[Item]:
    if kind == "message":
        reader = _MessageReader(source, limits)
        reader.feed(head)
        while not reader.refused and (chunk := stream.read(CHUNK)):
            reader.feed(chunk)
        yield reader.finish()
        return
    reader = None
    number = 0
    blank_line: bytes | None = None  # held back: the blank line before From_ is the separator's
    previous_blank = True
    for piece, starts_line in _pieces(head, stream):
        if (
            starts_line
            and piece.startswith(b"From ")
            and (previous_blank or _FROM_LINE.match(piece))
        ):
            if reader is not None:
                yield reader.finish()
            number += 1
            reader = _MessageReader(f"{source}, message {number}", limits)
            blank_line, previous_blank = None, False
            continue
        if reader is None:
            continue
        if blank_line is not None:
            reader.feed(blank_line)
            blank_line = None
        is_blank = starts_line and piece in (b"\n", b"\r\n")
        if is_blank:
            blank_line = piece
        else:
            if starts_line and _ESCAPED_FROM.match(piece):
                piece = piece[1:]
            reader.feed(piece)
        previous_blank = is_blank
    if reader is not None:
        yield reader.finish()


def _pieces(head: bytes, stream: BinaryIO) -> Iterator[tuple[bytes, bool]]:
    """Yield the stream's lines, and whether each piece starts a line (long lines are cut)."""
    rest = head
    starts_line = True
    finished = False
    while True:
        start = 0
        while (newline := rest.find(b"\n", start)) != -1:
            yield rest[start : newline + 1], starts_line
            starts_line = True
            start = newline + 1
        rest = rest[start:]
        if finished:
            if rest:
                yield rest, starts_line
            return
        if len(rest) >= CHUNK:
            yield rest, starts_line
            starts_line, rest = False, b""
        chunk = stream.read(CHUNK)
        if chunk:
            rest += chunk
        else:
            finished = True


def _read_at_most(stream: BinaryIO, size: int) -> bytes:
    parts = []
    while size > 0 and (data := stream.read(min(size, CHUNK))):
        parts.append(data)
        size -= len(data)
    return b"".join(parts)


class _MessageReader:
    """Feeds one message's bytes to the parser as they arrive, within the size limit."""

    def __init__(self, source: str, limits: Limits) -> None:
        self.source = source
        self.limits = limits
        self._buffer = bytearray()
        self._sha = hashlib.sha256()
        self._size = 0
        self._parser: BytesFeedParser | None = None
        self._refusal: str | None = None

    def feed(self, data: bytes) -> None:
        if self._refusal is not None:
            return
        self._buffer += data
        if len(self._buffer) >= CHUNK:
            self._flush(final=False)

    @property
    def refused(self) -> bool:
        return self._refusal is not None

    def _flush(self, final: bool) -> None:
        data = bytes(self._buffer)
        self._buffer.clear()
        if not final and data.endswith(b"\r"):
            self._buffer += b"\r"
            data = data[:-1]
        data = data.replace(b"\r\n", b"\n")
        self._size += len(data)
        if self._size > self.limits.max_message_bytes:
            self._refuse(f"message larger than {_size(self.limits.max_message_bytes)} skipped")
            return
        self._sha.update(data)
        if self._parser is None:
            if not _looks_like_headers(data[:SNIFF_BYTES]):
                self._refuse("not an email message" if data.strip() else "empty message")
                return
            self._parser = BytesFeedParser(policy=policy.compat32)
        try:
            self._parser.feed(data)
        except RecursionError:
            self._refuse("message nested too deeply to read")
        except Exception:  # the feed parser is lenient; anything else is a broken message
            self._refuse("message could not be read")

    def _refuse(self, reason: str) -> None:
        self._refusal = reason
        self._parser = None
        self._buffer.clear()

    def finish(self) -> Item:
        if self._refusal is None:
            self._flush(final=True)
        if self._refusal is not None:
            return Rejected(self.source, self._refusal)
        assert self._parser is not None
        try:
            message = self._parser.close()
            return _build(message, self.source, self._sha.hexdigest(), self._size, self.limits)
        except RecursionError:
            return Rejected(self.source, "message nested too deeply to read")
        except Exception as error:  # one broken message never stops the import
            return Rejected(self.source, f"message could not be read ({type(error).__name__})")
        finally:
            self._parser = None


# --------------------------------------------------------------------------------------
# One message


def _build(message: Message, source: str, sha: str, size: int, limits: Limits) -> ParsedMessage:
    problems: list[str] = []
    headers = _header_map(message)

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

    subject = _clean_line(_header_text(headers, "subject", problems), MAX_SUBJECT_CHARS)
    sent_at = _sent_at(headers.get("date"), problems)
    body, attachments = _content(message, problems, limits)

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


def _header_map(message: Message) -> dict[str, str]:
    """The first value of each header, raw (8-bit bytes kept as surrogate escapes)."""
    headers: dict[str, str] = {}
    for name, value in message.raw_items():
        headers.setdefault(name.strip().lower(), str(value))
    return headers


_ADDRESS = re.compile(r"[^@\s<>()\[\],;:\"\\]+@[^@\s<>()\[\],;:\"\\]+")
_HEADER_TITLES = {"from": "From", "sender": "Sender", "return-path": "Return-Path"}


def _sender(headers: dict[str, str], problems: list[str]) -> tuple[str, str | None]:
    """The sender's name and address, from From, else Sender, else Return-Path."""
    for header in ("from", "sender", "return-path"):
        if header not in headers:
            continue
        raw = _header_text(headers, header, problems, decode_words=False)
        if not raw.strip() or raw.strip() == "<>":
            continue
        what = f"the {_HEADER_TITLES[header]} header"
        if header != "from":
            problems.append(f"no From header; sender taken from {_HEADER_TITLES[header]}")
        name, address = _parse_address(raw)
        if not _ADDRESS.fullmatch(address):
            # Some mailers encode the whole "Name <address>" as one encoded word.
            name, address = _parse_address(_decode_words(raw, [], what))
        name = _clean_line(_decode_words(name, problems, what), MAX_NAME_CHARS)
        if _ADDRESS.fullmatch(address) and len(address) <= 254:
            return name, address.lower()
        shown = _clean_line(_decode_words(raw, [], what), MAX_NAME_CHARS)
        problems.append(f"sender address {_quote(shown)} is not an email address")
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
    text = _clean_line(_unfold(raw), 200)
    try:
        sent = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        problems.append(f"unreadable date {_quote(text)}")
        return None
    if sent.tzinfo is None:
        if not text.rstrip().endswith("-0000"):
            problems.append(f"date {_quote(text)} has no time zone; read as UTC")
        sent = sent.replace(tzinfo=UTC)
    try:
        sent = sent.astimezone(UTC)
    except (OverflowError, ValueError):
        problems.append(f"unreadable date {_quote(text)}")
        return None
    if sent.year < 1980 or sent > datetime.now(UTC) + timedelta(days=2):
        problems.append(f"implausible date {_quote(text)} ignored")
        return None
    return sent


_ANGLE_ID = re.compile(r"<([^<>]*)>")


def _normal_id(token: str) -> str | None:
    token = _INVISIBLE.sub("", "".join(token.split()))
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
    text = _unfold(raw)
    tokens = _ANGLE_ID.findall(text)
    if not tokens:
        # Bare ids only with an "@": "(none)" or "unknown" would make distinct messages one.
        tokens = [word for word in text.split() if "@" in word]
    ids = (_normal_id(token) for token in tokens)
    return list(dict.fromkeys(i for i in ids if i))


# --------------------------------------------------------------------------------------
# Header text

_RAW_BYTES = re.compile("[\udc80-\udcff]")  # undeclared 8-bit bytes, as the parser keeps them
_ENCODED_WORD = re.compile(r"=\?([^?\s*]+)(?:\*[^?\s]*)?\?([bBqQ])\?([^?]*)\?=")


def _unfold(value: str) -> str:
    return re.sub(r"\r?\n(?=[ \t])", "", value)


def _header_text(
    headers: dict[str, str], name: str, problems: list[str], decode_words: bool = True
) -> str:
    """A header's text: unfolded, 8-bit bytes decoded, encoded words decoded if asked."""
    raw = headers.get(name)
    if raw is None:
        return ""
    text = _unfold(raw)
    what = f"the {_HEADER_TITLES.get(name, name.title())} header"
    if _RAW_BYTES.search(text):
        text = _decode_bytes(text.encode("ascii", "surrogateescape"), None, problems, what)
    return _decode_words(text, problems, what) if decode_words else text


def _decode_words(text: str, problems: list[str], what: str = "a header") -> str:
    """Decode RFC 2047 encoded words, leniently: adjacent words of one charset are joined
    before decoding (mailers split UTF-8 characters across words), bad padding is mended."""
    out: list[str] = []
    position = 0
    run_charset: str | None = None
    run = bytearray()

    def flush_run() -> None:
        nonlocal run_charset
        if run_charset is not None:
            out.append(_decode_bytes(bytes(run), run_charset, problems, what))
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


def _decode_bytes(data: bytes, label: str | None, problems: list[str], what: str) -> str:
    """Decode text under its declared charset, or the best guess, noting every guess."""
    label = (label or "").strip().strip("\"'").lower() or None
    codec = _codec(label) if label else None
    if label and codec is None:
        if data.isascii():
            return data.decode("ascii")
        text, guess = _guess(data)
        problems.append(f"unknown charset {_quote(label)} in {what}; read as {guess}")
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
            problems.append(f"{what} is labelled {_quote(label)} but is UTF-8; read as UTF-8")
            return text
    try:
        return data.decode(_SUPERSETS.get(codec, codec))
    except UnicodeDecodeError:
        pass
    if codec == "utf-8":
        text, guess = _guess(data)
        problems.append(f"{what} is labelled UTF-8 but is not; read as {guess}")
        return text
    problems.append(f"{what} is not valid {_quote(label)}; unreadable bytes replaced")
    return data.decode(_SUPERSETS.get(codec, codec), "replace")


def _guess(data: bytes) -> tuple[str, str]:
    try:
        return data.decode("utf-8"), "UTF-8"
    except UnicodeDecodeError:
        return data.decode("cp1252", "replace"), "windows-1252"


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


def _content(message: Message, problems: list[str], limits: Limits) -> tuple[str, list[Attachment]]:
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
    body = _clean_body("\n\n".join(text for text in walk.texts if text.strip()))
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
    text = _decode_bytes(data, part.get_content_charset(), walk.problems, what)
    if content_type == "text/html":
        return _html_to_text(text, walk.problems, walk.limits)
    return text


def _forwarded_header(inner: Message, problems: list[str]) -> str:
    headers = _header_map(inner)
    lines = ["---------- Forwarded message ----------"]
    for name in ("from", "date", "subject", "to"):
        value = _clean_line(_header_text(headers, name, problems), 300)
        if value:
            lines.append(f"{name.title()}: {value}")
    return "\n".join(lines)


def _attachment(part: Message, content_type: str, problems: list[str]) -> Attachment:
    filename = _filename(part.get_filename(), problems)
    content_type = _clean_line(content_type, 100)
    if not part.is_multipart():
        return Attachment(filename, content_type, _decoded_size(part))
    # message/rfc822 and message/delivery-status carry parsed messages, not bytes.
    inner = [p for p in part.get_payload() if isinstance(p, Message)]
    size = 0
    for message in inner:
        with contextlib.suppress(Exception):  # a message too broken to write out again
            size += len(message.as_bytes())
    if filename == "(unnamed)" and content_type in _FORWARDED and inner:
        subject = _header_text(_header_map(inner[0]), "subject", problems)
        filename = _clean_line(subject or "forwarded message", MAX_FILENAME_CHARS - 4) + ".eml"
    return Attachment(filename, content_type, size)


def _filename(raw: str | None, problems: list[str]) -> str:
    if not raw:
        return "(unnamed)"
    text = _decode_words(_unfold(raw), problems, "an attachment name")
    text = re.split(r"[/\\]", text.rstrip("/\\"))[-1]
    return _clean_line(text, MAX_FILENAME_CHARS) or "(unnamed)"


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


# --------------------------------------------------------------------------------------
# Clean strings

# C0 and C1 controls (not tab, newline, carriage return), bidi embeddings, overrides and
# isolates, lone surrogates and the byte-order mark.
_INVISIBLE = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff\ufeff]"
)


def _clean_line(text: str, limit: int) -> str:
    """One line of display text: no controls or bidi overrides, spaces collapsed, capped."""
    text = " ".join(_INVISIBLE.sub("", text).split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _clean_body(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = text.replace("\u2028", "\n").replace("\u2029", "\n\n")
    text = _INVISIBLE.sub("", text)
    text = "\n".join(line.rstrip() for line in text.split("\n"))
    return re.sub(r"\n{3,}", "\n\n", text).strip("\n")


def _quote(text: str) -> str:
    return "'" + _clean_line(text, 60) + "'"


def _size(count: int) -> str:
    if count >= 1_000_000_000:
        return f"{count / 1_000_000_000:g} GB"
    if count >= 1_000_000:
        return f"{count / 1_000_000:g} MB"
    return f"{count:,} bytes"


def _is_hidden(name: str) -> bool:
    return (name.startswith(".") and name not in (".", "..")) or name == "__MACOSX"


def _os_reason(error: OSError) -> str:
    return "could not be read: " + (error.strerror or type(error).__name__).lower()
