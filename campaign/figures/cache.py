"""A small in-process cache for aggregates, keyed by stamps of the data they came from.

Every request reads the stamps (one query, see revision.py), so a write in any worker
process reaches every other worker's cached figures: nothing needs to be told.

- A write that may hide something (the *hiding revision* moves) makes every cached value
  unusable at once: a commitment made private never lingers on the public map. A figure
  that says which hiding writes leave it exact (`unaffected_by`: a filter that covers none
  of a withdrawal's footprint, revision.py) is carried over such writes instead; one that
  can be made exact after them more cheaply than computed again (`patch`: the map's
  figures read again only the jurisdictions the withdrawals were in) is patched.
- A write that only adds or moves counts (progress reports, new commitments) may be shown
  up to AGGREGATE_MAX_LAG_SECONDS late. Past REFRESH_AT of that age, a stale value is served
  while one background thread per process recomputes it; past the full age it is
  recomputed before answering, by one request while the others still get the stale value
  (so figures lag by at most AGGREGATE_MAX_LAG_SECONDS plus one computation). With
  officials reporting continuously, each figure is then computed about once per lag per
  process instead of after every write.
- The person who made a write always sees figures at least as new as it (revision.py keeps
  their revision in their session), whatever the lag.
- Concurrent requests for the same missing value wait for one computation.
- A value computed from other cached values (the map's data from its figures) reuses them
  while they are younger than REFRESH_AT of the lag, and is stored as old as the oldest of
  them: computing it does not compute them again, and it is never newer than its parts.
- Nothing recomputes a figure nobody asks for. A background keeper that refreshed every
  figure asked for recently, ahead of the next request, was measured with `make loadtest`
  on and off (docs/performance.md, 2026-12-04) and did not pay: the same CPU per request
  and p95 within the runs' noise. It was removed with the state it needed.

With AGGREGATE_MAX_LAG_SECONDS = 0 (the testing config) every write shows at once.
"""

from __future__ import annotations

import contextvars
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import NamedTuple, Protocol, TypeVar

from flask import (
    copy_current_request_context,
    current_app,
    g,
    has_app_context,
    has_request_context,
)

from campaign.extensions import db

T = TypeVar("T")
_MAX_ENTRIES = 512
# A figure older than this fraction of the lag is recomputed in the background when asked
# for: late enough that under steady writes each figure is computed about once per lag (at
# half the lag, it was twice), early enough that a recomputation (under 2 s at national
# size) ends within it.
REFRESH_AT = 0.75


class Stamp(NamedTuple):
    database: str
    hiding: int
    revision: int


@dataclass(frozen=True)
class _Entry:
    value: object
    revision: int
    computed_at: float  # time.monotonic() when its computation started


_entries: OrderedDict[tuple, _Entry] = OrderedDict()
_lock = threading.Lock()
_computing: dict[tuple, list] = {}  # key -> [lock, holders and waiters]
_refreshing: dict[tuple, Future] = {}
_refresher: ThreadPoolExecutor | None = None


@dataclass
class _Build:
    """A value being computed: what its parts must reach, and the oldest part it used."""

    floor: int  # parts must be at least this new (the reader's own writes)
    revision: int  # the lowest revision among its parts so far
    computed_at: float  # the earliest computation among its parts so far


_building: contextvars.ContextVar[_Build | None] = contextvars.ContextVar(
    "campaign_cache_building", default=None
)


class Revisions(Protocol):
    revision: int
    hiding: int


Footprints = list[dict]
# How far back a figure is looked for to carry over hiding writes that left it exact.
CARRY_OVER_SPAN = 32


@dataclass(frozen=True)
class _Source:
    """Where the cache reads how new the data is, given at init_app (revision.py)."""

    current: Callable[[], Revisions]  # both counters of the data, now
    seen: Callable[[], int]  # the revision the reader's own latest write reached
    # Where the hiding writes after one hiding revision up to another took something away,
    # or None if any of them may have taken anything.
    hiding_since: Callable[[int, int], Footprints | None]


def init_app(
    app,
    *,
    current: Callable[[], Revisions],
    seen: Callable[[], int],
    hiding_since: Callable[[int, int], Footprints | None],
) -> None:
    """Tell the cache how to read the data's counters, the reader's own latest write and
    where hiding writes took something away."""
    app.extensions["campaign_cache"] = _Source(current, seen, hiding_since)


def _source() -> _Source:
    return current_app.extensions["campaign_cache"]


def data_stamp() -> Stamp:
    """Changes whenever anything an aggregate is built from changes (see revision.py)."""
    revisions = _source().current()
    return Stamp(db.engine.url.render_as_string(), revisions.hiding, revisions.revision)


def request_stamp() -> Stamp:
    """The data stamp, read once per request however many cached figures the page uses."""
    if not has_app_context():
        return data_stamp()
    if "campaign_data_stamp" not in g:
        g.campaign_data_stamp = data_stamp()
    return g.campaign_data_stamp


def cached(
    key: tuple,
    compute: Callable[[], T],
    stamp: tuple | None = None,
    *,
    own_writes_may_lag: bool = False,
    unaffected_by: Callable[[Footprints], bool] | None = None,
    patch: Callable[[T, Footprints], T | None] | None = None,
) -> T:
    """The value for `key`, computed at most once per data stamp (within the allowed lag).

    An explicit `stamp` replaces the data stamp for values that do not come from the data.
    `own_writes_may_lag`: the reader's own writes may lag too (for a figure beside exact
    ones, such as a list's length beside the list). `unaffected_by`: whether hiding writes
    with these footprints leave the value exact (a filter's unaffected_by); the value
    computed before them is then used as if computed after (still subject to the lag).
    `patch`: the value before such hiding writes made exact after them, when that is much
    cheaper than computing it (None if it cannot be): for a figure they do affect.
    """
    if stamp is not None:
        return _cached_exactly((stamp, *key), compute)
    now = request_stamp()
    full_key = (now.database, now.hiding, *key)
    # A part of a value being computed must reach what that value must (unless it may lag
    # anyway), and is not served stale past REFRESH_AT: it is recomputed as part of the
    # value, which is stored as old as its oldest part (a queue page holding a stale length
    # was otherwise stored as current and kept that length until the data next changed).
    build = _building.get()
    if own_writes_may_lag:
        floor = 0
    elif build is not None:
        floor = build.floor
    else:
        # Never older than the reader's own latest write (capped: a rolled-back write's
        # number may not exist yet).
        floor = min(_source().seen(), now.revision)
    lag = max_lag()
    entry = _get(full_key)
    if entry is None and unaffected_by is not None:
        entry = _carry_over(now, full_key, unaffected_by, patch)
    if entry is not None and entry.revision >= floor:
        age = time.monotonic() - entry.computed_at
        if entry.revision >= now.revision or age < lag * REFRESH_AT:
            return _used(entry, build)
        if build is None and age < lag:
            _refresh_later(full_key, key, compute)
            return entry.value  # type: ignore[return-value]
        if build is None and _under_way(full_key):
            # Past the lag, but its recomputation is under way: one person waits for it,
            # not every thread of the process (which would stall every other page).
            return entry.value  # type: ignore[return-value]
    with _computing_lock(full_key):
        # Another thread may have computed it while this one waited: take it if it is new
        # enough by the same rule, or every waiter would recompute in turn while writes
        # keep moving the revision past what the one before it computed.
        entry = _get(full_key)
        if _new_enough(entry, floor, now.revision, lag * REFRESH_AT if build else lag):
            return _used(entry, build)  # type: ignore[arg-type]
        return _used(_compute(full_key, compute, now.revision, floor), build)


def clear() -> None:
    with _lock:
        _entries.clear()


def wait_for_refreshes(timeout: float = 30) -> None:
    """Block until background recomputations started so far have finished (for tests)."""
    with _lock:
        pending = list(_refreshing.values())
    for future in pending:
        future.result(timeout=timeout)


def _carry_over(
    now: Stamp,
    full_key: tuple,
    unaffected_by: Callable[[Footprints], bool],
    patch: Callable[[object, Footprints], object | None] | None,
) -> _Entry | None:
    """The newest value for `full_key`'s figure from before the latest hiding writes, stored
    under `full_key` (now's hiding revision) if those writes left it exact, or patched to be
    (as old as it was for every other write); otherwise None."""
    database, _hiding, *key = full_key
    for hiding in range(now.hiding - 1, max(now.hiding - CARRY_OVER_SPAN, 0) - 1, -1):
        older = _get((database, hiding, *key))
        if older is None:
            continue
        footprints = _source().hiding_since(hiding, now.hiding)
        if footprints is None:
            return None
        if unaffected_by(footprints):
            return _store_once(full_key, older)
        if patch is None:
            return None
        with _computing_lock(full_key):
            entry = _get(full_key)
            if entry is not None:
                return entry
            value = patch(older.value, footprints)
            if value is None:
                return None
            return _store_once(full_key, _Entry(value, older.revision, older.computed_at))
    return None


def _store_once(full_key: tuple, entry: _Entry) -> _Entry:
    with _lock:
        return _entries.setdefault(full_key, entry)


def _new_enough(entry: _Entry | None, floor: int, revision: int, lag: float) -> bool:
    """At least `floor`, and either current or computed less than `lag` seconds ago."""
    if entry is None or entry.revision < floor:
        return False
    return entry.revision >= revision or time.monotonic() - entry.computed_at < lag


def _under_way(full_key: tuple) -> bool:
    with _lock:
        return full_key in _computing or full_key in _refreshing


def max_lag() -> float:
    """How late figures may be (AGGREGATE_MAX_LAG_SECONDS); 0 outside an app."""
    if not has_app_context():
        return 0.0
    return float(current_app.config.get("AGGREGATE_MAX_LAG_SECONDS", 0))


def _get(full_key: tuple) -> _Entry | None:
    with _lock:
        entry = _entries.get(full_key)
        if entry is not None:
            _entries.move_to_end(full_key)
        return entry


def _used(entry: _Entry, build: _Build | None):
    """The entry's value; a value being built from it becomes at most as new as it."""
    if build is not None:
        build.revision = min(build.revision, entry.revision)
        build.computed_at = min(build.computed_at, entry.computed_at)
    return entry.value


def _compute(full_key: tuple, compute: Callable[[], object], revision: int, floor: int) -> _Entry:
    """Compute and store a value, as of `revision` or of its oldest cached part."""
    build = _Build(floor=floor, revision=revision, computed_at=time.monotonic())
    token = _building.set(build)
    try:
        value = compute()
    finally:
        _building.reset(token)
    entry = _Entry(value, build.revision, build.computed_at)
    with _lock:
        known = _entries.get(full_key)
        if known is None or known.revision <= entry.revision:
            _entries[full_key] = entry
        _entries.move_to_end(full_key)
        while len(_entries) > _MAX_ENTRIES:
            _entries.popitem(last=False)
    return entry


def _cached_exactly(full_key: tuple, compute: Callable[[], T]) -> T:
    entry = _get(full_key)
    if entry is not None:
        return entry.value  # type: ignore[return-value]
    with _computing_lock(full_key):
        entry = _get(full_key)
        if entry is not None:
            return entry.value  # type: ignore[return-value]
        return _compute(full_key, compute, 0, 0).value  # type: ignore[return-value]


class _computing_lock:
    """One computation per key at a time; the lock goes when nobody holds or awaits it."""

    def __init__(self, full_key: tuple):
        self.full_key = full_key

    def __enter__(self):
        with _lock:
            holder = _computing.setdefault(self.full_key, [threading.Lock(), 0])
            holder[1] += 1
        self.holder = holder
        holder[0].acquire()

    def __exit__(self, *exc):
        with _lock:
            self.holder[0].release()
            self.holder[1] -= 1
            if self.holder[1] == 0:
                del _computing[self.full_key]


def _refresh_later(full_key: tuple, key: tuple, compute: Callable[[], object]) -> None:
    """Recompute in this process's one background thread, unless already under way. If the
    executor refuses work (the interpreter is shutting down), the stale value simply stays."""
    global _refresher
    if not has_request_context():
        return
    run = copy_current_request_context(_refresh_now)
    with _lock:
        if full_key in _refreshing:
            return
        if _refresher is None:
            _refresher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="figures")
        try:
            future = _refresher.submit(run, key, compute)
        except RuntimeError:
            return
        _refreshing[full_key] = future
    future.add_done_callback(lambda _f: _forget_refresh(full_key))


def _forget_refresh(full_key: tuple) -> None:
    with _lock:
        _refreshing.pop(full_key, None)


def _refresh_now(key: tuple, compute: Callable[[], object]) -> None:
    try:
        checked_at = time.monotonic()
        now = data_stamp()
        g.campaign_data_stamp = now
        full_key = (now.database, now.hiding, *key)
        with _computing_lock(full_key):
            entry = _get(full_key)
            if entry is None or (
                # Not if another thread computed it while this one waited for the lock.
                entry.revision < now.revision
                and checked_at - entry.computed_at >= max_lag() * REFRESH_AT
            ):
                _compute(full_key, compute, now.revision, 0)
            elif entry.revision >= now.revision and entry.computed_at < checked_at:
                # Nothing changed: the value is as good as one computed now.
                with _lock:
                    if _entries.get(full_key) is entry:
                        _entries[full_key] = _Entry(entry.value, entry.revision, checked_at)
    except Exception:
        # The stale value stays; the next request past the lag computes it itself.
        current_app.logger.exception("Recomputing cached figures %r failed", key)
        db.session.rollback()
