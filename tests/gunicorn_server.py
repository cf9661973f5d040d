"""The app under gunicorn on a loopback socket, and a client that uses it as a browser would.

For the tests that need real worker processes: several workers writing at once, a worker
killed mid-request. The server runs the production server with the testing config, except that
CSRF protection is on, so every submission carries the token from the page it came from.
Only the standard library here: client processes import this module, not the app.
"""

from __future__ import annotations

import http.cookiejar
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HOOKS = Path(__file__).resolve().parent / "gunicorn_hooks.py"
PASSWORD = "correct horse battery"
CSRF_TOKEN = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
VERSION = re.compile(r'name="version" type="hidden" value="(\d+)"')


class GunicornServer:
    """`with GunicornServer(url, tmp_path, workers=4) as server:` serves at server.base_url.

    The test binds the listening socket itself (port 0, so the OS picks a free port) and hands
    it to gunicorn as fd://N: no race for the port, and the test knows the address at once.
    Each worker's pid and request are logged by tests/gunicorn_hooks.py (`requests()`).
    """

    def __init__(self, database_uri: str, directory: Path, workers: int = 4):
        self.database_uri = database_uri
        self.directory = directory
        self.workers = workers
        self.request_log = directory / "requests.log"
        self.server_log = directory / "gunicorn.log"
        self.process: subprocess.Popen | None = None
        self.base_url = ""

    def __enter__(self) -> GunicornServer:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.bind(("127.0.0.1", 0))
        listener.listen(128)
        self.base_url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        self.request_log.write_text("")
        env = {
            **os.environ,
            "CAMPAIGN_ENV": "testing",
            "DATABASE_URL": self.database_uri,
            "CAMPAIGN_TEST_REQUEST_LOG": str(self.request_log),
        }
        with open(self.server_log, "wb") as log:
            self.process = subprocess.Popen(  # noqa: S603 - our own command line
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "--config",
                    str(HOOKS),
                    "--workers",
                    str(self.workers),
                    "--bind",
                    f"fd://{listener.fileno()}",
                    "--preload",
                    "--no-control-socket",  # one per user by default: tests run side by side
                    "--timeout",
                    "60",
                    'campaign:create_app({"WTF_CSRF_ENABLED": True})',
                ],
                cwd=ROOT,
                env=env,
                pass_fds=(listener.fileno(),),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, for __exit__
            )
        listener.close()  # gunicorn has its own copy
        try:
            self._wait_until_serving()
        except BaseException:
            self.__exit__()
            raise
        return self

    def _wait_until_serving(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited:\n{self.log_text()}")
            try:
                health = self.base_url + "/healthz"
                with urllib.request.urlopen(health, timeout=5) as response:  # noqa: S310 - http
                    if response.status == 200:
                        return
            except OSError:  # refused, reset or timed out while the workers start
                pass
            time.sleep(0.05)
        raise RuntimeError(f"gunicorn did not answer within {timeout} s:\n{self.log_text()}")

    def __exit__(self, *exc) -> None:
        """Kill master and workers at once: a graceful stop spends seconds waiting for
        nothing, and every test here already knows what was committed."""
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def log_text(self) -> str:
        return self.server_log.read_text(errors="replace")

    def requests(self) -> list[tuple[int, str, str]]:
        """(worker pid, method, path) for each request a worker has started, oldest first."""
        lines = self.request_log.read_text().splitlines()
        return [(int(pid), m, p) for pid, m, p in (line.split(" ", 2) for line in lines)]

    def worker_for(self, method: str, path: str, after: int, timeout: float = 10) -> int:
        """The pid of the worker that took a `method path` request, once one has; only requests
        after the first `after` count (`after = len(server.requests())` before sending)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for pid, m, p in self.requests()[after:]:
                if (m, p) == (method, path):
                    return pid
            time.sleep(0.01)
        raise TimeoutError(f"no worker took {method} {path}:\n{self.log_text()}")


@dataclass
class Response:
    status: int
    body: str
    location: str | None


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Browser:
    """Cookies, CSRF tokens from the page each form is on, and no automatic redirects, so the
    test sees the 302 that says a submission was saved."""

    def __init__(self, base_url: str):
        self.base_url = base_url
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), _NoRedirects()
        )

    def request(self, path: str, data: dict | None = None, timeout: float = 60) -> Response:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        try:
            with self.opener.open(self.base_url + path, data=body, timeout=timeout) as reply:
                return Response(reply.status, reply.read().decode(), reply.headers["Location"])
        except urllib.error.HTTPError as error:
            return Response(error.code, error.read().decode(), error.headers["Location"])

    def form(self, path: str) -> tuple[Response, dict[str, str]]:
        """Open a page with a form: the page, and the hidden fields to send back with it."""
        page = self.request(path)
        if page.status != 200:
            raise AssertionError(f"GET {path} answered {page.status}")
        fields = {"csrf_token": CSRF_TOKEN.search(page.body).group(1)}
        version = VERSION.search(page.body)
        if version:
            fields["version"] = version.group(1)
        return page, fields

    def submit(self, form_path: str, fields: dict, action: str | None = None) -> Response:
        """Open the form page, then post `fields` with its hidden fields to `action`."""
        _, hidden = self.form(form_path)
        return self.request(action or form_path, {**hidden, **fields})

    def login(self, email: str, password: str = PASSWORD) -> None:
        response = self.submit("/login", {"email": email, "password": password})
        if response.status != 302:
            raise AssertionError(f"login as {email} answered {response.status}")


def commit_to(browser: Browser, policy_id: int) -> Response:
    """Pledge to one policy, publicly, from the "Commit to policies" page."""
    return browser.submit(
        "/commitments/new", {f"commit_{policy_id}": "y", f"visibility_{policy_id}": "public"}
    )


def report_progress(browser: Browser, commitment_id: int, stage: str, on: str) -> Response:
    """Record a new stage from the commitment's page, with the version that page showed."""
    return browser.submit(
        f"/commitments/{commitment_id}",
        {"stage": stage, "occurred_on": on},
        action=f"/commitments/{commitment_id}/progress",
    )


def official_at_work(base_url, email, policy_ids, today, barrier, results) -> None:
    """A client process: sign in, wait for the others, then commit to each policy and report
    each one introduced. Puts (email, [(what, status, body if it was not a success)]) on
    `results`."""
    outcomes = []
    try:
        browser = Browser(base_url)
        try:
            browser.login(email)
        except Exception:
            barrier.abort()  # the others stop waiting for this one
            raise
        barrier.wait(timeout=60)
        ids = []
        for policy_id in policy_ids:
            response = commit_to(browser, policy_id)
            outcomes.append(("commit", response.status, _unless_redirect(response)))
            ids.extend(_recorded_ids(response))
        for commitment_id in ids:
            response = report_progress(browser, commitment_id, "introduced", today)
            outcomes.append(("progress", response.status, _unless_redirect(response)))
    except Exception as error:  # reported to the test, which fails with it
        outcomes.append(("error", 0, repr(error)))
    results.put((email, outcomes))


def _unless_redirect(response: Response) -> str:
    return "" if response.status == 302 else response.body


def _recorded_ids(response: Response) -> list[int]:
    if response.status != 302 or not response.location:
        return []
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(response.location).query)
    return [int(i) for i in query.get("ids", [""])[0].split(",") if i]
