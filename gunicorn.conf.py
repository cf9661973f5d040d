"""gunicorn settings for production: `gunicorn -c gunicorn.conf.py wsgi:app`.

Sized for the project's standard machine, 2 cores. Two worker processes use both cores;
eight threads in each keep a core busy while other requests wait on the database. Few
processes rather than many because each keeps its own cache of the map and dashboard
figures (campaign/cache.py): every extra process recomputes them once more after a write.
Measured with `make loadtest` (docs/performance.md). WEB_CONCURRENCY and GUNICORN_THREADS
override the counts; any setting can be given on the command line too.
"""

import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "8"))
# A request slower than this is a bug: the worker is restarted and the request fails.
timeout = 30
graceful_timeout = 30
# Browsers reuse a connection for the page's next request within a few seconds.
keepalive = 5
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
errorlog = "-"
