"""Threads: replies grouped through Message-ID, In-Reply-To and References."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Protocol


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
