"""JSON encoded and gzipped once, then served to every request that wants it.

The map's data is the largest response the app sends and the same for every viewer of a
scope and filter, so it is compressed when cached instead of on each request.
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass

from flask import Response, request


@dataclass(frozen=True)
class EncodedJSON:
    body: bytes
    gzipped: bytes


def encode_json(payload) -> EncodedJSON:
    body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
    return EncodedJSON(body, gzip.compress(body, compresslevel=6, mtime=0))


def json_response(encoded: EncodedJSON) -> Response:
    wants_gzip = "gzip" in request.accept_encodings
    response = Response(
        encoded.gzipped if wants_gzip else encoded.body, mimetype="application/json"
    )
    if wants_gzip:
        response.headers["Content-Encoding"] = "gzip"
    response.headers["Vary"] = "Accept-Encoding, Cookie"
    response.headers["Cache-Control"] = "private, no-cache"
    return response
