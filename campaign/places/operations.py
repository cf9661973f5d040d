"""Adding local bodies the gazetteer does not list (school districts, boards, authorities)."""

from __future__ import annotations

import secrets

from sqlalchemy import select

from campaign.extensions import db
from campaign.places.matching import normalize_name
from campaign.places.models import ENTERED_KEY_PREFIX, Jurisdiction, JurisdictionKind


def add_local_body(
    *, name: str, kind: JurisdictionKind, state: str, near: Jurisdiction | None
) -> Jurisdiction:
    """An unconfirmed jurisdiction entered by an official, placed at its nearest place.

    If the same body was already entered in that state (same normalised name and kind), that
    row is reused, so two board members of one district end up in one jurisdiction.
    """
    search_name = normalize_name(name)
    existing = db.session.scalar(
        select(Jurisdiction).where(
            Jurisdiction.search_name == search_name,
            Jurisdiction.state == state,
            Jurisdiction.kind == kind,
        )
    )
    if existing is not None:
        return existing
    body = Jurisdiction(
        key=ENTERED_KEY_PREFIX + secrets.token_hex(8),
        kind=kind,
        name=" ".join(name.split()),
        state=state,
        near=near,
        county_key=near.county_key if near else None,
        latitude=near.latitude if near else None,
        longitude=near.longitude if near else None,
        search_name=search_name,
        confirmed=False,
    )
    db.session.add(body)
    db.session.flush()
    return body
