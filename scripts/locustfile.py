"""What `make loadtest` asks of the app: officials, organizers and staff at work.

Run by scripts/loadtest.py (`locust -f scripts/locustfile.py --headless ...`), which passes:
LOADTEST_ACCOUNTS (a JSON file: emails by role, their password, filter query strings),
LOADTEST_WARMUP (seconds whose figures are dropped), LOADTEST_WAIT ("min,max" think time in
seconds), LOADTEST_WITHDRAWAL_SHARE (of progress reports) and LOADTEST_SUMMARY (where to
write the figures as JSON).

Each simulated person signs in with the real form and its CSRF token, and then works:
- officials open My commitments, open one and report progress with the real progress form
  (one with nothing left to report signs out, and the next official signs in);
- organizers open the map page, the map data and the dashboard, with and without filters;
- staff sign in with their password and authenticator code, as production asks, then open
  the follow-up queue with filters, a commitment from it, and log a contact.
Every person connects from an address of their own on the loopback network (127.0.x.y), as
real people do from their own machines, so per-address limits (login throttling) apply
to each of them rather than to the whole crowd at once.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import re
import time
from datetime import UTC, datetime
from urllib.parse import urlsplit

import gevent
import pyotp
from locust import HttpUser, between, events, task
from requests.adapters import HTTPAdapter

ACCOUNTS = json.loads(open(os.environ["LOADTEST_ACCOUNTS"]).read())  # noqa: SIM115
WARMUP = float(os.environ.get("LOADTEST_WARMUP", "10"))
# The share of progress reports that withdraw a commitment (--withdrawal-share).
WITHDRAWAL_SHARE = float(os.environ.get("LOADTEST_WITHDRAWAL_SHARE", "0.025"))
WAIT_MIN, WAIT_MAX = (float(x) for x in os.environ.get("LOADTEST_WAIT", "1,3").split(","))

CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
VERSION = re.compile(r'id="version" name="version" type="hidden" value="(\d+)"')
STAGE_SELECT = re.compile(r'<select[^>]*name="stage"[^>]*>(.*?)</select>', re.S)
OPTION = re.compile(r'<option[^>]*value="([a-z]+)"')
MY_COMMITMENT = re.compile(r'href="/commitments/(\d+)"')
STAFF_COMMITMENT = re.compile(r'href="/staff/commitments/(\d+)"')
MAIN_LINE = ("pledged", "introduced", "passed", "implemented")

_next_account = {role: itertools.count() for role in ("official", "organizer", "staff")}
_next_address = itertools.count(1)
_warmup_failures: list[str] = []
_measured_since = [time.time()]
_measured_until: list[float] = []


class SourceAddressAdapter(HTTPAdapter):
    """Connects from a given local address (any 127.x.y.z is this machine's loopback)."""

    def __init__(self, address: str):
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.address, 0)
        super().init_poolmanager(*args, **kwargs)


class Person(HttpUser):
    abstract = True
    role = ""
    wait_time = between(WAIT_MIN, WAIT_MAX)

    def on_start(self) -> None:
        n = next(_next_address)
        self.client.mount("http://", SourceAddressAdapter(f"127.0.{n // 250}.{n % 250 + 2}"))
        self.sign_in()

    def sign_in(self) -> None:
        """Signs in as the next account of the role nobody has taken yet."""
        emails = ACCOUNTS[self.role]
        self.email = emails[next(_next_account[self.role]) % len(emails)]
        page = self.client.get("/login", name="/login")
        token = _csrf(page)
        with self.client.post(
            "/login",
            data={"email": self.email, "password": ACCOUNTS["password"], "csrf_token": token},
            name="POST /login",
            catch_response=True,
        ) as response:
            if urlsplit(response.url).path == "/login/code":
                response.success()  # staff: the second step follows
            elif response.status_code != 200 or "/logout" not in response.text:
                response.failure(f"sign-in failed for {self.email}: {response.status_code}")
                return
        if urlsplit(response.url).path == "/login/code":
            code = pyotp.TOTP(ACCOUNTS["second_factor_secret"]).now()
            with self.client.post(
                "/login/code",
                data={"code": code, "csrf_token": _csrf(response)},
                name="POST /login/code",
                catch_response=True,
            ) as second:
                if second.status_code != 200 or "/logout" not in second.text:
                    second.failure(f"code refused for {self.email}: {second.status_code}")

    def get(self, path: str, name: str, expect: str | None = None):
        with self.client.get(path, name=name, catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"{response.status_code} for {path}")
            elif expect is not None and expect not in response.text:
                title = TITLE.search(response.text)
                response.failure(
                    f"{path} did not contain {expect!r}: got {response.url} "
                    f"({title.group(1).strip() if title else 'no title'})"
                )
            return response


class Official(Person):
    """Signs in, then keeps the progress of their commitments up to date."""

    role = "official"
    weight = int(os.environ.get("LOADTEST_OFFICIALS", "2"))

    @task(1)
    def my_commitments(self) -> None:
        self.get("/commitments/", "/commitments/ (mine)", expect="My commitments")

    @task(3)
    def report_progress(self) -> None:
        mine = self.get("/commitments/", "/commitments/ (mine)")
        ids = MY_COMMITMENT.findall(mine.text)
        if not ids:
            mine.failure("no commitments listed")
            return
        # A share of reports withdraw (WITHDRAWAL_SHARE: the demo campaign's histories have 5%
        # of commitments end withdrawn, about 2.5% of their timeline entries); choosing among
        # the offered stages alone withdrew in a quarter of them, as implemented commitments
        # offer nothing else, and each withdrawal recomputes every public figure at once.
        # An official opens one with news, looking at up to three.
        withdraw = random.random() < WITHDRAWAL_SHARE
        for cid in random.sample(ids, min(3, len(ids))):
            page = self.get(f"/commitments/{cid}", "/commitments/[id]")
            select = STAGE_SELECT.search(page.text)
            version = VERSION.search(page.text)
            if not select or not version:
                page.failure("no progress form")
                return
            stage = _next_stage(OPTION.findall(select.group(1)), withdraw=withdraw)
            if stage is not None:
                break
        else:
            # Nothing to report on these: the next official at this desk takes over, so
            # the run keeps a steady stream of reports (the sign-in is measured too).
            self.client.post("/logout", data={"csrf_token": _csrf(page)}, name="POST /logout")
            self.sign_in()
            return
        with self.client.post(
            f"/commitments/{cid}/progress",
            data={
                "csrf_token": _csrf(page),
                "version": version.group(1),
                "stage": stage,
                "occurred_on": _today(),
                "evidence_url": "",
                "note": "Reported during the load test.",
            },
            name="POST /commitments/[id]/progress" + (" (withdrawn)" if withdraw else ""),
            allow_redirects=False,
            catch_response=True,
        ) as response:
            if response.status_code != 302:
                response.failure(f"progress not recorded: {response.status_code}")
                return
        self.get(response.headers["Location"], "/commitments/[id]", expect="Recorded:")


class Organizer(Person):
    """Watches the campaign: the map, its data and the dashboard, sometimes filtered."""

    role = "organizer"
    weight = int(os.environ.get("LOADTEST_ORGANIZERS", "2"))

    @task(2)
    def map_page(self) -> None:
        self.get("/map/", "/map/", expect="Adoption map")

    @task(3)
    def map_data(self) -> None:
        self.get("/map/data.json", "/map/data.json", expect='"points"')

    @task(1)
    def map_data_filtered(self) -> None:
        query = random.choice(ACCOUNTS["filters"])
        self.get(f"/map/data.json?{query}", "/map/data.json?(filtered)", expect='"points"')

    @task(2)
    def dashboard(self) -> None:
        self.get("/dashboard/", "/dashboard/", expect="Dashboard")

    @task(1)
    def dashboard_filtered(self) -> None:
        query = random.choice(ACCOUNTS["filters"])
        self.get(f"/dashboard/?{query}", "/dashboard/?(filtered)", expect="Dashboard")


class Staff(Person):
    """Works the follow-up queue: filters it, opens a commitment, logs the call."""

    role = "staff"
    weight = int(os.environ.get("LOADTEST_STAFF", "1"))

    @task
    def work_the_queue(self) -> None:
        query = random.choice(ACCOUNTS["queue_filters"])
        queue = self.get(
            f"/staff/queue?{query}", "/staff/queue?(filtered)", expect="<h1>Follow-up queue</h1>"
        )
        ids = STAFF_COMMITMENT.findall(queue.text)
        if not ids:
            return  # an empty queue for this filter is a fine answer
        cid = random.choice(ids)
        page = self.get(f"/staff/commitments/{cid}", "/staff/commitments/[id]")
        with self.client.post(
            f"/staff/commitments/{cid}",
            data={
                "csrf_token": _csrf(page),
                "kind": random.choice(["call", "email", "meeting", "note"]),
                "contacted_on": _today(),
                "note": "Called during the load test.",
                "next_follow_up_on": "",
            },
            name="POST /staff/commitments/[id] (contact)",
            allow_redirects=False,
            catch_response=True,
        ) as response:
            if response.status_code != 302:
                response.failure(f"contact not logged: {response.status_code}")
                return
        self.get(response.headers["Location"], "/staff/commitments/[id]", expect="Contact logged.")


def _next_stage(offered: list[str], *, withdraw: bool) -> str | None:
    """What an official reports: a withdrawal when they came to withdraw; otherwise the
    next step on the main line most of the time, or stalled, or resuming a stalled or
    renewing a withdrawn one. None: nothing to report (an implemented commitment, which
    can only be withdrawn)."""
    if withdraw:
        return "withdrawn" if "withdrawn" in offered else None
    forward = [s for s in offered if s in MAIN_LINE]
    others = [s for s in offered if s not in MAIN_LINE and s != "withdrawn"]
    if forward and (random.random() < 0.85 or not others):
        return forward[0]
    return random.choice(others) if others else None


TITLE = re.compile(r"<title>(.*?)</title>", re.S)


def _today() -> str:
    """The server's date (it keeps dates in UTC): progress cannot predate the last update."""
    return datetime.now(UTC).date().isoformat()


def _csrf(response) -> str:
    found = CSRF.search(response.text)
    return found.group(1) if found else ""


@events.request.add_listener
def _note_warmup_failure(request_type, name, exception=None, **_kwargs) -> None:
    if exception is not None and time.time() < _measured_since[0]:
        _warmup_failures.append(f"{request_type} {name}: {exception}")


@events.test_start.add_listener
def _drop_warmup_figures(environment, **_kwargs) -> None:
    _measured_since[0] = time.time() + WARMUP

    def reset() -> None:
        gevent.sleep(WARMUP)
        environment.runner.stats.reset_all()
        _measured_since[0] = time.time()

    gevent.spawn(reset)


@events.test_stop.add_listener
def _note_the_end(**_kwargs) -> None:
    _measured_until.append(time.time())


@events.quitting.add_listener
def _write_summary(environment, **_kwargs) -> None:
    path = os.environ.get("LOADTEST_SUMMARY")
    if not path:
        return
    end = _measured_until[0] if _measured_until else time.time()
    elapsed = max(end - _measured_since[0], 1e-9)
    stats = environment.runner.stats
    rows = []
    for entry in sorted(stats.entries.values(), key=lambda e: (e.name, e.method)):
        rows.append(
            {
                "name": entry.name,
                "method": entry.method,
                "requests": entry.num_requests,
                "failures": entry.num_failures,
                "rps": entry.num_requests / elapsed,
                "median_ms": entry.median_response_time,
                "p95_ms": entry.get_response_time_percentile(0.95),
                "max_ms": entry.max_response_time,
            }
        )
    total = stats.total
    summary = {
        "seconds": elapsed,
        "rows": rows,
        "total": {
            "requests": total.num_requests,
            "failures": total.num_failures,
            "rps": total.num_requests / elapsed,
            "median_ms": total.median_response_time,
            "p95_ms": total.get_response_time_percentile(0.95),
        },
        "errors": [
            {"name": e.name, "error": str(e.error), "count": e.occurrences}
            for e in stats.errors.values()
        ],
        "warmup_failures": _warmup_failures,
    }
    with open(path, "w") as out:
        json.dump(summary, out, indent=2)
