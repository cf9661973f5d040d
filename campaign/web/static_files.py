"""Static files served as a production server would: precompressed, and kept for good by
browsers when their URL names their content.

WhiteNoise answers /static/ ahead of Flask. It sends the brotli or gzip copy made at build
time (`make install` runs `python -m whitenoise.compress static`, which writes `x.js.br`
and `x.js.gz` beside `x.js` with the same modification time) to a browser that accepts it,
with ETag, Last-Modified, ranges and HEAD. What WhiteNoise cannot know is decided here:

- *Cache lifetime by URL.* Pages link static files as `?v=<content hash>` (templating.py);
  such a URL names one content forever, so it is `immutable` for a year. The same path
  without that version, or with an old one, is revalidated (`no-cache`), so a stale copy is
  never kept.
- *A compressed copy older than its file is not sent.* An edited script with yesterday's
  `.br` beside it is served uncompressed until `make install` compresses it again.
- *The security headers* (headers.py) on every file, as Flask's `after_request` adds them to
  everything else; WhiteNoise answers before Flask runs.

Nothing is read from disk when the app is created: production lists the folder once, on
the first request; development and tests look files up per request, so edits show at once.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable, Iterable
from functools import lru_cache
from pathlib import Path
from urllib.parse import parse_qs

from flask import Flask
from whitenoise import WhiteNoise

IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"


@lru_cache(maxsize=512)
def _hash(path: str, mtime_ns: int, size: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        digest.update(handle.read())
    return digest.hexdigest()[:12]


def content_version(path: Path | str) -> str | None:
    """The version a static URL carries: the start of the file's SHA-256, or None if absent.

    Hashed again only when the file's size or modification time changes."""
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return _hash(str(path), stat.st_mtime_ns, stat.st_size)


class StaticFiles(WhiteNoise):
    """WhiteNoise for one folder, with the app's cache and security rules (see the module)."""

    def __init__(
        self,
        application,
        root: Path,
        prefix: str,
        *,
        watch_files: bool,
        headers: Callable[[dict], Iterable[tuple[str, str]]],
    ):
        super().__init__(
            application, autorefresh=watch_files, max_age=None, allow_all_origins=False
        )
        self.root = Path(root)
        self.prefix = "/" + prefix.strip("/") + "/"
        self.security_headers = headers
        self._scan_lock = threading.Lock()
        self._scanned = False
        if watch_files:
            self.add_files(str(self.root), self.prefix)

    def __call__(self, environ, start_response):
        if not self.autorefresh and not self._scanned:
            with self._scan_lock:
                if not self._scanned:
                    self.add_files(str(self.root), self.prefix)
                    self._scanned = True
        return super().__call__(environ, start_response)

    def get_static_file(self, path, url, stat_cache=None):
        static_file = super().get_static_file(path, url, stat_cache=stat_cache)
        stat = os.stat if stat_cache is None else stat_cache.__getitem__
        mtime = stat(path).st_mtime
        static_file.alternatives = [
            alternative
            for alternative in static_file.alternatives
            if alternative[1] == path or stat(alternative[1]).st_mtime == mtime
        ]
        return static_file

    def serve(self, static_file, environ, start_response):
        path = environ.get("PATH_INFO", "")
        asked = parse_qs(environ.get("QUERY_STRING", "")).get("v", [None])[0]
        current = content_version(self.root / path[len(self.prefix) :])
        cache_control = IMMUTABLE if asked is not None and asked == current else REVALIDATE

        def start(status, headers, exc_info=None):
            headers = [(k, v) for k, v in headers if k.lower() != "cache-control"]
            headers.append(("Cache-Control", cache_control))
            headers.extend(self.security_headers(environ))
            return start_response(status, headers, exc_info)

        return WhiteNoise.serve(static_file, environ, start)


def register(app: Flask) -> None:
    """Serve app.static_folder through StaticFiles; Flask's own static route stays for
    url_for and answers only what no file matches (a 404 page).

    Must run before headers.register, so that ProxyFix wraps this and the scheme (for HSTS)
    is the visitor's."""
    from campaign.web.headers import static_file_headers

    watch_files = app.debug or app.config.get("ENV_NAME") in ("development", "testing")
    app.wsgi_app = StaticFiles(
        app.wsgi_app,
        Path(app.static_folder or ""),
        app.static_url_path or "/static",
        watch_files=watch_files,
        headers=lambda environ: static_file_headers(app.config, environ),
    )
