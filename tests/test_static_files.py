"""Static files as a production server sends them: precompressed, kept for good when their
URL names their content, revalidated otherwise, and with the security headers."""

from __future__ import annotations

import gzip
import os
import re
from pathlib import Path

import brotli
import pytest
from werkzeug.test import Client
from werkzeug.wrappers import Response

from campaign.web.static_files import IMMUTABLE, StaticFiles, content_version
from tests.test_security_headers import assert_security_headers

STATIC = Path(__file__).resolve().parents[1] / "static"
COUNTIES = "vendor/us-atlas/counties-10m.json"


def fetch(client, url: str, **kwargs):
    """A response read whole and closed (a file response holds its file open until then)."""
    method = kwargs.pop("method", "get")
    with getattr(client, method)(url, **kwargs) as response:
        response.get_data()
    return response


def versioned_url(client, filename: str) -> str:
    """The URL the map page itself links for a static file."""
    html = client.get("/map/").get_data(as_text=True)
    found = re.search(rf'"(/static/{re.escape(filename)}\?v=[0-9a-f]{{12}})"', html)
    assert found, f"/map/ does not link {filename}"
    return found.group(1)


def test_a_browser_that_accepts_brotli_gets_the_precompressed_file(client):
    url = versioned_url(client, "js/adoption-map.js")
    response = fetch(client, url, headers={"Accept-Encoding": "gzip, deflate, br"})
    assert response.status_code == 200
    assert response.headers["Content-Encoding"] == "br"
    assert response.headers["Vary"] == "Accept-Encoding"
    assert response.mimetype == "text/javascript"
    original = (STATIC / "js/adoption-map.js").read_bytes()
    assert brotli.decompress(response.data) == original
    assert int(response.headers["Content-Length"]) < len(original) / 2


def test_gzip_only_and_plain_clients_get_what_they_can_read(client):
    url = f"/static/{COUNTIES}?v={content_version(STATIC / COUNTIES)}"
    original = (STATIC / COUNTIES).read_bytes()
    gzipped = fetch(client, url, headers={"Accept-Encoding": "gzip"})
    assert gzipped.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(gzipped.data) == original
    plain = fetch(client, url, headers={"Accept-Encoding": "identity"})
    assert "Content-Encoding" not in plain.headers
    assert plain.data == original


def test_versioned_urls_are_immutable_and_carry_the_security_headers(client):
    response = fetch(client, versioned_url(client, "css/app.css"))
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == IMMUTABLE
    assert_security_headers(response)


@pytest.mark.parametrize("query", ["", "?v=000000000000", "?v="])
def test_a_url_without_the_current_version_is_revalidated(client, query):
    response = fetch(client, f"/static/css/app.css{query}")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-cache"
    assert_security_headers(response)
    again = fetch(
        client, f"/static/css/app.css{query}", headers={"If-None-Match": response.headers["ETag"]}
    )
    assert again.status_code == 304
    assert again.headers["Cache-Control"] == "no-cache"
    assert again.data == b""


def test_static_files_get_hsts_over_https(client):
    response = fetch(client, "/static/css/app.css", base_url="https://campaign.example.org")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")


def test_a_missing_or_escaping_static_path_is_the_apps_404_page(client):
    for path in ("/static/nope.js", "/static/../campaign/config.py", "/static/%2e%2e/wsgi.py"):
        response = fetch(client, path)
        assert response.status_code == 404, path
        assert_security_headers(response)


def test_only_get_and_head_are_answered(client):
    assert fetch(client, "/static/css/app.css", method="head").status_code == 200
    assert fetch(client, "/static/css/app.css", method="post").status_code == 405


def not_found(environ, start_response):
    return Response("not here", status=404)(environ, start_response)


def compress_beside(path: Path) -> None:
    """What `python -m whitenoise.compress` writes: .br and .gz with the file's mtime."""
    data = path.read_bytes()
    stat = path.stat()
    for suffix, packed in ((".br", brotli.compress(data)), (".gz", gzip.compress(data))):
        target = path.with_name(path.name + suffix)
        target.write_bytes(packed)
        os.utime(target, ns=(stat.st_atime_ns, stat.st_mtime_ns))


@pytest.mark.parametrize("watch_files", [True, False])
def test_a_compressed_copy_older_than_its_file_is_not_sent(tmp_path, watch_files):
    script = tmp_path / "app.js"
    script.write_text("console.log('first version');" * 50)
    compress_beside(script)
    script.write_text("console.log('edited, not compressed again');" * 50)
    os.utime(script, ns=(0, script.stat().st_mtime_ns + 10**9))
    served = StaticFiles(
        not_found, tmp_path, "/static", watch_files=watch_files, headers=lambda environ: []
    )
    response = fetch(Client(served), "/static/app.js", headers={"Accept-Encoding": "br, gzip"})
    assert "Content-Encoding" not in response.headers
    assert response.get_data(as_text=True).startswith("console.log('edited")


def test_production_lists_the_folder_on_first_request_not_before(tmp_path):
    served = StaticFiles(not_found, tmp_path, "/static", watch_files=False, headers=lambda e: [])
    (tmp_path / "late.css").write_text("body { color: black; }")  # after the app was built
    assert fetch(Client(served), "/static/late.css").status_code == 200
    (tmp_path / "later.css").write_text("p {}")  # production does not look again
    assert fetch(Client(served), "/static/later.css").status_code == 404


def test_the_build_compressed_every_static_file_it_should():
    """`make install` runs the compression; a file edited since needs it again."""
    stale = []
    for path in STATIC.rglob("*"):
        if not path.is_file() or path.suffix in (".br", ".gz", ".png"):
            continue
        for suffix in (".br", ".gz"):
            copy = path.with_name(path.name + suffix)
            small = path.stat().st_size < 1024  # skipped when compression gains little
            if not copy.exists() and small:
                continue
            if not copy.exists() or copy.stat().st_mtime != path.stat().st_mtime:
                stale.append(str(copy.relative_to(STATIC)))
    assert stale == [], f"run `make install` to compress these again: {stale}"
