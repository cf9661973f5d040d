"""Reading the helpdesk's exported mail: what staff see for each message, and what is refused.

Every file here is built in tmp_path with the standard library (email, mailbox, zipfile,
gzip). The zip and gzip bombs are written from one compressed MiB of zeros repeated, so a
member that expands to 1 GiB costs a megabyte on disk and no time to make.
"""

from __future__ import annotations

import base64
import gzip
import mailbox
import os
import struct
import subprocess
import sys
import zipfile
import zlib
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

import pytest

from campaign.imports.mailparse import (
    Attachment,
    Limits,
    ParsedMessage,
    Rejected,
    read_mail,
    thread_keys,
)

MIB = 1 << 20


def make_message(
    subject: str = "Ordinance passed",
    body: str = "We passed it last night.\n",
    sender: str | None = "Jane Doe <Jane.Doe@Example.ORG>",
    date: str | None = "Tue, 05 Mar 2024 10:15:00 -0500",
    message_id: str | None = "<abc123@Example.ORG>",
    **headers: str,
) -> EmailMessage:
    message = EmailMessage()
    if sender is not None:
        message["From"] = sender
    message["To"] = "helpdesk@campaign.example"
    message["Subject"] = subject
    if date is not None:
        message["Date"] = date
    if message_id is not None:
        message["Message-ID"] = message_id
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(body)
    return message


def raw_message(headers: str, body: bytes) -> bytes:
    """A message written byte for byte, for the broken encodings real mailers send."""
    return headers.strip("\n").replace("\n", "\r\n").encode("ascii") + b"\r\n\r\n" + body


def write_mbox(path: Path, messages: list[EmailMessage | bytes]) -> Path:
    box = mailbox.mbox(path)
    for message in messages:
        box.add(message)
    box.close()
    return path


def read(path: Path, **kwargs) -> tuple[list[ParsedMessage], list[Rejected]]:
    items = list(read_mail(path, **kwargs))
    parsed = [item for item in items if isinstance(item, ParsedMessage)]
    rejected = [item for item in items if isinstance(item, Rejected)]
    assert len(parsed) + len(rejected) == len(items)
    return parsed, rejected


def read_one(path: Path, **kwargs) -> ParsedMessage:
    parsed, rejected = read(path, **kwargs)
    assert rejected == []
    assert len(parsed) == 1
    return parsed[0]


def zeros_deflate(mib: int) -> tuple[bytes, int]:
    """Raw deflate data for `mib` MiB of zeros, and their CRC-32, without ever holding or
    compressing them: one MiB compressed and flushed is a block that can be repeated."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = compressor.compress(bytes(MIB)) + compressor.flush(zlib.Z_FULL_FLUSH)
    return block * mib + compressor.flush(zlib.Z_FINISH), crc32_of_zeros(mib * MIB)


def crc32_of_zeros(length: int) -> int:
    """zlib.crc32(bytes(length)) in microseconds: a zero byte multiplies the CRC register by
    x^8 modulo the CRC polynomial, so square-and-multiply does a GiB in 30 steps."""

    def multiply(a: int, b: int) -> int:  # bit-reflected, as zlib's multmodp
        product = 0
        for bit in range(32):
            if a & (1 << (31 - bit)):
                product ^= b
            b = (b >> 1) ^ 0xEDB88320 if b & 1 else b >> 1
        return product

    result, power = 1 << 31, 1 << 23  # the polynomials 1 and x^8
    while length:
        if length & 1:
            result = multiply(result, power)
        power = multiply(power, power)
        length >>= 1
    return multiply(0xFFFFFFFF, result) ^ 0xFFFFFFFF


def test_crc32_of_zeros_agrees_with_zlib():
    for length in (0, 1, 7, 4096, 3 * MIB + 5):
        assert crc32_of_zeros(length) == zlib.crc32(bytes(length))


def deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
    return compressor.compress(data) + compressor.flush()


def write_zip(
    path: Path, members: list[tuple[str, bytes, int, int]], encrypted: frozenset = frozenset()
) -> Path:
    """A zip of (name, raw deflate data, CRC-32, expanded size) members, written by hand so
    a member can be a bomb that was never expanded on this machine."""
    local, central = bytearray(), bytearray()
    for name, data, crc, size in members:
        encoded = name.encode()
        flags = 1 if name in encrypted else 0
        header = struct.pack(
            "<IHHHHHIIIHH",
            0x04034B50,
            20,
            flags,
            8,
            0,
            0x5821,
            crc,
            len(data),
            size,
            len(encoded),
            0,
        )
        central += struct.pack(
            "<IHHHHHHIIIHHHHHII",
            0x02014B50,
            20,
            20,
            flags,
            8,
            0,
            0x5821,
            crc,
            len(data),
            size,
            len(encoded),
            0,
            0,
            0,
            0,
            0,
            len(local),
        )
        central += encoded
        local += header + encoded + data
    end = struct.pack(
        "<IHHHHIIH", 0x06054B50, 0, 0, len(members), len(members), len(central), len(local), 0
    )
    path.write_bytes(bytes(local + central + end))
    return path


def zip_member(name: str, content: bytes) -> tuple[str, bytes, int, int]:
    return name, deflate(content), zlib.crc32(content), len(content)


# --------------------------------------------------------------------------------------
# One mbox, the common export


def test_plain_message_reads_as_staff_will_see_it(tmp_path):
    message = make_message(subject="Caf\u00e9 meeting \u2013 agenda", body="Hello,\r\nSee you.\n")
    path = write_mbox(tmp_path / "export.mbox", [message])

    parsed = read_one(path, display_name="helpdesk.mbox")

    assert parsed.sender_name == "Jane Doe"
    assert parsed.sender_email == "jane.doe@example.org"
    assert parsed.sent_at == datetime(2024, 3, 5, 15, 15, tzinfo=UTC)
    assert parsed.subject == "Caf\u00e9 meeting \u2013 agenda"
    assert parsed.body == "Hello,\nSee you."
    assert parsed.message_id == "abc123@example.org"
    assert parsed.in_reply_to is None
    assert parsed.references == []
    assert parsed.attachments == []
    assert parsed.problems == []
    assert parsed.source == "helpdesk.mbox, message 1"
    assert len(parsed.raw_sha256) == 64
    assert parsed.raw_size > 200


def test_html_only_message_becomes_readable_text_without_scripts_or_styles(tmp_path):
    message = make_message()
    message.set_content(
        "<html><head><title>Newsletter</title><style>p { color: red }</style>"
        "<script>alert('x')</script></head><body><p>Dear helpdesk,</p>"
        "<p>Our <b>council</b> voted yes. Minutes: <a href='https://city.example/m'>here</a>."
        "</p><ul><li>first reading</li><li>second reading</li></ul>"
        "<span style='display:none'>preheader</span></body></html>",
        subtype="html",
    )
    path = write_mbox(tmp_path / "export.mbox", [message])

    parsed = read_one(path)

    assert parsed.body == (
        "Dear helpdesk,\n\n"
        "Our council voted yes. Minutes: [here](https://city.example/m).\n\n"
        "  * first reading\n"
        "  * second reading"
    )
    assert parsed.problems == []
    assert parsed.attachments == []


def test_multipart_alternative_shows_the_plain_text(tmp_path):
    message = make_message(body="Plain version.\n")
    message.add_alternative("<p>HTML <i>version</i>.</p>", subtype="html")
    path = write_mbox(tmp_path / "export.mbox", [message])

    parsed = read_one(path)

    assert parsed.body == "Plain version."
    assert parsed.attachments == []
    assert parsed.problems == []


def test_pdf_attachment_is_listed_with_its_size_and_never_kept(tmp_path):
    message = make_message(body="Resolution attached.\n")
    message.add_attachment(
        b"%PDF-1.7 " + bytes(5000), maintype="application", subtype="pdf", filename="res.pdf"
    )
    message.add_attachment(b"a,b\n1,2\n", maintype="text", subtype="csv", filename="../../x.csv")
    message.add_attachment(b"\x00\x01", maintype="application", subtype="octet-stream")
    path = write_mbox(tmp_path / "export.mbox", [message])

    parsed = read_one(path)

    assert parsed.body == "Resolution attached."
    assert parsed.attachments == [
        Attachment("res.pdf", "application/pdf", 5009),
        Attachment("x.csv", "text/csv", 8),
        Attachment("(unnamed)", "application/octet-stream", 2),
    ]
    assert parsed.problems == []


def test_latin1_and_windows1252_messages_keep_their_accents(tmp_path):
    latin1 = raw_message(
        """
From: =?iso-8859-1?q?Ren=E9e_Fa=E7on?= <renee@example.fr>
Subject: =?ISO-8859-1?Q?Conseil_municipal_=E0_No=EBl?=
Date: Mon, 04 Mar 2024 09:00:00 +0100
Message-ID: <latin1@example.fr>
MIME-Version: 1.0
Content-Type: text/plain; charset=iso-8859-1
Content-Transfer-Encoding: 8bit
""",
        "Le d\u00e9cret est adopt\u00e9 \u00e0 l'unanimit\u00e9.\n".encode("latin-1"),
    )
    windows = raw_message(
        """
From: Jos\u00e9 <jose@example.org>
Subject: =?windows-1252?q?=93Quotes=94_and_=80?=
Date: Mon, 04 Mar 2024 10:00:00 +0000
Message-ID: <cp1252@example.org>
Content-Type: text/plain; charset="windows-1252"
Content-Transfer-Encoding: quoted-printable
""".replace("\u00e9", "e"),
        b"It\x92s \x93done\x94 \x96 cost \x80100.\n",
    )
    # Outlook's habit: windows-1252 bytes labelled ISO-8859-1. Read as browsers read it.
    mislabelled = raw_message(
        """
From: clerk@example.org
Subject: minutes
Date: Mon, 04 Mar 2024 11:00:00 +0000
Message-ID: <outlook@example.org>
Content-Type: text/plain; charset=iso-8859-1
""",
        b"Council\x92s \x93yes\x94 vote.\n",
    )
    path = write_mbox(tmp_path / "export.mbox", [latin1, windows, mislabelled])

    first, second, third = read(path)[0]

    assert first.sender_name == "Ren\u00e9e Fa\u00e7on"
    assert first.subject == "Conseil municipal \u00e0 No\u00ebl"
    assert first.body == "Le d\u00e9cret est adopt\u00e9 \u00e0 l'unanimit\u00e9."
    assert first.problems == []
    assert second.subject == "\u201cQuotes\u201d and \u20ac"
    assert second.body == "It\u2019s \u201cdone\u201d \u2013 cost \u20ac100."
    assert second.problems == []
    assert third.body == "Council\u2019s \u201cyes\u201d vote."
    assert third.problems == []


def test_mislabelled_charsets_are_read_right_and_noted(tmp_path):
    utf8_as_latin1 = raw_message(
        """
From: a@example.org
Subject: x
Date: Mon, 04 Mar 2024 11:00:00 +0000
Message-ID: <m1@example.org>
Content-Type: text/plain; charset=iso-8859-1
""",
        "Caf\u00e9 cr\u00e8me \u2014 \u00e7a va.\n".encode(),
    )
    not_utf8 = raw_message(
        """
From: b@example.org
Subject: y
Date: Mon, 04 Mar 2024 11:00:00 +0000
Message-ID: <m2@example.org>
Content-Type: text/plain; charset=utf-8
""",
        b"Caf\xe9 cr\xe8me.\n",
    )
    undeclared = raw_message(
        """
From: =?utf-8?q?Zo=C3=AB?= <c@example.org>
Subject: caf\u00e9 8-bit subject
Date: Mon, 04 Mar 2024 11:00:00 +0000
Message-ID: <m3@example.org>
""".replace("\u00e9", "=E9"),
        b"No charset declared, na\xefve bytes.\n",
    )
    undeclared = undeclared.replace(b"caf=E9", "caf\u00e9".encode())
    path = write_mbox(tmp_path / "export.mbox", [utf8_as_latin1, not_utf8, undeclared])

    first, second, third = read(path)[0]

    assert first.body == "Caf\u00e9 cr\u00e8me \u2014 \u00e7a va."
    assert first.problems == [
        "the message text is labelled 'iso-8859-1' but is UTF-8; read as UTF-8"
    ]
    assert second.body == "Caf\u00e9 cr\u00e8me."
    assert second.problems == [
        "the message text is labelled UTF-8 but is not; read as windows-1252"
    ]
    assert third.sender_name == "Zo\u00eb"
    assert third.subject == "caf\u00e9 8-bit subject"  # undeclared UTF-8: the modern default
    assert third.body == "No charset declared, na\u00efve bytes."
    assert third.problems == ["the message text has no declared charset; read as windows-1252"]


def test_unknown_charset_is_read_as_best_guess_and_noted(tmp_path):
    message = raw_message(
        """
From: a@example.org
Subject: =?x-foo?q?Caf=C3=A9?=
Date: Mon, 04 Mar 2024 11:00:00 +0000
Message-ID: <u1@example.org>
Content-Type: text/plain; charset=x-foo
""",
        b"Stra\xdfe gesperrt.\n",
    )
    path = write_mbox(tmp_path / "export.mbox", [message])

    parsed = read_one(path)

    assert parsed.subject == "Caf\u00e9"
    assert parsed.body == "Stra\u00dfe gesperrt."
    assert parsed.problems == [
        "unknown charset 'x-foo' in the Subject header; read as UTF-8",
        "unknown charset 'x-foo' in the message text; read as windows-1252",
    ]


def test_reply_thread_groups_and_an_unrelated_message_stands_alone(tmp_path):
    root = make_message(subject="Help with filing", message_id="<root@a.example>")
    reply = make_message(
        subject="Re: Help with filing",
        date="Wed, 06 Mar 2024 09:00:00 +0000",
        message_id="<reply@b.example>",
        In_Reply_To="<root@A.example>",
        References="<root@A.example>",
    )
    second = make_message(
        subject="Re: Re: Help with filing",
        date="Thu, 07 Mar 2024 09:00:00 +0000",
        message_id="<second@a.example>",
        In_Reply_To="<reply@b.example>",
        References="<root@a.example> <reply@b.example>",
    )
    other = make_message(subject="Unrelated", message_id="<other@c.example>")
    path = write_mbox(tmp_path / "export.mbox", [second, other, reply, root])

    parsed = read(path)[0]

    assert [m.subject for m in parsed] == [
        "Re: Re: Help with filing",
        "Unrelated",
        "Re: Help with filing",
        "Help with filing",
    ]
    assert parsed[0].in_reply_to == "reply@b.example"
    assert parsed[0].references == ["root@a.example", "reply@b.example"]
    assert thread_keys(parsed) == {
        "second@a.example": "root@a.example",
        "other@c.example": "other@c.example",
        "reply@b.example": "root@a.example",
        "root@a.example": "root@a.example",
    }
    # Without the first message, the replies still group under its id.
    assert thread_keys(parsed[:3]) == {
        "second@a.example": "root@a.example",
        "other@c.example": "other@c.example",
        "reply@b.example": "root@a.example",
    }


def thread_message(message_id: str, in_reply_to: str | None, references: list[str]):
    return ParsedMessage(
        message_id=message_id,
        in_reply_to=in_reply_to,
        references=references,
        sender_name="",
        sender_email=None,
        sent_at=None,
        subject="",
        body="",
        attachments=[],
        problems=[],
        source="test",
        raw_sha256="0" * 64,
        raw_size=0,
    )


def test_thread_keys_survive_cycles_and_self_references():
    looped = [
        thread_message("a@x", "b@x", ["b@x"]),
        thread_message("b@x", "a@x", ["a@x"]),
        thread_message("self@x", "self@x", ["self@x"]),
        thread_message("c@x", "a@x", []),
    ]

    assert thread_keys(looped) == {"a@x": "b@x", "b@x": "b@x", "c@x": "b@x", "self@x": "self@x"}
    assert thread_keys([]) == {}


# --------------------------------------------------------------------------------------
# Folders and archives


def test_folder_of_eml_files_is_read_recursively_in_name_order(tmp_path):
    folder = tmp_path / "export"
    (folder / "2024").mkdir(parents=True)
    (folder / "2023").mkdir()
    (folder / "2024" / "b.eml").write_bytes(
        make_message(subject="B", message_id="<b@x>").as_bytes()
    )
    (folder / "2024" / "a.eml").write_bytes(
        make_message(subject="A", message_id="<a@x>").as_bytes()
    )
    (folder / "2023" / "old.txt").write_bytes(make_message(subject="Old").as_bytes())
    (folder / "notes.csv").write_text("name,email\nJane,jane@example.org\n")
    (folder / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    outside = tmp_path / "secret.eml"
    outside.write_bytes(make_message(subject="Outside").as_bytes())
    (folder / "link.eml").symlink_to(outside)

    parsed, rejected = read(folder)

    assert [(m.subject, m.source) for m in parsed] == [
        ("Old", "export/2023/old.txt"),
        ("A", "export/2024/a.eml"),
        ("B", "export/2024/b.eml"),
    ]
    assert rejected == [
        Rejected("export/link.eml", "symbolic link not followed"),
        Rejected("export/notes.csv", "not an email message"),
    ]


def test_zip_of_eml_files_and_an_mbox_is_read_without_extracting(tmp_path):
    mbox = write_mbox(
        tmp_path / "inner.mbox",
        [make_message(subject="In mbox 1"), make_message(subject="In mbox 2")],
    )
    archive = tmp_path / "export.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("mail/2.eml", make_message(subject="Two").as_bytes())
        zf.writestr("mail/1.eml", make_message(subject="One").as_bytes())
        zf.writestr("../../escape.eml", make_message(subject="Dots").as_bytes())
        zf.writestr("mail/archive.mbox", mbox.read_bytes())
        zf.writestr("mail/nested.zip", b"PK\x05\x06" + bytes(18))
        zf.writestr("__MACOSX/mail/._1.eml", b"\x00\x05\x16\x07")
        zf.writestr("mail/", b"")

    parsed, rejected = read(archive, display_name="Helpdesk export.zip")

    assert [(m.subject, m.source) for m in parsed] == [
        ("Dots", "Helpdesk export.zip: ../../escape.eml"),
        ("One", "Helpdesk export.zip: mail/1.eml"),
        ("Two", "Helpdesk export.zip: mail/2.eml"),
        ("In mbox 1", "Helpdesk export.zip: mail/archive.mbox, message 1"),
        ("In mbox 2", "Helpdesk export.zip: mail/archive.mbox, message 2"),
    ]
    assert rejected == [
        Rejected("Helpdesk export.zip: mail/nested.zip", "archive inside an archive not opened")
    ]
    assert not (tmp_path.parent / "escape.eml").exists()


def test_zip_bomb_member_is_skipped_and_the_rest_read(tmp_path):
    bomb, crc = zeros_deflate(1024)
    archive = write_zip(
        tmp_path / "export.zip",
        [
            zip_member("a.eml", make_message(subject="Before").as_bytes()),
            ("b.eml", bomb, crc, 1024 * MIB),
            zip_member("c.eml", make_message(subject="After").as_bytes()),
        ],
    )
    assert archive.stat().st_size < 2 * MIB

    parsed, rejected = read(archive)

    assert [m.subject for m in parsed] == ["Before", "After"]
    ratio = 1024 * MIB // len(bomb)  # about a thousand, depending on the zlib build
    assert rejected == [
        Rejected(
            "export.zip: b.eml",
            f"zip member skipped: it expands {ratio:,} times (more than 100), like a zip bomb",
        )
    ]


def test_password_protected_zip_member_is_skipped(tmp_path):
    message = make_message().as_bytes()
    archive = write_zip(
        tmp_path / "export.zip",
        [zip_member("locked.eml", message), zip_member("open.eml", message)],
        encrypted=frozenset({"locked.eml"}),
    )

    parsed, rejected = read(archive)

    assert [m.source for m in parsed] == ["export.zip: open.eml"]
    assert rejected == [Rejected("export.zip: locked.eml", "password-protected file skipped")]


def test_zip_stops_at_the_total_expansion_limit(tmp_path):
    message = make_message(body="x" * 3000).as_bytes()
    archive = write_zip(
        tmp_path / "export.zip",
        [zip_member(f"{n}.eml", message) for n in range(4)],
    )

    limits = Limits(max_expanded_bytes=2 * len(message) + 10)

    parsed, rejected = read(archive, limits=limits)

    assert [m.source for m in parsed] == ["export.zip: 0.eml", "export.zip: 1.eml"]
    beyond = f"zip member skipped: archive expands beyond {2 * len(message) + 10:,} bytes"
    assert rejected == [
        Rejected("export.zip: 2.eml", beyond),
        Rejected("export.zip: 3.eml", beyond),
    ]


def test_zip_with_too_many_members_is_refused_before_it_is_opened(tmp_path):
    archive = tmp_path / "many.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for n in range(11):
            zf.writestr(f"{n}.eml", b"")

    assert read(archive, limits=Limits(max_archive_members=10)) == (
        [],
        [Rejected("many.zip", "the archive holds 11 files; at most 10 are read at once")],
    )
    # The count in the archive's last record can lie; the length of its file list cannot.
    assert read(archive, limits=Limits(max_archive_members=2)) == (
        [],
        [Rejected("many.zip", "the archive holds 11 files; at most 2 are read at once")],
    )
    listed = sum(46 + len(f"{n}.eml") for n in range(11))  # 46 bytes per entry, and its name
    lying = bytearray(archive.read_bytes())
    lying[-12:-10] = struct.pack("<H", 1)  # total entries: 1
    archive.write_bytes(bytes(lying))
    assert read(archive, limits=Limits(max_archive_members=2)) == (
        [],
        [
            Rejected(
                "many.zip",
                f"the archive's list of files is too long ({listed} bytes); "
                "at most 2 files are read at once",
            )
        ],
    )


def test_gzip_mbox_is_read_and_a_gzip_bomb_stops(tmp_path):
    mbox = write_mbox(tmp_path / "x.mbox", [make_message(subject="One"), make_message()])
    good = tmp_path / "helpdesk.mbox.gz"
    good.write_bytes(gzip.compress(mbox.read_bytes()))
    bomb_data, crc = zeros_deflate(1024)
    bomb = tmp_path / "bomb.gz"
    # Two messages, then a second gzip member of 1 GiB of zeros that joins the second message.
    bomb.write_bytes(
        gzip.compress(mbox.read_bytes())
        + b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"
        + bomb_data
        + struct.pack("<II", crc, (1024 * MIB) & 0xFFFFFFFF)
    )
    assert bomb.stat().st_size < 2 * MIB

    assert [(m.subject, m.source) for m in read(good)[0]] == [
        ("One", "helpdesk.mbox.gz, message 1"),
        ("Ordinance passed", "helpdesk.mbox.gz, message 2"),
    ]
    parsed, rejected = read(bomb)
    assert [m.subject for m in parsed] == ["One"]
    assert rejected == [
        Rejected(
            "bomb.gz",
            "rest of the file skipped: it expands more than 100 times, like a decompression bomb",
        )
    ]


# --------------------------------------------------------------------------------------
# Awkward messages


def test_a_20_mb_attachment_is_listed_within_bounded_memory(tmp_path):
    message = make_message(body="Scan attached.\n")
    message.add_attachment(
        b"PLACEHOLDER", maintype="application", subtype="pdf", filename="scan.pdf"
    )
    content = os.urandom(20 * 1000 * 1000)
    raw = message.as_bytes().replace(
        base64.encodebytes(b"PLACEHOLDER").strip() + b"\n",
        base64.encodebytes(content),
    )
    path = tmp_path / "scan.eml"
    path.write_bytes(raw)
    del raw, content

    script = (
        "import resource, sys\n"
        "from campaign.imports.mailparse import read_mail\n"
        "def peak(): print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)\n"
        "peak()\n"
        "[m] = read_mail(sys.argv[1])\n"
        "print(m.body, m.attachments, m.problems, sep='|')\n"
        "peak()\n"
    )
    result = subprocess.run(  # noqa: S603 - this interpreter, a file this test wrote
        [sys.executable, "-c", script, str(path)], capture_output=True, text=True, check=True
    )
    baseline_mb, summary, peak_mb = result.stdout.splitlines()

    assert summary == (
        "Scan attached.|[Attachment(filename='scan.pdf', content_type='application/pdf', "
        "size=20000000)]|[]"
    )
    # The message is 27 MB; the parser holds it about three times over (reading the file
    # whole and parsing it in one go would take twice that).
    assert int(peak_mb) - int(baseline_mb) < 100


def test_message_without_sender_or_date_still_imports_with_problems(tmp_path):
    message = make_message(sender=None, date=None)
    path = tmp_path / "x.eml"
    path.write_bytes(message.as_bytes())

    parsed = read_one(path)

    assert parsed.sender_name == ""
    assert parsed.sender_email is None
    assert parsed.sent_at is None
    assert parsed.subject == "Ordinance passed"
    assert parsed.problems == ["no sender address", "no date"]


@pytest.mark.parametrize(
    ("header", "name", "email", "problems"),
    [
        ("Helpdesk", "Helpdesk", None, ["sender address 'Helpdesk' is not an email address"]),
        ("<>", "", None, ["no sender address"]),
        ("=?utf-8?b?Sm9zw6kgPGpvc2VAZXhhbXBsZS5vcmc+?=", "Jos\u00e9", "jose@example.org", []),
    ],
)
def test_odd_senders_are_read_as_far_as_they_go(tmp_path, header, name, email, problems):
    path = tmp_path / "x.eml"
    path.write_bytes(raw_message(f"From: {header}\nDate: Mon, 4 Mar 2024 1:00 +0000", b"hi\n"))

    parsed = read_one(path)

    assert (parsed.sender_name, parsed.sender_email) == (name, email)
    assert [p for p in parsed.problems if "Message-ID" not in p] == problems


@pytest.mark.parametrize(
    ("date", "problem"),
    [
        ("next Tuesday", "unreadable date 'next Tuesday'"),
        ("Mon, 32 Foo 2024 99:99:99 +0000", "unreadable date 'Mon, 32 Foo 2024 99:99:99 +0000'"),
        (
            "Fri, 01 Jan 1960 00:00:00 +0000",
            "implausible date 'Fri, 01 Jan 1960 00:00:00 +0000' ignored",
        ),
    ],
)
def test_garbage_dates_are_dropped_and_noted(tmp_path, date, problem):
    path = tmp_path / "x.eml"
    path.write_bytes(raw_message(f"From: a@example.org\nMessage-ID: <d@x>\nDate: {date}", b"hi"))

    parsed = read_one(path)

    assert parsed.sent_at is None
    assert parsed.problems == [problem]


def test_message_without_message_id_gets_the_same_id_on_every_read(tmp_path):
    message = make_message(message_id=None)
    path = write_mbox(tmp_path / "export.mbox", [message])

    first = read_one(path)
    again = read_one(path)

    assert first.message_id == again.message_id == "sha256:" + first.raw_sha256
    assert first.problems == ["no Message-ID; the message is known by its content"]


def test_header_text_loses_controls_and_bidi_overrides(tmp_path):
    path = tmp_path / "x.eml"
    path.write_bytes(
        raw_message(
            """
From: "Evil\u202e moc.elgoog" <a@example.org>
Subject: =?utf-8?q?Invoice=00_=E2=80=AEfdp.exe?=\tnow
Message-ID: <x@example.org>
Date: Mon, 04 Mar 2024 11:00:00 +0000
""".replace("\u202e", "=?utf-8?q?=E2=80=AE?="),
            b"Body\x00 with \x1b[31mcolour\r\nand \xe2\x80\xaeoverride\rend\n\n\n\nlast",
        )
    )

    parsed = read_one(path)

    assert parsed.sender_name == "Evil moc.elgoog"
    assert parsed.subject == "Invoice fdp.exe now"
    assert parsed.body == "Body with [31mcolour\nand override\nend\n\nlast"


def test_long_text_is_cut_and_noted(tmp_path):
    path = tmp_path / "x.eml"
    path.write_bytes(make_message(body="word " * 50).as_bytes())

    parsed = read_one(path, limits=Limits(max_body_chars=20))

    assert parsed.body == "word word word wor\n\u2026"
    assert parsed.problems == ["text cut at 20 characters (it has 249)"]


def test_oversized_message_is_skipped_and_the_next_one_read(tmp_path):
    big = make_message(subject="Big", body="x" * 5000)
    path = write_mbox(tmp_path / "export.mbox", [big, make_message(subject="Small")])

    parsed, rejected = read(path, limits=Limits(max_message_bytes=4000))

    assert [m.subject for m in parsed] == ["Small"]
    assert rejected == [
        Rejected("export.mbox, message 1", "message larger than 4,000 bytes skipped")
    ]


def test_html_too_deep_to_lay_out_falls_back_to_its_bare_text(tmp_path):
    message = make_message()
    message.set_content("<div>" * 300 + "Deep <b>text</b>" + "</div>" * 300, subtype="html")
    path = tmp_path / "x.eml"
    path.write_bytes(message.as_bytes())

    parsed = read_one(path)

    assert parsed.body == "Deep text"
    assert parsed.problems == ["HTML layout lost; the bare text is shown"]


def test_forwarded_message_is_shown_under_a_forwarded_heading(tmp_path):
    inner = make_message(subject="Original question", body="Can you help?\n")
    outer = make_message(subject="Fwd: Original question", body="See below.\n")
    outer.add_attachment(inner)
    path = tmp_path / "x.eml"
    path.write_bytes(outer.as_bytes())

    parsed = read_one(path)

    assert parsed.body == (
        "See below.\n\n"
        "---------- Forwarded message ----------\n"
        "From: Jane Doe <Jane.Doe@Example.ORG>\n"
        "Date: Tue, 05 Mar 2024 10:15:00 -0500\n"
        "Subject: Original question\n"
        "To: helpdesk@campaign.example\n\n"
        "Can you help?"
    )


# --------------------------------------------------------------------------------------
# Not mail


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"\x89PNG\r\n\x1a\n" + bytes(100), "not an email message (a PNG image)"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "not an email message (a PDF document)"),
        (b"name,email\nJane,jane@example.org\n", "not an email message"),
        (b"", "empty file"),
        (b"\n\n  \n", "empty file"),
        (bytes(range(256)) * 4, "not an email message"),
        (
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(500),
            "not an email message (an Outlook .msg or old Office file)",
        ),
        (b"PK\x03\x04 damaged", "damaged zip archive"),
        (b"\x1f\x8b\x08\x00 damaged", "damaged gzip file; the rest of it was not read"),
    ],
)
def test_files_that_are_not_mail_are_rejected_with_a_reason(tmp_path, content, reason):
    path = tmp_path / "upload.bin"
    path.write_bytes(content)

    assert read(path, display_name="scan.png") == ([], [Rejected("scan.png", reason)])


def test_missing_path_is_rejected_not_raised(tmp_path):
    assert read(tmp_path / "nope.mbox") == (
        [],
        [Rejected("nope.mbox", "could not be read: no such file or directory")],
    )


def test_garbage_between_good_messages_in_an_mbox_is_rejected_alone(tmp_path):
    good = make_message(subject="First").as_bytes()
    also_good = make_message(subject="Third").as_bytes()
    path = tmp_path / "export.mbox"
    path.write_bytes(
        b"From a@example.org Mon Mar  4 11:00:00 2024\n"
        + good
        + b"\nFrom garbage Mon Mar  4 11:00:00 2024\n"
        + bytes(range(256)) * 40
        + b"\n\nFrom b@example.org Mon Mar  4 11:00:00 2024\n"
        + also_good
        + b"\n>From the start, mboxrd escaping is undone.\n"
    )

    parsed, rejected = read(path)

    assert [m.subject for m in parsed] == ["First", "Third"]
    assert (
        parsed[1].body == "We passed it last night.\n\nFrom the start, mboxrd escaping is undone."
    )
    assert rejected == [Rejected("export.mbox, message 2", "not an email message")]
