"""A small in-process cache for aggregates, keyed by a stamp of the data they came from.

Every request reads the stamp (one single-row query), so a write in any worker process makes
every other worker's cached figures stale at once: nothing needs to be told.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import TypeVar

from flask import g, has_app_context

from campaign.extensions import db

T = TypeVar("T")
_MAX_ENTRIES = 512
_entries: OrderedDict[tuple, object] = OrderedDict()
_lock = threading.Lock()


def data_stamp() -> tuple:
    """Changes whenever anything an aggregate is built from changes (see revision.py)."""
    from campaign import revision

    return (db.engine.url.render_as_string(), revision.current())


def request_stamp() -> tuple:
    """The data stamp, read once per request however many cached figures the page uses."""
    if not has_app_context():
        return data_stamp()
    if "campaign_data_stamp" not in g:
        g.campaign_data_stamp = data_stamp()
    return g.campaign_data_stamp


def cached(key: tuple, compute: Callable[[], T], stamp: tuple | None = None) -> T:
    """The value for `key` at the current data stamp, computing it at most once per stamp."""
    full_key = (stamp if stamp is not None else request_stamp(), *key)
    with _lock:
        if full_key in _entries:
            _entries.move_to_end(full_key)
            return _entries[full_key]  # type: ignore[return-value]
    value = compute()
    with _lock:
        _entries[full_key] = value
        while len(_entries) > _MAX_ENTRIES:
            _entries.popitem(last=False)
    return value


def clear() -> None:
    with _lock:
        _entries.clear()
