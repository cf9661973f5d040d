"""Reading containers: files, folders, zip and gzip archives and mbox streams, in limits."""

from __future__ import annotations

import gzip
import hashlib
import os
import re
import stat
import struct
import zipfile
from collections.abc import Iterator
from email import policy
from email.parser import BytesFeedParser
from pathlib import Path
from typing import BinaryIO

from campaign.imports.mailparse.cleaning import clean_line, is_hidden, os_reason, size_in_words
from campaign.imports.mailparse.message import build_message
from campaign.imports.mailparse.records import (
    CHUNK,
    DEFAULT_LIMITS,
    GZIP_RATIO_FLOOR,
    MAX_CONTAINER_CHARS,
    SNIFF_BYTES,
    UTF8_BOM,
    ZIP_RATIO_FLOOR,
    Item,
    Limits,
    Rejected,
    StopReading,
)

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
    label = clean_line(display_name or path.name or str(path), 300) or "(upload)"
    try:
        info = path.stat()
    except OSError as error:
        yield Rejected(label, os_reason(error))
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


# --------------------------------------------------------------------------------------
# Files, folders and archives


def _read_folder(folder: Path, label: str, limits: Limits) -> Iterator[Item]:
    try:
        entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
    except OSError as error:
        yield Rejected(label, os_reason(error))
        return
    for entry in entries:
        if is_hidden(entry.name):
            continue
        source = clean_line(f"{label}/{entry.name}", MAX_CONTAINER_CHARS)
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
            yield Rejected(source, os_reason(error))


def _read_file(path: Path, source: str, limits: Limits) -> Iterator[Item]:
    try:
        if not stat.S_ISREG(path.stat().st_mode):
            yield Rejected(source, "not a regular file")
            return
        handle = path.open("rb")
    except OSError as error:
        yield Rejected(source, os_reason(error))
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
            yield Rejected(source, "reading stopped: " + os_reason(error))


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
            if not info.is_dir() and not any(is_hidden(p) for p in info.filename.split("/"))
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
            member_source = clean_line(f"{source}: {info.filename}", MAX_CONTAINER_CHARS)
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
            except StopReading as stop:
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
        return "zip member skipped: archive expands beyond " + size_in_words(
            limits.max_expanded_bytes
        )
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
            f"the archive's list of files is too long ({size_in_words(directory_size)}); "
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
    except StopReading as stop:
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
            raise StopReading("archive expands beyond " + size_in_words(limits.max_expanded_bytes))
        if self._member_left is not None:
            self._member_left -= count
            if self._member_left < 0:  # zipfile stops at the declared size; belt and braces
                raise StopReading("the file is larger than the archive says")
        if (
            self._compressed is not None
            and self.expanded > GZIP_RATIO_FLOOR
            and self.expanded > limits.max_ratio * max(self._compressed.tell(), 1)
        ):
            raise StopReading(
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
            self._refuse(
                f"message larger than {size_in_words(self.limits.max_message_bytes)} skipped"
            )
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
            return build_message(
                message, self.source, self._sha.hexdigest(), self._size, self.limits
            )
        except RecursionError:
            return Rejected(self.source, "message nested too deeply to read")
        except Exception as error:  # one broken message never stops the import
            return Rejected(self.source, f"message could not be read ({type(error).__name__})")
        finally:
            self._parser = None
