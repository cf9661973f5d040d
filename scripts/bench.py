"""Benchmark the pages organizers open, at national scale, beside the framework's floor.

    make bench                       # SQLite in a temporary folder
    make bench BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test

Builds a campaign of 20,000 jurisdictions and 100,000 commitments with the demo generator,
then requests each page in-process (Flask's test client, so the figures are server time
without network), and prints median and p95 time, bytes sent and SQL queries per request.
"Cold" is the first request after a write (caches empty); "warm" is every request after it.
Results are printed as a Markdown table to paste into docs/performance.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import event, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from campaign import create_app
from campaign.config import database_url
from campaign.extensions import db
from campaign.figures import cache

PAGES = [
    ("floor: /healthz", "/healthz"),
    ("map page", "/map/"),
    ("map data", "/map/data.json"),
    ("map data, filtered", "/map/data.json?stage=passed&state=CA"),
    ("dashboard", "/dashboard/"),
    ("dashboard, filtered", "/dashboard/?policy=robust-sanctuary-policies&stage=introduced"),
]


def build(url: str, jurisdictions: int, commitments: int, reuse: bool = False):
    app = create_app({"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        if reuse:
            return app
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
        from flask_migrate import upgrade

        upgrade(directory=str(Path(__file__).resolve().parent.parent / "migrations"))
        from campaign.accounts.operations import create_user
        from campaign.accounts.roles import Role
        from campaign.catalog.operations import seed_catalog
        from campaign.demo import generate_demo_campaign
        from campaign.places.gazetteer import load_gazetteer

        started = time.perf_counter()
        seed_catalog()
        load_gazetteer()
        made = generate_demo_campaign(jurisdictions=jurisdictions, commitments=commitments)
        create_user(
            email="bench@example.org",
            name="Bench Organizer",
            password="bench password 1",  # noqa: S106 - a throwaway benchmark account
            role=Role.ORGANIZER,
        )
        db.session.commit()
        # Fresh planner statistics, as autovacuum (PostgreSQL) or `PRAGMA optimize` would
        # leave them on a live database; without them a bulk load gets poor plans.
        with db.engine.begin() as conn:
            conn.execute(text("ANALYZE"))
        print(f"built {made} in {time.perf_counter() - started:.1f}s", file=sys.stderr)
    return app


def measure(app, path: str, repeat: int) -> dict:
    client = app.test_client()
    client.post("/login", data={"email": "bench@example.org", "password": "bench password 1"})
    queries = []

    def count(*_args, **_kwargs):
        queries[-1] += 1

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        cache.clear()
        queries.append(0)
        started = time.perf_counter()
        response = client.get(path)
        cold = time.perf_counter() - started
        assert response.status_code == 200, (path, response.status_code)
        timings = []
        for _ in range(repeat):
            queries.append(0)
            started = time.perf_counter()
            response = client.get(path)
            timings.append(time.perf_counter() - started)
        compressed = client.get(path, headers={"Accept-Encoding": "gzip"})
    finally:
        event.remove(engine, "before_cursor_execute", count)
    timings.sort()
    return {
        "cold_ms": cold * 1000,
        "median_ms": statistics.median(timings) * 1000,
        "p95_ms": timings[max(0, int(len(timings) * 0.95) - 1)] * 1000,
        "bytes": len(response.data),
        "wire_bytes": len(compressed.data),
        "queries": queries[-1],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", ""))
    parser.add_argument("--jurisdictions", type=int, default=20_000)
    parser.add_argument("--commitments", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument(
        "--reuse", action="store_true", help="Measure an already built --database-url."
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = database_url(args.database_url or None, tmp)
        app = build(url, args.jurisdictions, args.commitments, reuse=args.reuse)
        dialect = url.split(":", 1)[0]
        results = [(name, measure(app, path, args.repeat)) for name, path in PAGES]
        with app.app_context():
            db.engine.dispose()
    floor = results[0][1]["median_ms"]
    print(
        f"\n{dialect}, {args.jurisdictions:,} jurisdictions, {args.commitments:,} commitments, "
        f"{args.repeat} warm requests each\n"
    )
    print(
        "| page | cold ms | warm median ms | warm p95 ms | × floor (median) | bytes "
        "| bytes with gzip | queries |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, r in results:
        print(
            f"| {name} | {r['cold_ms']:.1f} | {r['median_ms']:.2f} | {r['p95_ms']:.2f} | "
            f"{r['median_ms'] / floor:.1f} | {r['bytes']:,} | {r['wire_bytes']:,} | "
            f"{r['queries']} |"
        )


if __name__ == "__main__":
    main()
