"""Read the helpdesk's exported mail into plain records, whatever shape the export is in.

Pure parsing: no Flask, no database, nothing written to disk. The import views and the
`import-mailbox` command turn what this yields into triage items. One module per concern:
`containers` (files, folders, zip and gzip, mbox streams), `message` (one message's headers),
`decoding` (encoded words and charsets), `content` (MIME parts, HTML as text, attachments),
`threads`, `records` (what is yielded, and the limits) and `cleaning` (safe strings).

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

from campaign.imports.mailparse.containers import read_mail
from campaign.imports.mailparse.records import (
    DEFAULT_LIMITS,
    Attachment,
    Limits,
    ParsedMessage,
    Rejected,
)
from campaign.imports.mailparse.threads import thread_keys

__all__ = [
    "DEFAULT_LIMITS",
    "Attachment",
    "Limits",
    "ParsedMessage",
    "Rejected",
    "read_mail",
    "thread_keys",
]
