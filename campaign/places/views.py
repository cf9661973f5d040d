"""Type-ahead for the jurisdiction picker. Gazetteer data is public, so no login needed."""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from campaign.places.search import search_jurisdictions

bp = Blueprint("places", __name__, url_prefix="/places")


@bp.route("/search")
def search():
    query = request.args.get("q", "")[:100]
    matches = search_jurisdictions(query, limit=10) if len(query.strip()) >= 2 else []
    return jsonify(
        results=[
            {
                "key": m.jurisdiction.key,
                "label": m.jurisdiction.label,
                "description": m.description,
            }
            for m in matches
        ]
    )
