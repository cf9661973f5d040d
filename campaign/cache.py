"""A small in-process cache for aggregates, keyed by a stamp of the data they came from.

Every read asks the database for the stamp (one indexed query), so a write in any worker
process makes every other worker's cached figures stale at once: nothing needs to be told.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import TypeVar

from flask import g, has_app_context
from sqlalchemy import func, select

from campaign.extensions import db

T = TypeVar("T")
_MAX_ENTRIES = 512
_entries: OrderedDict[tuple, object] = OrderedDict()
_lock = threading.Lock()


def data_stamp() -> tuple:
    """Changes whenever a commitment, its timeline or the catalog changes."""
    from campaign.catalog.models import Policy
    from campaign.commitments.models import Commitment, TimelineEntry
    from campaign.places.models import Jurisdiction

    stamp = select(
        select(func.max(Commitment.updated_at)).scalar_subquery(),
        select(func.max(Commitment.id)).scalar_subquery(),
        select(func.max(TimelineEntry.id)).scalar_subquery(),
        select(func.max(Policy.id)).scalar_subquery(),
        select(func.max(Jurisdiction.id)).scalar_subquery(),
    )
    return (db.engine.url.render_as_string(), *db.session.execute(stamp).one())


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
