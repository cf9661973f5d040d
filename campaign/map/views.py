"""The adoption map page, its data, popups and exports."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, jsonify, render_template, request, url_for
from flask_login import current_user

from campaign.commitments.aggregates import cached_jurisdiction_figures
from campaign.commitments.filters import filter_from_request, render_filter_form
from campaign.commitments.visibility import aggregate_scope
from campaign.figures.cache import cached
from campaign.layers import mapdata as layers
from campaign.map.data import (
    EXPORT_HEADER,
    SORT_KEYS,
    export_rows,
    jurisdiction_detail,
    map_payload,
    paginate,
    sort_summaries,
)
from campaign.map.encoding import encode_payload
from campaign.map.rendering import build_map
from campaign.web.compression import encode_json, json_response
from campaign.web.exports import csv_response, geojson_response, point_feature

bp = Blueprint("map", __name__, url_prefix="/map")
PAGE_SIZE = 50


def _summaries(flt, scope):
    return cached_jurisdiction_figures(flt, scope).summaries


def _table_page(flt, scope, args):
    sort = request.args.get("sort", "commitments")
    sort = sort if sort in SORT_KEYS else "commitments"
    descending = request.args.get("dir", "desc") != "asc"
    ordered = cached(
        ("map-table", scope, flt.cache_key, sort, descending),
        lambda: sort_summaries(_summaries(flt, scope), sort=sort, descending=descending),
        unaffected_by=flt.unaffected_by,
    )
    return paginate(ordered, page=request.args.get("page", "1"), page_size=PAGE_SIZE)


@bp.route("/")
def page():
    flt, form = filter_from_request(request.args)
    scope = aggregate_scope(current_user)
    args = flt.query_args()
    table = _table_page(flt, scope, args)
    # The folium map holds no figures (they come from data.json), so no write makes it stale.
    rendered = cached(
        ("map-folium", tuple(sorted(args.items())), request.script_root),
        lambda: build_map(
            data_url=url_for("map.data", **args),
            detail_url=url_for("map.detail", key="__KEY__", **args),
        ),
        stamp=(
            "map-folium",
            current_app.config.get("MAP_TILE_URL"),
            current_app.config.get("MAP_TILE_ATTRIBUTION"),
        ),
    )
    map_layers = layers.map_layers()
    layer = layers.requested_layer(request.args.get("layer"), map_layers)
    return render_template(
        "map/page.html",
        map_layers=map_layers,
        layer=layer,
        layer_places=layers.by_key(layer) if layer else {},
        filter_html=render_filter_form(form, flt, url_for("map.page")),
        flt=flt,
        args=args,
        table=table,
        total_jurisdictions=table.total,
        total_commitments=table.commitments,
        rendered=rendered,
    )


@bp.route("/data.json")
def data():
    flt, _form = filter_from_request(request.args)
    scope = aggregate_scope(current_user)
    encoded = cached(
        ("map-payload", scope, flt.cache_key),
        lambda: encode_json(encode_payload(map_payload(cached_jurisdiction_figures(flt, scope)))),
        unaffected_by=flt.unaffected_by,
    )
    return json_response(encoded)


@bp.route("/jurisdictions/<key>.json")
def detail(key: str):
    flt, _form = filter_from_request(request.args)
    if not key.isascii() or not key.isalnum() or len(key) > 40:
        abort(404)
    found = jurisdiction_detail(key, flt, aggregate_scope(current_user))
    if found is None:
        abort(404)
    return jsonify(found)


@bp.route("/export.csv")
def export_csv():
    flt, _form = filter_from_request(request.args)
    summaries = _summaries(flt, aggregate_scope(current_user))
    header, rows = _with_layer(EXPORT_HEADER, summaries, export_rows(summaries))
    return csv_response("adoption.csv", header, rows)


@bp.route("/export.geojson")
def export_geojson():
    flt, _form = filter_from_request(request.args)
    summaries = _summaries(flt, aggregate_scope(current_user))
    header, rows = _with_layer(EXPORT_HEADER, summaries, export_rows(summaries))
    features = (
        point_feature(s.longitude, s.latitude, dict(zip(header, row, strict=True)), s.key)
        for s, row in zip(summaries, rows, strict=True)
    )
    return geojson_response("adoption.geojson", features)


def _with_layer(header, summaries, rows):
    """`layer=` adds that reference layer's columns (layers/mapdata.py) to an export."""
    layer = layers.requested_layer(request.args.get("layer"), layers.map_layers())
    if layer is None:
        return header, rows
    extra = layers.export_values(layer, [s.key for s in summaries])
    combined = (list(row) + more for row, more in zip(rows, extra, strict=True))
    return [*header, *layers.export_columns(layer)], combined
