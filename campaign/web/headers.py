"""Security headers on every response the app sends: pages, JSON, CSV, static files, errors.

The data is politically sensitive, so the browser is told to run only the app's own scripts
(and the one inline script a page marks with this request's nonce), never to frame the site,
sniff types, send full URLs to other sites, or keep a signed-in person's pages in a cache.

A small module of our own rather than flask-talisman: its last release is from 2023, it has
no Cross-Origin-Opener/Resource-Policy (an open request since 2022), it would also redirect to
HTTPS and rewrite the session cookie settings that config.py already owns, and the rules here
that matter most (no-store only for signed-in people, the basemap host from MAP_TILE_URL, HSTS
behind a counted number of proxies) would be configuration around it anyway.
"""

from __future__ import annotations

import secrets
from functools import lru_cache
from urllib.parse import urlsplit

from flask import Flask, Response, current_app, request
from werkzeug.middleware.proxy_fix import ProxyFix

from campaign.security import has_signed_in_cookie

NONCE_ENVIRON_KEY = "campaign.csp_nonce"
HSTS = "max-age=31536000; includeSubDomains"

# Nothing the app does needs these; an injected script cannot ask for them either.
PERMISSIONS_POLICY = ", ".join(
    f"{feature}=()"
    for feature in (
        "accelerometer",
        "autoplay",
        "camera",
        "display-capture",
        "encrypted-media",
        "fullscreen",
        "geolocation",
        "gyroscope",
        "hid",
        "idle-detection",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "picture-in-picture",
        "publickey-credentials-get",
        "screen-wake-lock",
        "serial",
        "usb",
        "xr-spatial-tracking",
    )
)

STATIC_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    # same-origin, not no-referrer: Flask-WTF refuses an HTTPS form POST without a Referer
    # from this host (WTF_CSRF_SSL_STRICT), and other sites still get no Referer at all.
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": PERMISSIONS_POLICY,
}


def csp_nonce() -> str:
    """This request's nonce for an inline <script> or <style> block, made on first use.

    Kept in the WSGI environ, so it is one per request even when tests share an app context.
    """
    nonce = request.environ.get(NONCE_ENVIRON_KEY)
    if nonce is None:
        nonce = request.environ[NONCE_ENVIRON_KEY] = secrets.token_urlsafe(18)
    return nonce


@lru_cache(maxsize=8)
def tile_source(tile_url: str | None) -> str | None:
    """The CSP source for a Leaflet tile URL template, e.g. `https://*.tiles.example.org`.

    None when there is no basemap or it is served by the app itself ('self' covers it).
    Raises ValueError for a template the policy cannot express, so a typo fails at start-up
    rather than as a blank basemap.
    """
    if not tile_url or (tile_url.startswith("/") and not tile_url.startswith("//")):
        return None
    parts = urlsplit(tile_url)
    host = parts.netloc
    if parts.scheme not in ("http", "https") or not host or "@" in host:
        raise ValueError(f"MAP_TILE_URL must be an http(s) URL template, not {tile_url!r}.")
    first, _, rest = host.partition(".")
    if "{" in first and rest:  # Leaflet's {s} subdomains: a.tiles..., b.tiles...
        host = "*." + rest
    if "{" in host or "}" in host:
        raise ValueError("MAP_TILE_URL may use a placeholder only as its first host label.")
    return f"{parts.scheme}://{host}"


def content_security_policy(nonce: str | None, tile_url: str | None) -> str:
    """The policy: the app's own files, plus inline blocks carrying this request's nonce."""
    own = ["'self'"] + ([f"'nonce-{nonce}'"] if nonce else [])
    images = ["'self'", "data:"]
    tiles = tile_source(tile_url)
    if tiles:
        images.append(tiles)
    directives = {
        "default-src": ["'self'"],
        "script-src": own,
        # Leaflet and adoption-map.js set styles through element.style (CSSOM), which CSP
        # does not govern, so no 'unsafe-inline' is needed for style attributes either.
        "style-src": own,
        "img-src": images,
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        # Nothing here is meant to be embedded, the map included.
        "frame-ancestors": ["'none'"],
    }
    return "; ".join(f"{name} {' '.join(sources)}" for name, sources in directives.items())


def add_security_headers(response: Response) -> Response:
    """after_request: runs for views, static files, redirects and error pages alike."""
    nonce = request.environ.get(NONCE_ENVIRON_KEY)
    response.headers["Content-Security-Policy"] = content_security_policy(
        nonce, current_app.config.get("MAP_TILE_URL")
    )
    for name, value in STATIC_HEADERS.items():
        response.headers.setdefault(name, value)
    if request.is_secure:
        response.headers["Strict-Transport-Security"] = HSTS
    # Static files keep their cache (static_files.py decides it); anything else a signed-in
    # person sees may hold private commitments or contact details.
    if request.endpoint != "static" and has_signed_in_cookie():
        response.headers["Cache-Control"] = "no-store"
    return response


def static_file_headers(config, environ: dict) -> list[tuple[str, str]]:
    """The same headers for a static file, which static_files.py serves before Flask runs."""
    headers = [
        ("Content-Security-Policy", content_security_policy(None, config.get("MAP_TILE_URL"))),
        *STATIC_HEADERS.items(),
    ]
    if environ.get("wsgi.url_scheme") == "https":
        headers.append(("Strict-Transport-Security", HSTS))
    return headers


def trust_proxies(app: Flask) -> None:
    """Behind a TLS-terminating proxy, take the client address and scheme from the last
    PROXY_COUNT X-Forwarded-For/-Proto hops, so request.is_secure (HSTS, CSRF referrer check)
    is true for HTTPS visitors. Host is not taken from X-Forwarded-Host: the proxy must pass
    the original Host header, and a client cannot then steer links in emails elsewhere."""
    count = int(app.config.get("PROXY_COUNT") or 0)
    if count > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count, x_host=0, x_port=0)


def register(app: Flask) -> None:
    """Check the basemap source once, trust the configured proxies, add the headers."""
    tile_source(app.config.get("MAP_TILE_URL"))
    trust_proxies(app)
    app.add_template_global(csp_nonce, "csp_nonce")
    app.after_request(add_security_headers)
