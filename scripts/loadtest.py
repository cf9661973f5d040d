"""Load-test the app as deployed: gunicorn, production config, a national-size campaign.

    make loadtest                                                       # SQLite
    make loadtest LOADTEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/loadtest

1. Builds a campaign with the demo generator (20,000 jurisdictions, 100,000 commitments by
   default) plus the accounts the simulated people sign in with (demo.add_load_test_accounts),
   and keeps it: a SQLite file under instance/loadtest/ named for its parameters, or the
   PostgreSQL database marked with them in its comment. A later run with the same
   parameters, schema and generator reuses it (`--rebuild` builds afresh). SQLite runs work
   on a copy, so every run starts from the same data; PostgreSQL runs on a copy too (a
   database `<name>_run` made from the kept one as a template).
2. Serves it with gunicorn (gunicorn.conf.py) on a free loopback port with
   CAMPAIGN_ENV=production, a generated SECRET_KEY and CSRF on, mail suppressed.
3. Runs locust headless (scripts/locustfile.py): officials, organizers and staff at work,
   50 people by default, for a warm-up whose figures are dropped and then a measured period.
4. Prints per page: requests, requests per second, median and p95 latency and errors, as a
   Markdown table for docs/performance.md, and the server's error log lines if any.
   Exits 1 if any request failed or the server logged an error.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import re
import secrets
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402

from campaign import create_app  # noqa: E402
from campaign.config import database_url  # noqa: E402
from campaign.extensions import db  # noqa: E402

PASSWORD = "load test password 1"  # noqa: S105 - throwaway accounts in a throwaway campaign
# The staff accounts' authenticator key: production asks staff for a code after the password.
SECOND_FACTOR_SECRET = "LOADTESTSTAFFKEYLOADTESTSTAFFKEY"  # noqa: S105 - as above
CACHE_DIR = ROOT / "instance" / "loadtest"
BIN = Path(sys.executable).parent
TARGET_P95_MS = 500

# The server's environment: the production config, on plain http over loopback.
# Rate limits are left as configured: every simulated person connects from an address of
# their own (see the locustfile), so per-address limits never see more than one person.
SERVER_ENV = {
    "CAMPAIGN_ENV": "production",
    "SESSION_COOKIE_SECURE": "0",
    "MAIL_SUPPRESS_SEND": "1",
    "PUBLIC_URL": "http://127.0.0.1",
}
STATES = ("CA", "TX", "NY", "FL", "IL", "PA", "OH", "MI", "WA", "NC")
QUEUE_FILTERS = (
    "owner=all",
    "owner=unassigned",
    "owner=all&stage=pledged",
    "owner=all&stage=introduced",
    "owner=unassigned&state={state}",
    "owner=all&state={state}",
    "owner=all&policy={policy}",
)


def fingerprint(args) -> str:
    """Names a built campaign: its parameters, the schema and the generator's code."""
    digest = hashlib.sha256()
    for path in sorted((ROOT / "migrations" / "versions").glob("*.py")):
        digest.update(path.name.encode())
    for path in (ROOT / "campaign" / "demo.py", ROOT / "campaign" / "places" / "data"):
        files = sorted(path.rglob("*")) if path.is_dir() else [path]
        for f in files:
            if f.is_file():
                digest.update(f.read_bytes())
    return (
        f"j{args.jurisdictions}-c{args.commitments}-a{args.accounts}-o{args.official_accounts}-"
        f"s{args.seed}-"
        f"{digest.hexdigest()[:12]}"
    )


def build(url: str, args) -> None:
    """Schema, catalog, gazetteer, the demo campaign and the load-test accounts."""
    from flask_migrate import upgrade

    from campaign.catalog.operations import seed_catalog
    from campaign.demo import add_load_test_accounts, generate_demo_campaign
    from campaign.places.gazetteer import load_gazetteer

    app = _app(url)
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
        upgrade(directory=str(ROOT / "migrations"))
        started = time.perf_counter()
        seed_catalog()
        load_gazetteer()
        made = generate_demo_campaign(
            jurisdictions=args.jurisdictions, commitments=args.commitments, seed=args.seed
        )
        add_load_test_accounts(
            officials=args.official_accounts, organizers=args.accounts, staff=args.accounts,
            password=PASSWORD, second_factor_secret=SECOND_FACTOR_SECRET,
        )  # fmt: skip
        db.session.commit()
        # Fresh planner statistics (and on PostgreSQL the visibility map index-only scans
        # need), as autovacuum or `PRAGMA optimize` leave on a live database.
        if db.engine.dialect.name == "postgresql":
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM ANALYZE"))
        else:
            with db.engine.begin() as conn:
                conn.execute(text("ANALYZE"))
        sqlite_file = db.engine.url.database if db.engine.dialect.name == "sqlite" else None
        db.engine.dispose()
    if sqlite_file:
        # Fold the WAL into the file that later runs copy; outside any transaction (the app's
        # engine begins one for every statement).
        with contextlib.closing(sqlite3.connect(sqlite_file, isolation_level=None)) as raw:
            raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    log(f"built {made} in {time.perf_counter() - started:.0f}s")


def prepare(url: str, args, cache_dir: Path = CACHE_DIR) -> str:
    """The database URL to serve: the kept campaign (built if missing), or a copy of it.

    A SQLite campaign is kept in `cache_dir` (one at a time: a build removes older ones);
    scripts/bench_browser.py keeps its own there."""
    key = fingerprint(args)
    if url.startswith("sqlite:///"):
        cache_dir.mkdir(parents=True, exist_ok=True)
        kept = cache_dir / f"campaign-{key}.sqlite3"
        if args.rebuild or not kept.exists():
            for old in cache_dir.glob("campaign-*.sqlite3*"):
                old.unlink()
            building = kept.with_suffix(".building")
            for suffix in ("", "-wal", "-shm"):
                Path(f"{building}{suffix}").unlink(missing_ok=True)
            log(f"building the campaign into {kept.name} (kept for later runs)...")
            build(f"sqlite:///{building}", args)
            building.rename(kept)
        else:
            log(f"reusing {kept.relative_to(ROOT)} (--rebuild to build afresh)")
        working = cache_dir / "run.sqlite3"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{working}{suffix}").unlink(missing_ok=True)
        shutil.copyfile(kept, working)
        return f"sqlite:///{working}"
    marker = f"campaign loadtest {key}"
    app = _app(url)
    with app.app_context():
        comment = db.session.scalar(
            text(
                "SELECT shobj_description(oid, 'pg_database') FROM pg_database "
                "WHERE datname = current_database()"
            )
        )
        db.session.rollback()
        db.engine.dispose()
    if args.rebuild or comment != marker:
        log("building the campaign in the PostgreSQL database (kept for later runs)...")
        build(url, args)
        with app.app_context():
            with db.engine.begin() as conn:
                name = conn.scalar(text("SELECT current_database()"))
                conn.execute(text(f"COMMENT ON DATABASE \"{name}\" IS '{marker}'"))
            db.engine.dispose()
    else:
        log("reusing the campaign already built in this database (--rebuild to build afresh)")
    return working_copy(url)


def working_copy(url: str) -> str:
    """A fresh copy of the kept PostgreSQL campaign (CREATE DATABASE ... TEMPLATE), so every
    run starts from the same data, as SQLite runs do: runs that accumulated each other's
    updates measured ever longer timelines on the same few commitments."""
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    kept = make_url(url)
    copy = f"{kept.database}_run"
    engine = create_engine(kept.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{copy}"'))
        conn.execute(text(f'CREATE DATABASE "{copy}" TEMPLATE "{kept.database}"'))
    engine.dispose()
    log(f"serving a copy of it: {copy}")
    return kept.set(database=copy).render_as_string(hide_password=False)


def accounts_file(url: str, args, folder: Path) -> Path:
    """What the locustfile needs: who signs in, and which filters people use."""
    from campaign.catalog.models import Policy

    app = _app(url)
    with app.app_context():
        slugs = list(db.session.scalars(db.select(Policy.slug).order_by(Policy.id)))
        db.session.rollback()
        db.engine.dispose()
    filters = [f"state={s}" for s in STATES[:4]]
    filters += [f"policy={slug}" for slug in slugs[:4]]
    filters += ["stage=passed", "stage=implemented&state=CA", "hostile=1"]
    filters += [f"policy={slugs[0]}&stage=introduced"]
    queue_filters = [
        q.format(state=STATES[i % len(STATES)], policy=slugs[i % len(slugs)])
        for i, q in enumerate(QUEUE_FILTERS)
    ]
    path = folder / "accounts.json"
    path.write_text(
        json.dumps(
            {
                "password": PASSWORD,
                "second_factor_secret": SECOND_FACTOR_SECRET,
                "official": [
                    f"load-official-{n}@example.org" for n in range(args.official_accounts)
                ],
                "organizer": [f"load-organizer-{n}@example.org" for n in range(args.accounts)],
                "staff": [f"load-staff-{n}@example.org" for n in range(args.accounts)],
                "filters": filters,
                "queue_filters": queue_filters,
            }
        )
    )
    return path


def serve(url: str, folder: Path, args) -> tuple[subprocess.Popen, str, Path]:
    """gunicorn on a port the OS picks; returns the process, its address and its log."""
    server_log = folder / "gunicorn.log"
    env = {
        **os.environ,
        **SERVER_ENV,
        "SECRET_KEY": secrets.token_hex(32),
        "DATABASE_URL": url,
    }
    command = [str(BIN / "gunicorn"), "-c", str(ROOT / "gunicorn.conf.py"), "--bind", "127.0.0.1:0"]
    if args.workers:
        command += ["--workers", str(args.workers)]
    if args.threads:
        command += ["--threads", str(args.threads)]
    command.append("wsgi:app")
    with open(server_log, "w") as out:
        server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=out)  # noqa: S603
    deadline = time.monotonic() + 60
    address = None
    while time.monotonic() < deadline and server.poll() is None:
        found = re.search(r"Listening at: (http://127\.0\.0\.1:\d+)", server_log.read_text())
        if found:
            address = found.group(1)
            try:
                with urllib.request.urlopen(f"{address}/healthz", timeout=5) as response:  # noqa: S310
                    if response.status == 200:
                        return server, address, server_log
            except OSError:
                pass
        time.sleep(0.2)
    stop(server)
    raise SystemExit(f"gunicorn did not start:\n{server_log.read_text()[-3000:]}")


def stop(server: subprocess.Popen) -> None:
    if server.poll() is None:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def server_cpu_seconds(server: subprocess.Popen) -> float:
    """CPU time used so far by gunicorn and its workers: a cost that other load on the
    machine does not inflate as it does latency."""
    import psutil  # installed with locust

    try:
        master = psutil.Process(server.pid)
        processes = [master, *master.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0.0
    return _cpu_of(processes)


def cpu_readings(server: subprocess.Popen) -> dict[str, float]:
    """CPU seconds so far: gunicorn's, the local PostgreSQL server's (every `postgres`
    process: this machine runs no other database work during a load test; backends and
    parallel workers that have ended count through the postmaster that reaped them), and
    the machine's busy and stolen time (what the hypervisor gave to other machines), which
    say whether a slow run was the app's doing."""
    import psutil

    postgres = [
        process
        for process in psutil.process_iter(["name"])
        if (process.info["name"] or "").startswith("postgres")
    ]
    machine = psutil.cpu_times()
    busy = machine.user + machine.nice + machine.system + machine.irq + machine.softirq
    return {
        "gunicorn": server_cpu_seconds(server),
        "postgres": _cpu_of(postgres),
        "machine_busy": busy,
        "machine_steal": getattr(machine, "steal", 0.0),
    }


def _cpu_of(processes) -> float:
    import psutil

    total = 0.0
    for process in processes:
        try:
            times = process.cpu_times()
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        # With its children that have ended (a postmaster's parallel workers).
        total += times.user + times.system + times.children_user + times.children_system
    return total


def run_locust(address: str, accounts: Path, folder: Path, args, server) -> dict:
    summary = folder / "summary.json"
    env = {
        **os.environ,
        "LOADTEST_ACCOUNTS": str(accounts),
        "LOADTEST_WARMUP": str(args.warmup),
        "LOADTEST_WAIT": args.wait,
        "LOADTEST_WITHDRAWAL_SHARE": str(args.withdrawal_share),
        "LOADTEST_SUMMARY": str(summary),
    }
    command = [
        str(BIN / "locust"),
        "-f", str(ROOT / "scripts" / "locustfile.py"),
        "--headless", "--only-summary",
        "--users", str(args.users),
        "--spawn-rate", str(args.spawn_rate),
        "--run-time", f"{args.warmup + args.duration}s",
        "--stop-timeout", "10",
        "--host", address,
        "--loglevel", "WARNING",
    ]  # fmt: skip
    log(
        f"locust: {args.users} people ({args.spawn_rate}/s), {args.warmup}s warm-up, "
        f"{args.duration}s measured, think time {args.wait.replace(',', '-')}s, "
        f"{args.withdrawal_share:.1%} of progress reports withdraw"
    )
    cpu: list[dict[str, float]] = []
    measuring = threading.Timer(args.warmup, lambda: cpu.append(cpu_readings(server)))
    measuring.start()
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)  # noqa: S603
    measuring.cancel()
    after = cpu_readings(server)
    if not summary.exists():
        raise SystemExit(
            f"locust wrote no summary:\n{result.stdout[-3000:]}{result.stderr[-3000:]}"
        )
    figures = json.loads(summary.read_text())
    figures["cpu_seconds"] = {k: after[k] - cpu[0][k] for k in after} if cpu else None
    return figures


def machine_speed_ms() -> float:
    """A fixed pure-Python workload, timed: this machine's speed at the moment.

    The same code measured minutes apart on the project's shared 2-core machines differs by
    half (the probe read 700 to 1,100 ms within an hour); a run's figures are comparable to
    another's only at a similar reading.
    """
    started = time.perf_counter()
    for _ in range(3):
        sum(i * i for i in range(2_000_000))
    return (time.perf_counter() - started) * 1000


def report(summary: dict, server_errors: list[str], url: str, args, speeds) -> bool:
    dialect = url.split(":", 1)[0].split("+")[0]
    print(
        f"\n{dialect}, {args.jurisdictions:,} jurisdictions, {args.commitments:,} commitments, "
        f"{args.users} people, {summary['seconds']:.0f}s measured after {args.warmup}s warm-up, "
        f"{args.withdrawal_share:.1%} of progress reports withdraw, "
        f"gunicorn.conf.py{_overrides(args)}; speed probe {speeds[0]:.0f} ms before, "
        f"{speeds[1]:.0f} ms after (machine_speed_ms: lower is faster)\n"
    )
    print("| page | requests | req/s | median ms | p95 ms | errors |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for row in (r for r in summary["rows"] if r["requests"]):
        print(
            f"| {row['name']} | {row['requests']:,} | {row['rps']:.1f} | {row['median_ms']:.0f} | "
            f"{row['p95_ms']:.0f} | {row['failures']} |"
        )
    total = summary["total"]
    print(
        f"| **all** | {total['requests']:,} | {total['rps']:.1f} | {total['median_ms']:.0f} | "
        f"{total['p95_ms']:.0f} | {total['failures']} |"
    )
    if summary.get("cpu_seconds") is not None and total["requests"]:
        cpu, seconds = summary["cpu_seconds"], summary["seconds"]
        print(
            f"\ngunicorn used {cpu['gunicorn']:.0f} CPU seconds in {seconds:.0f} s "
            f"({cpu['gunicorn'] / seconds:.2f} cores), "
            f"{1000 * cpu['gunicorn'] / total['requests']:.0f} ms of CPU per request"
        )
        if dialect == "postgresql":
            print(
                f"PostgreSQL used {cpu['postgres']:.0f} CPU seconds "
                f"({cpu['postgres'] / seconds:.2f} cores), "
                f"{1000 * cpu['postgres'] / total['requests']:.0f} ms per request"
            )
        print(
            f"the machine: {cpu['machine_busy'] / seconds:.2f} of {os.cpu_count()} cores busy, "
            f"{cpu['machine_steal'] / seconds:.2f} taken by other machines (steal)"
        )
    for error in summary["errors"]:
        print(f"error: {error['count']}× {error['name']}: {error['error']}")
    for failure in summary["warmup_failures"][:20]:
        print(f"error during warm-up: {failure}")
    for line in server_errors[:20]:
        print(f"server log: {line}")
    slow = [r["name"] for r in summary["rows"] if r["p95_ms"] >= TARGET_P95_MS]
    errors = total["failures"] + len(summary["warmup_failures"]) + len(server_errors)
    print(f"\nerrors: {errors}; pages with p95 ≥ {TARGET_P95_MS} ms: {', '.join(slow) or 'none'}")
    return errors == 0


def _overrides(args) -> str:
    chosen = [f"--workers {args.workers}"] if args.workers else []
    chosen += [f"--threads {args.threads}"] if args.threads else []
    return f" with {' '.join(chosen)}" if chosen else ""


def server_error_lines(server_log: Path) -> list[str]:
    """The log's error lines; when there are any, the whole log is kept to read the traces."""
    errors = [
        line
        for line in server_log.read_text().splitlines()
        if "Traceback" in line or "[ERROR]" in line or "WORKER TIMEOUT" in line
    ]
    if errors:
        kept = ROOT / "instance" / "loadtest" / "last-server.log"
        kept.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(server_log, kept)
        print(f"the server logged errors; its whole log is in {kept.relative_to(ROOT)}")
    return errors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("LOADTEST_DATABASE_URL", ""))
    parser.add_argument("--jurisdictions", type=int, default=20_000)
    parser.add_argument("--commitments", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument(
        "--accounts", type=int, default=100, help="Accounts of organizers and of staff."
    )
    parser.add_argument(
        "--official-accounts", type=int, default=1000,
        help="Officials' accounts: one with nothing to report hands over to the next.",
    )  # fmt: skip
    parser.add_argument("--rebuild", action="store_true", help="Build the campaign afresh.")
    parser.add_argument("--users", type=int, default=int(os.environ.get("LOADTEST_USERS", 50)))
    parser.add_argument("--spawn-rate", type=float, default=10)
    parser.add_argument(
        "--warmup", type=int, default=int(os.environ.get("LOADTEST_WARMUP", 15)),
        help="Seconds of load before measuring (sign-ins happen then).",
    )  # fmt: skip
    parser.add_argument(
        "--duration", type=int, default=int(os.environ.get("LOADTEST_DURATION", 60)),
        help="Seconds measured.",
    )  # fmt: skip
    parser.add_argument(
        "--wait", default=os.environ.get("LOADTEST_WAIT", "1,3"),
        help="Think time between a person's actions, 'min,max' seconds.",
    )  # fmt: skip
    parser.add_argument(
        "--withdrawal-share", type=float, default=0.025,
        help="Share of progress reports that withdraw a commitment (default: the demo's 2.5%%).",
    )  # fmt: skip
    parser.add_argument("--workers", type=int, default=None, help="Override gunicorn.conf.py.")
    parser.add_argument("--threads", type=int, default=None, help="Override gunicorn.conf.py.")
    args = parser.parse_args()
    if args.users > 3 * min(args.accounts, args.official_accounts):
        parser.error("--users may be at most three times --accounts (one account each).")
    url = database_url(args.database_url or None, str(CACHE_DIR))
    served = prepare(url, args)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        accounts = accounts_file(served, args, folder)
        speeds = [machine_speed_ms()]
        server, address, server_log = serve(served, folder, args)
        try:
            log(f"serving at {address}")
            summary = run_locust(address, accounts, folder, args, server)
        finally:
            stop(server)
        speeds.append(machine_speed_ms())
        ok = report(summary, server_error_lines(server_log), url, args, speeds)
    raise SystemExit(0 if ok else 1)


def _app(url: str):
    return create_app(
        {
            "ENV_NAME": "production",
            "SECRET_KEY": secrets.token_hex(16),
            "PUBLIC_URL": "http://127.0.0.1",
            "SQLALCHEMY_DATABASE_URI": url,
        }
    )


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
