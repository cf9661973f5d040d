"""What the latest lists say about one jurisdiction, for the official who serves it.

An official committed to end 287(g) sees on "My commitments" whether ICE's latest list has
an agreement in their jurisdiction (or its county: a city's residents are also the county
sheriff's), which agency, which model and when it was signed, and the list's date. The
lists are public, so this shows nothing of anyone's commitments.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from campaign.commitments.models import Commitment
from campaign.extensions import db
from campaign.layers.models import LayerAgreement, LayerSnapshot, LayerStatus, ReferenceLayer
from campaign.places.models import Jurisdiction


@dataclass
class Listed:
    agency: str
    support_type: str
    signed_on: date | None
    place: str  # the jurisdiction's label: theirs, or their county's
    status: LayerStatus
    ended_on: date | None  # the first list that no longer had it


@dataclass
class LayerFacts:
    layer: ReferenceLayer
    as_of: date | None  # the latest participating list
    pending_as_of: date | None
    listed: list[Listed] = field(default_factory=list)

    @property
    def current(self) -> list[Listed]:
        return [
            x for x in self.listed if x.ended_on is None and x.status == LayerStatus.PARTICIPATING
        ]

    @property
    def pending(self) -> list[Listed]:
        return [x for x in self.listed if x.ended_on is None and x.status == LayerStatus.PENDING]

    @property
    def ended(self) -> list[Listed]:
        return [x for x in self.listed if x.ended_on is not None]


def facts_for(commitments: list[Commitment]) -> dict[int, list[LayerFacts]]:
    """{commitment id: what each layer of its policy says about its jurisdiction}."""
    policy_ids = {c.policy_id for c in commitments}
    if not policy_ids:
        return {}
    layers = list(
        db.session.scalars(
            select(ReferenceLayer)
            .where(ReferenceLayer.policy_id.in_(policy_ids))
            .order_by(ReferenceLayer.name)
        )
    )
    if not layers:
        return {}
    layer_ids = [layer.id for layer in layers]
    dates = {
        (layer_id, status): as_of
        for layer_id, status, as_of in db.session.execute(
            select(LayerSnapshot.layer_id, LayerSnapshot.status, func.max(LayerSnapshot.as_of))
            .where(LayerSnapshot.layer_id.in_(layer_ids))
            .group_by(LayerSnapshot.layer_id, LayerSnapshot.status)
        )
    }
    places: dict[int, list[Jurisdiction]] = {}
    for c in commitments:
        own = c.jurisdiction
        places[c.id] = [own] if own is not None else []
    county_keys = {j.county_key for ps in places.values() for j in ps if j.county_key}
    counties = {
        j.key: j
        for j in db.session.scalars(select(Jurisdiction).where(Jurisdiction.key.in_(county_keys)))
    } if county_keys else {}  # fmt: skip
    for ps in places.values():
        if ps and ps[0].county_key in counties:
            ps.append(counties[ps[0].county_key])
    ids = {j.id for ps in places.values() for j in ps}
    ended = aliased(LayerSnapshot)
    rows = db.session.execute(
        select(LayerAgreement, ended.as_of)
        .outerjoin(ended, ended.id == LayerAgreement.ended_snapshot_id)
        .where(LayerAgreement.layer_id.in_(layer_ids), LayerAgreement.jurisdiction_id.in_(ids))
        .order_by(LayerAgreement.status, LayerAgreement.agency, LayerAgreement.support_type)
    ).all() if ids else []  # fmt: skip
    result: dict[int, list[LayerFacts]] = {}
    for c in commitments:
        here = {j.id: j for j in places[c.id]}
        found = []
        for layer in layers:
            if layer.policy_id != c.policy_id:
                continue
            facts = LayerFacts(
                layer,
                dates.get((layer.id, LayerStatus.PARTICIPATING)),
                dates.get((layer.id, LayerStatus.PENDING)),
            )
            for agreement, ended_on in rows:
                if agreement.layer_id == layer.id and agreement.jurisdiction_id in here:
                    facts.listed.append(
                        Listed(
                            agreement.agency,
                            agreement.support_type,
                            agreement.signed_on,
                            here[agreement.jurisdiction_id].label,
                            agreement.status,
                            ended_on,
                        )
                    )
            found.append(facts)
        if found:
            result[c.id] = found
    return result
