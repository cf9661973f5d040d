"""gunicorn settings for production: `gunicorn -c gunicorn.conf.py wsgi:app`.

Sized for the project's standard machine, 2 cores: one worker process with 8 threads.
- Threads: while one thread waits for the database the others run. But Python runs one
  thread of a process at a time, and SQLite works inside the process: with 16 threads, the
  request holding SQLite's write lock waited for its turn at Python behind a dozen others
  (it held the lock a median 54 ms for what takes 8 ms alone), so writes queued: POST p95
  860-900 ms under `make loadtest`; with 8, 430-550 ms over three runs at the same
  throughput. On PostgreSQL 8 and 16 threads measured alike (docs/performance.md).
- One process rather than several because each process keeps its own cache of the map and
  dashboard figures (campaign/figures/cache.py) and recomputes them after writes: two workers
  with 8 threads used a quarter more CPU per request and left none of the 2 cores free.
gunicorn restarts the worker if it dies. WEB_CONCURRENCY and GUNICORN_THREADS override the
counts (WEB_CONCURRENCY=2 for the other choice); any setting can also be given on the
command line. The database pool (config.py) holds 20 connections: raise it with the threads.
"""

import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "1"))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "8"))
# A worker whose main loop stops answering for this long is restarted.
timeout = 30
graceful_timeout = 30
# Browsers reuse a connection for the page's next request within a few seconds.
keepalive = 5
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
errorlog = "-"
# No runtime control socket (gunicorn 27): nothing to manage at runtime, and several
# instances on one machine would contend for its default path.
control_socket_disable = True


# How long a thread may keep the GIL while another waits for it. Python's default, 5 ms,
# is long for this mix: a thread whose database answer has arrived waits up to that long
# behind one rendering a page, at every query (a page makes 5 to 15). Under `make loadtest`
# on PostgreSQL, 1 ms took the median from 120 to 44 ms and p95 from 390 to 220 ms.
SWITCH_INTERVAL_SECONDS = float(os.environ.get("GIL_SWITCH_INTERVAL", "0.001"))


def post_worker_init(worker) -> None:
    """Keep the loaded app out of the garbage collector's full passes, hand the GIL over
    sooner (SWITCH_INTERVAL_SECONDS), and checkpoint SQLite in the background.

    Modules, models, templates and the gazetteer index are hundreds of thousands of objects
    that live as long as the worker; each full collection walked them all while holding the
    GIL (~250 ms, every few seconds under `make loadtest`). Frozen, they are never walked.
    """
    import gc
    import sys

    gc.collect()
    gc.freeze()
    sys.setswitchinterval(SWITCH_INTERVAL_SECONDS)
    start_sqlite_checkpoints(worker.wsgi)


def start_sqlite_checkpoints(app) -> None:
    """On SQLite, fold the write-ahead log back in the background (database/checkpoint.py)."""
    from sqlalchemy.engine import make_url

    from campaign.database import checkpoint

    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    if url.get_backend_name() == "sqlite" and url.database:
        checkpoint.start(url.database)
