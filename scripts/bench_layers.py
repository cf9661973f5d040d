"""Time placing ICE's 287(g) lists on the gazetteer: a ~900-row list, dry run and import.

    make bench                                   # runs this after the other benchmarks
    .venv/bin/python scripts/bench_layers.py [--rows 900] [--database-url URL] [--data DIR]

The list is ICE's real participating list of 2025-05-16 (571 rows) and pending list of
2025-05-15 (92 rows), topped up to `--rows` with county sheriffs' offices drawn from the
gazetteer, written as ICE writes them ("Sheriff’s Office", capitals, trailing spaces). The
target is "well under a minute"; the same list imported again must change nothing.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from sqlalchemy import func, select, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from campaign import create_app
from campaign.config import database_url
from campaign.extensions import db
from campaign.places.matching import STATES

DATA = Path(os.environ.get("ICE_287G_DATA", "/work/shared/data/ice-287g"))
MODELS = ["Jail Enforcement Model", "Warrant Service Officer", "Task Force Model"]


def make_sheet(rows: int, data: Path, seed: int = 7):
    from campaign.imports.spreadsheet import Sheet, read_sheet
    from campaign.places.models import Jurisdiction, JurisdictionKind

    real = read_sheet((data / "participating-agencies-2025-05-16.xlsx").read_bytes(), "p.xlsx")
    pending = read_sheet((data / "pending-agencies-2025-05-15.xlsx").read_bytes(), "q.xlsx")
    width = len(real.headers)
    body = [cells for _n, cells in real.rows]
    body += [(cells + [""] * width)[:width] for _n, cells in pending.rows]
    rng = random.Random(seed)  # noqa: S311 - synthetic data, not secrets
    counties = db.session.execute(
        select(Jurisdiction.name, Jurisdiction.state).where(
            Jurisdiction.kind == JurisdictionKind.COUNTY
        )
    ).all()
    while len(body) < rows:
        name, state = rng.choice(counties)
        apostrophe = rng.choice(["'", "’", ""])
        body.append(
            [STATES[state].upper(), f"{name} Sheriff{apostrophe}s Office" + rng.choice(["", " "]),
             "County", name, rng.choice(MODELS), "2025-03-01", "link", *[""] * (width - 7)]
        )  # fmt: skip
    return Sheet(real.headers, [(n, cells) for n, cells in enumerate(body[:rows], start=2)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", ""))
    parser.add_argument("--rows", type=int, default=900)
    parser.add_argument("--data", type=Path, default=DATA)
    args = parser.parse_args()
    if not (args.data / "participating-agencies-2025-05-16.xlsx").exists():
        print(f"bench_layers: ICE's lists are not in {args.data} (--data DIR); skipped.")
        return
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
            from campaign.catalog.models import Policy
            from campaign.catalog.operations import seed_catalog
            from campaign.layers.models import LayerAgreement, LayerStatus
            from campaign.layers.placement import Placement
            from campaign.layers.snapshots import (
                apply_snapshot,
                get_or_create_layer,
                guess_layer_mapping,
                plan_snapshot,
            )
            from campaign.places.gazetteer import load_gazetteer

            seed_catalog()
            load_gazetteer()
            policy = db.session.scalar(
                select(Policy).where(Policy.slug == "end-287g-and-task-forces")
            )
            layer = get_or_create_layer("287(g) agreements", policy)
            db.session.commit()
            sheet = make_sheet(args.rows, args.data)
            mapping = guess_layer_mapping(sheet.headers)
            on = date(2025, 5, 16)
            timings = []
            for attempt in ("first import", "same list again"):
                started = time.perf_counter()
                plan = plan_snapshot(layer, LayerStatus.PARTICIPATING, on, sheet, mapping)
                plan_s = time.perf_counter() - started
                started = time.perf_counter()
                applied = apply_snapshot(
                    layer, LayerStatus.PARTICIPATING, on, sheet, mapping, None, None
                )
                db.session.commit()
                apply_s = time.perf_counter() - started
                timings.append((attempt, plan_s, apply_s, plan, applied))
            total = db.session.scalar(select(func.count(LayerAgreement.id)))
            db.engine.dispose()
    dialect = url.split(":", 1)[0]
    print(f"\n{dialect}, placing a {args.rows:,}-row 287(g) list\n")
    print("| run | dry run s | import s | placed | need a choice | unplaced | new | changed |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    for attempt, plan_s, apply_s, plan, applied in timings:
        counts = plan.placement_counts
        print(
            f"| {attempt} | {plan_s:.2f} | {apply_s:.2f} | {counts[Placement.PLACED]:,} "
            f"({plan.placed_share:.1%}) | {counts[Placement.CHOOSE]} | "
            f"{counts[Placement.UNPLACED]} | {applied.created:,} | "
            f"{'nothing' if applied.changed_nothing else 'yes'} |"
        )
    print(f"\nagreements in the database afterwards: {total:,}")


if __name__ == "__main__":
    main()
