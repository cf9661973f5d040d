"""A layer on the map: its jurisdictions for the overlay, and its columns in the exports.

The lists are public, so this reads only the layer's own tables: nothing here depends on
who is looking or says anything about commitments. A jurisdiction is *listed* while the
latest list has an agreement there, *ended* when every agreement it had is no longer listed,
and *pending* when only the pending list names it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from campaign.extensions import db
from campaign.layers.models import LayerAgreement, LayerSnapshot, LayerStatus, ReferenceLayer
from campaign.places.models import Jurisdiction, JurisdictionKind

LISTED, ENDED, PENDING = "listed", "ended", "pending"
STATUS_LABELS = {
    LISTED: "Agreement listed",
    ENDED: "No longer listed",
    PENDING: "Agreement pending",
}


@dataclass
class LayerPlace:
    jurisdiction: Jurisdiction
    status: str = PENDING
    models: list[str] = field(default_factory=list)
    agencies: list[str] = field(default_factory=list)
    signed_on: date | None = None
    ended_on: date | None = None

    @property
    def status_label(self) -> str:
        if self.status == ENDED and self.ended_on:
            return f"No longer listed since {self.ended_on.isoformat()}"
        return STATUS_LABELS[self.status]


def map_layers() -> list[ReferenceLayer]:
    """Every layer with a list imported, for the map's switches."""
    return list(
        db.session.scalars(
            select(ReferenceLayer)
            .where(ReferenceLayer.id.in_(select(LayerSnapshot.layer_id)))
            .order_by(ReferenceLayer.name)
        )
    )


def requested_layer(slug: str | None, layers: list[ReferenceLayer]) -> ReferenceLayer | None:
    """The layer named by `layer=` in the URL, if it is one of `layers`; else none."""
    return next((layer for layer in layers if layer.slug == slug), None) if slug else None


def layer_by_slug(slug: str) -> ReferenceLayer | None:
    return db.session.scalar(select(ReferenceLayer).where(ReferenceLayer.slug == slug))


def latest_dates(layer: ReferenceLayer) -> dict[LayerStatus, date]:
    rows = db.session.execute(
        select(LayerSnapshot.status, func.max(LayerSnapshot.as_of))
        .where(LayerSnapshot.layer_id == layer.id)
        .group_by(LayerSnapshot.status)
    )
    return dict(rows.all())


def layer_places(layer: ReferenceLayer) -> dict[int, LayerPlace]:
    """{jurisdiction id: what the layer says there}, in one query."""
    ended = aliased(LayerSnapshot)
    rows = db.session.execute(
        select(LayerAgreement, Jurisdiction, ended.as_of)
        .join(Jurisdiction, Jurisdiction.id == LayerAgreement.jurisdiction_id)
        .outerjoin(ended, ended.id == LayerAgreement.ended_snapshot_id)
        .where(LayerAgreement.layer_id == layer.id)
        .order_by(LayerAgreement.agency, LayerAgreement.support_type)
    ).all()
    found: dict[int, list[tuple[str, LayerAgreement, date | None]]] = {}
    jurisdictions: dict[int, Jurisdiction] = {}
    for agreement, jurisdiction, ended_on in rows:
        if agreement.status == LayerStatus.PENDING:
            if ended_on is not None:
                continue  # no longer pending: signed (and so on the other list) or dropped
            status = PENDING
        else:
            status = LISTED if ended_on is None else ENDED
        jurisdictions[jurisdiction.id] = jurisdiction
        found.setdefault(jurisdiction.id, []).append((status, agreement, ended_on))
    places: dict[int, LayerPlace] = {}
    for jurisdiction_id, entries in found.items():
        status = next(s for s in (LISTED, ENDED, PENDING) if any(e[0] == s for e in entries))
        place = LayerPlace(jurisdictions[jurisdiction_id], status)
        for entry_status, agreement, ended_on in entries:
            if entry_status != status:
                continue
            if agreement.support_type and agreement.support_type not in place.models:
                place.models.append(agreement.support_type)
            if agreement.agency not in place.agencies:
                place.agencies.append(agreement.agency)
            if agreement.signed_on and (
                place.signed_on is None or agreement.signed_on > place.signed_on
            ):
                place.signed_on = agreement.signed_on
            if ended_on and (place.ended_on is None or ended_on > place.ended_on):
                place.ended_on = ended_on
        places[jurisdiction_id] = place
    return places


def fips_of(jurisdiction: Jurisdiction) -> str | None:
    """States and counties are keyed by their Census FIPS code; places are not."""
    if jurisdiction.kind in (JurisdictionKind.STATE, JurisdictionKind.COUNTY):
        return jurisdiction.key
    return None


def layer_payload(layer: ReferenceLayer) -> dict:
    """The public JSON of a layer for the map's overlay."""
    dates = latest_dates(layer)
    places = sorted(
        layer_places(layer).values(),
        key=lambda p: (p.jurisdiction.state, p.jurisdiction.name),
    )
    return {
        "layer": {
            "slug": layer.slug,
            "name": layer.name,
            "policy": layer.policy.short_title,
            "source": layer.source_note,
            "as_of": _iso(dates.get(LayerStatus.PARTICIPATING)),
            "pending_as_of": _iso(dates.get(LayerStatus.PENDING)),
        },
        "statuses": STATUS_LABELS,
        "jurisdictions": [
            {
                "key": p.jurisdiction.key,
                "fips": fips_of(p.jurisdiction),
                "label": p.jurisdiction.label,
                "kind": p.jurisdiction.kind.label,
                "state": p.jurisdiction.state,
                "lat": p.jurisdiction.latitude,
                "lon": p.jurisdiction.longitude,
                "status": p.status,
                "status_label": p.status_label,
                "models": p.models,
                "agencies": p.agencies,
                "signed_on": _iso(p.signed_on),
                "ended_on": _iso(p.ended_on),
            }
            for p in places
        ],
    }


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value else None


def export_columns(layer: ReferenceLayer) -> list[str]:
    prefix = layer.slug.replace("-", "_")
    return [f"{prefix}_status", f"{prefix}_models", f"{prefix}_agencies", f"{prefix}_as_of"]


def by_key(layer: ReferenceLayer) -> dict[str, LayerPlace]:
    return {p.jurisdiction.key: p for p in layer_places(layer).values()}


def export_values(layer: ReferenceLayer, keys: list[str]) -> list[list]:
    """The layer's columns for export rows, in the order of their jurisdiction keys."""
    found = by_key(layer)
    as_of = _iso(latest_dates(layer).get(LayerStatus.PARTICIPATING)) or ""
    rows = []
    for key in keys:
        place = found.get(key)
        if place is None:
            rows.append(["not listed", "", "", as_of])
        else:
            rows.append(
                [place.status_label, "; ".join(place.models), "; ".join(place.agencies), as_of]
            )
    return rows
