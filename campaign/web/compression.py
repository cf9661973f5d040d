"""JSON encoded and compressed once, then served to every request that wants it.

The map's data is the largest response the app sends and the same for every viewer of a
scope and filter, so it is compressed when cached instead of on each request: brotli for
browsers (every current one asks for it), gzip for other clients. Brotli at quality 5 is
as quick as gzip here and a little smaller; quality 11 saves another sixth but took 1.8 s
on the national map's data, on the path of the first request after a write.

Each encoding is made when the first request asks for it, not with the JSON: after a
withdrawal every payload is made again at once (figures/cache.py), and browsers ask only
for brotli, scripts and tools only for gzip.
"""

from __future__ import annotations

import gzip
import json
from functools import cached_property

import brotli
from flask import Response, request


class EncodedJSON:
    """The JSON, and each compressed form once asked for (two threads asking at the same
    moment may both compress it: the same bytes, and no lock to hold)."""

    def __init__(self, body: bytes):
        self.body = body

    @cached_property
    def gzipped(self) -> bytes:
        return gzip.compress(self.body, compresslevel=6, mtime=0)

    @cached_property
    def brotli(self) -> bytes:
        return brotli.compress(self.body, quality=5)


def encode_json(payload) -> EncodedJSON:
    return EncodedJSON(json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode())


def json_response(encoded: EncodedJSON) -> Response:
    accepted = request.accept_encodings
    if "br" in accepted:
        body, encoding = encoded.brotli, "br"
    elif "gzip" in accepted:
        body, encoding = encoded.gzipped, "gzip"
    else:
        body, encoding = encoded.body, None
    response = Response(body, mimetype="application/json")
    if encoding:
        response.headers["Content-Encoding"] = encoding
    response.headers["Vary"] = "Accept-Encoding, Cookie"
    response.headers["Cache-Control"] = "private, no-cache"
    return response
