"""Throttling of the doors a password guesser or a mail bomber knocks on.

Sign-in, sign-up and password reset are limited per account (the normalised email in the
form, so an unknown address counts exactly like a known one and nothing tells them apart) and
per client address (`request.remote_addr`; behind a reverse proxy, configure werkzeug's
ProxyFix or every visitor shares the proxy's address). Flask-Limiter keeps the counts in Redis
when `RATELIMIT_STORAGE_URI` or `REDIS_URL` is set, so every worker process shares them;
without it each process counts alone in memory, and start-up logs a warning saying so.

When Redis stops answering mid-run, Flask-Limiter logs it and keeps counting in this process's
memory until Redis is back (it retries with a growing pause, 32 s at most). So an outage
neither locks everyone out nor opens the door wide: a guesser gets at most the limit once per
worker. Any other storage error is logged and the request goes through; nobody sees a 500.

The limiter is built per app (Flask-Limiter keeps its storage on the extension object, so a
module-level one would be shared by every app a test run creates), and wraps the views it is
given after the blueprints are registered. Which views, and whom each counts, is decided by
the feature that owns them (accounts/throttles.py): this module is the mechanism only.
"""

from __future__ import annotations

import ipaddress
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from flask import Flask, Response, current_app, render_template, request
from flask_limiter import Limiter, RateLimitExceeded
from limits import parse_many

log = logging.getLogger(__name__)
EXTENSION_KEY = "campaign.web.throttle"
PAUSED_KEY = "campaign.web.throttle.paused"
# A Redis that stops answering must not hold a request for long.
REDIS_OPTIONS = {"socket_timeout": 0.5, "socket_connect_timeout": 0.5}


def client_address() -> str:
    """The client's address; IPv6 clients by /64, since one host usually holds a whole /64."""
    raw = request.remote_addr or "unknown"
    try:
        address = ipaddress.ip_address(raw)
    except ValueError:
        return raw
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def refused(response: Response) -> bool:
    """A failed attempt: the form came back with errors, or a link was refused.

    A 429 is not counted again, so waiting out the pause is enough.
    """
    return response.status_code >= 400 and response.status_code != 429


@dataclass(frozen=True)
class Throttle:
    """One limit on one view: which setting holds it, whom it counts and what counts."""

    endpoint: str
    setting: str
    key: Callable[[], str]
    # Views that share a scope share a count (sign-in and password change both guess passwords).
    scope: str
    counts: Callable[[Response], bool] | None  # None: every request counts
    methods: tuple[str, ...] = ("POST",)


def init_app(
    app: Flask, throttles: tuple[Throttle, ...], paused: dict[str, str] | None = None
) -> Limiter:
    """Build this app's limiter and wrap the throttled views. No I/O: Redis connects lazily.

    `paused` says, per view, what its 429 page tells the person who was stopped."""
    config = app.config
    for setting in dict.fromkeys(t.setting for t in throttles):
        try:
            if config[setting]:
                parse_many(config[setting])
        except ValueError as error:
            raise ValueError(
                f"{setting}={config[setting]!r} is not a rate limit like '10 per 15 minutes'."
            ) from error
    uri = config.get("RATELIMIT_STORAGE_URI") or "memory://"
    shared = not uri.startswith("memory://")
    limiter = Limiter(
        key_func=client_address,
        storage_uri=uri,
        storage_options=dict(REDIS_OPTIONS) if uri.startswith(("redis", "rediss")) else {},
        strategy=config["RATELIMIT_STRATEGY"],
        key_prefix=config["RATELIMIT_KEY_PREFIX"],
        swallow_errors=True,
        in_memory_fallback_enabled=True,
        headers_enabled=False,
        enabled=config["RATELIMIT_ENABLED"],
    )
    limiter.init_app(app)
    app.extensions[EXTENSION_KEY] = limiter
    app.extensions[PAUSED_KEY] = dict(paused or {})
    if not limiter.enabled:
        return limiter
    if not shared:
        app.logger.warning(
            "Rate limits are counted in this process's memory: each worker counts alone and "
            "a restart forgets. Set RATELIMIT_STORAGE_URI=redis://host:6379/0 to share them."
        )
    for throttle in throttles:
        view = app.view_functions[throttle.endpoint]
        app.view_functions[throttle.endpoint] = limiter.shared_limit(
            _setting(throttle.setting),
            scope=throttle.scope,
            key_func=throttle.key,
            methods=list(throttle.methods),
            deduct_when=throttle.counts,
        )(view)
    app.register_error_handler(RateLimitExceeded, _too_many)
    return limiter


def _setting(name: str) -> Callable[[], str]:
    return lambda: current_app.config[name]


def _too_many(error: RateLimitExceeded) -> Response:
    """A page saying how long to wait, with Retry-After; never an error of its own."""
    wait = _seconds_until_reset(error)
    minutes = max(1, math.ceil(wait / 60))
    body = render_template(
        "errors/429.html",
        reason=current_app.extensions[PAUSED_KEY].get(
            request.endpoint or "", "There have been too many attempts."
        ),
        minutes=minutes,
        endpoint=request.endpoint,
    )
    response = current_app.make_response((body, 429))
    response.headers["Retry-After"] = str(wait)
    response.headers["Cache-Control"] = "no-store"
    return response


def _seconds_until_reset(error: RateLimitExceeded) -> int:
    limiter: Limiter = current_app.extensions[EXTENSION_KEY]
    fallback = int(error.limit.limit.get_expiry())
    try:
        breached = limiter.current_limit
        if breached is None:
            return fallback
        return max(1, math.ceil(breached.window.reset_time - time.time()))
    except Exception:  # the store failed between the check and this page: say the full window
        log.exception("Could not read when the rate limit resets")
        return fallback


def storage_status(app: Flask) -> dict[str, object]:
    """Where the counts live and whether they are shared, for /healthz and `flask rate-limits`.

    Asks Redis with a ping: call it from a health check or a command, not on every request.
    """
    limiter: Limiter = app.extensions[EXTENSION_KEY]
    if not limiter.enabled:
        return {"enabled": False}
    uri = app.config.get("RATELIMIT_STORAGE_URI") or "memory://"
    if uri.startswith("memory://"):
        return {"enabled": True, "storage": "memory", "shared": False}
    reachable = bool(limiter.storage.check())
    return {
        "enabled": True,
        "storage": _redacted(uri),
        "shared": reachable,
        "reachable": reachable,
    }


def _redacted(uri: str) -> str:
    parts = urlsplit(uri)
    if parts.password:
        host = parts.hostname or ""
        netloc = f"***@{host}" + (f":{parts.port}" if parts.port else "")
        parts = parts._replace(netloc=netloc)
    return urlunsplit(parts)
