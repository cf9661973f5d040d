"""A process that keeps writing, for tests that need one: `python -m tests.busy_writer URL STOP`.

Each round is one transaction: a jurisdiction, an official in it, and two commitments (each
with its first timeline entry and audit entry), as an official signing up and pledging would
write them. After each commit it prints how many rounds are committed; it stops once the file
STOP exists. Whatever snapshot is taken meanwhile must hold whole rounds only.
"""

from __future__ import annotations

import sys
from datetime import date
from itertools import count
from pathlib import Path

from sqlalchemy import select

from campaign import create_app
from campaign.accounts.operations import create_user
from campaign.catalog.models import Policy
from campaign.commitments.models import Visibility
from campaign.commitments.operations import Pledge, make_commitments
from campaign.extensions import db
from campaign.places.models import Jurisdiction, JurisdictionKind

EMAIL = "writer{}@example.org"


def main(database_uri: str, stop: Path) -> None:
    app = create_app({"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": database_uri})
    with app.app_context():
        policies = list(db.session.scalars(select(Policy).order_by(Policy.id).limit(2)))
        for n in count(1):
            if stop.exists():
                break
            place = Jurisdiction(
                key=f"writer{n}",
                kind=JurisdictionKind.PLACE,
                name=f"Writerville {n}",
                state="MN",
                search_name=f"writerville {n}",
            )
            official = create_user(
                email=EMAIL.format(n),
                name=f"Writer {n}",
                password="correct horse battery",
                jurisdiction=place,
            )
            pledges = [Pledge(p, Visibility.PUBLIC, None, None) for p in policies]
            make_commitments(official, pledges, pledged_on=date(2026, 3, 1))
            db.session.commit()
            print(n, flush=True)


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]))
