"""gunicorn settings for the multi-process tests (tests/gunicorn_server.py), not production.

Each worker notes its pid and the request it is about to hand to the app, so a test can kill
the worker that holds a given submission rather than guess.
"""

import os


def pre_request(worker, req):
    path = os.environ.get("CAMPAIGN_TEST_REQUEST_LOG")
    if path:
        with open(path, "a") as log:
            log.write(f"{worker.pid} {req.method} {req.path}\n")
