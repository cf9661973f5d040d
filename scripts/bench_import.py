"""Time a 10,000-row spreadsheet import: reading, the dry run, the import, and a re-import.

    make bench                                   # runs this after the page benchmark
    .venv/bin/python scripts/bench_import.py [--rows 10000] [--database-url URL]

The sheet is generated from the real gazetteer: officials in random counties and places,
named as people write them ("Saint Paul, MN" as "St. Paul" + "MINNESOTA", trailing spaces),
one to five policies each, every stage, and a few rows that must fail. The target is an
import "well under a minute"; the second import must create nothing.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import random
import re
import sys
import tempfile
import time
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import func, select, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from campaign import create_app
from campaign.config import database_url
from campaign.extensions import db
from campaign.places.matching import STATES

STAGES = ["pledged", "Introduced", "PASSED", "implemented", "on hold", "withdrawn", ""]


def make_sheet(rows: int, seed: int = 7) -> bytes:
    from campaign.catalog.models import Policy
    from campaign.places.models import Jurisdiction, JurisdictionKind

    rng = random.Random(seed)  # noqa: S311 - synthetic data, not secrets
    places = db.session.execute(
        select(Jurisdiction.name, Jurisdiction.state, Jurisdiction.key).where(
            Jurisdiction.kind.in_([JurisdictionKind.COUNTY, JurisdictionKind.PLACE]),
            Jurisdiction.population > 20_000,
        )
    ).all()
    policies = [p.short_title for p in db.session.scalars(select(Policy))]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["Name", "Email", "Office", "Jurisdiction", "State", "Policy", "Status",
                     "Date pledged", "Last update", "Notes"])  # fmt: skip
    written, n = 0, 0
    while written < rows:
        n += 1
        name, state, _key = rng.choice(places)
        shown_state = rng.choice([state, STATES[state].upper(), STATES[state]])
        shown_name = name.replace("Saint ", "St. ") + rng.choice(["", " "])
        for policy in rng.sample(policies, rng.randint(1, 5)):
            if written >= rows:
                break
            pledged = date(2025, 1, 1) + timedelta(days=rng.randint(0, 300))
            later = pledged + timedelta(days=rng.randint(0, 200))
            email = f"official{n}@example.org" if rng.random() > 0.002 else "not an email"
            last = min(later, date(2025, 12, 31)).isoformat()
            stage = rng.choice(STAGES)
            writer.writerow([f"Official {n}", email, "Council Member", shown_name, shown_state,
                             policy, stage, pledged.isoformat(), last, "sheet"])  # fmt: skip
            written += 1
    return out.getvalue().encode("utf-8-sig")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", ""))
    parser.add_argument("--rows", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = database_url(args.database_url or None, tmp)
        app = create_app({"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": url})
        with app.app_context():
            if db.engine.dialect.name == "postgresql":
                with db.engine.begin() as conn:
                    conn.execute(text("DROP SCHEMA public CASCADE"))
                    conn.execute(text("CREATE SCHEMA public"))
            from flask_migrate import upgrade

            upgrade(directory=str(Path(__file__).resolve().parent.parent / "migrations"))
            from campaign.accounts.operations import create_user
            from campaign.accounts.roles import Role
            from campaign.catalog.operations import seed_catalog
            from campaign.commitments.models import Commitment
            from campaign.imports.models import ImportBatch, ImportKind, ImportStatus
            from campaign.imports.sheets import Action, apply_plan, plan_rows, store_sheet
            from campaign.imports.spreadsheet import guess_mapping, read_sheet
            from campaign.places.gazetteer import load_gazetteer

            seed_catalog()
            load_gazetteer()
            staff = create_user(
                email="bench-staff@example.org", name="Bench Staff", password=None,
                role=Role.STAFF,
            )  # fmt: skip
            db.session.commit()
            data = make_sheet(args.rows)
            timings = []
            for attempt in ("first import", "same file again"):
                started = time.perf_counter()
                sheet = read_sheet(data, "bench.csv")
                read_s = time.perf_counter() - started
                mapping = guess_mapping(sheet.headers)
                started = time.perf_counter()
                plan = plan_rows(sheet, mapping)
                plan_s = time.perf_counter() - started
                batch = ImportBatch(
                    kind=ImportKind.SPREADSHEET, status=ImportStatus.PENDING,
                    filename="bench.csv", sha256="-", size=len(data), uploaded_by=staff,
                    mapping_json=json.dumps(mapping),
                )  # fmt: skip
                store_sheet(batch, sheet)
                db.session.add(batch)
                db.session.commit()
                started = time.perf_counter()
                applied = apply_plan(batch, staff)
                db.session.commit()
                apply_s = time.perf_counter() - started
                counts = applied.counts
                timings.append((attempt, read_s, plan_s, apply_s, counts, plan.counts))
                if attempt == "first import":
                    reasons = Counter(
                        re.sub(r"“[^”]*”", "“…”", row.reason)
                        for row in plan.rows
                        if row.action in (Action.FAIL, Action.CHOOSE)
                    )
            total = db.session.scalar(select(func.count(Commitment.id)))
            db.engine.dispose()
    dialect = url.split(":", 1)[0]
    print(f"\n{dialect}, a {args.rows:,}-row CSV ({len(data) / 1024:.0f} KiB)\n")
    print("| run | read s | dry run s | import s | created | updated | skipped | not imported |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for attempt, read_s, plan_s, apply_s, counts, _planned in timings:
        print(
            f"| {attempt} | {read_s:.2f} | {plan_s:.2f} | {apply_s:.2f} | "
            f"{counts[Action.CREATE]:,} | {counts[Action.UPDATE]:,} | {counts[Action.SKIP]:,} | "
            f"{counts[Action.CHOOSE] + counts[Action.FAIL]:,} |"
        )
    print(f"\ncommitments in the database afterwards: {total:,}")
    print("rows not imported, by reason:")
    for reason, n in reasons.most_common(6):
        print(f"  {n:5,}  {reason}")


if __name__ == "__main__":
    main()
