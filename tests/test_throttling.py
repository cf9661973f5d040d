"""Throttling of sign-in, sign-up and password reset, counted in a real Redis.

The session-wide `app` runs with limits off, so the rest of the suite is never throttled;
these tests build apps with limits on, each counting under its own key prefix in Redis
(TEST_REDIS_URL, default redis://127.0.0.1:6379/0), and delete their keys afterwards. When
that Redis is unreachable they are skipped loudly, or fail under CI.
"""

from __future__ import annotations

import http.cookiejar
import logging
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlencode

import pytest
import redis

from campaign import create_app
from campaign.extensions import db
from campaign.web.throttle import client_address
from tests.conftest import IN_CI, IsolatedClient
from tests.factories import PASSWORD
from tests.mailbox import free_port

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
PROJECT_ROOT = Path(__file__).resolve().parent.parent
WRONG = "not the password at all"
UNLIMITED = "1000 per minute"


@pytest.fixture(scope="session")
def redis_url() -> str:
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as error:
        message = f"TEST_REDIS_URL={REDIS_URL} is unreachable: {error}"
        if IN_CI:
            pytest.fail(message)
        print("\n" + "!" * 78 + f"\nSKIPPING THE THROTTLING TESTS: {message}\n" + "!" * 78)
        pytest.skip(message)
    finally:
        client.close()
    return REDIS_URL


@pytest.fixture
def key_prefix(redis_url):
    """A prefix no other test, run or person uses; its keys are deleted afterwards."""
    prefix = f"test-throttle-{uuid.uuid4().hex[:12]}"
    yield prefix
    client = redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter(match=f"*{prefix}*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture
def throttled(app, redis_url, key_prefix):
    """Builds apps on the test database with limits on; every limit generous unless given."""
    made = []

    def build(**settings):
        config = {
            "ENV_NAME": "testing",
            "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
            "RATELIMIT_ENABLED": True,
            "RATELIMIT_STORAGE_URI": redis_url,
            "RATELIMIT_KEY_PREFIX": key_prefix,
            "RATELIMIT_LOGIN_PER_ACCOUNT": UNLIMITED,
            "RATELIMIT_LOGIN_PER_ADDRESS": UNLIMITED,
            "RATELIMIT_SIGNUP_PER_ADDRESS": UNLIMITED,
            "RATELIMIT_RESET_PER_ACCOUNT": UNLIMITED,
            "RATELIMIT_RESET_PER_ADDRESS": UNLIMITED,
            "RATELIMIT_RESET_LINK_PER_ADDRESS": UNLIMITED,
            **settings,
        }
        new = create_app(config)
        new.test_client_class = IsolatedClient
        made.append(new)
        return new

    yield build
    for new in made:
        with new.app_context():
            db.engine.dispose()


def browser_at(app, address: str = "192.0.2.10"):
    """A client whose requests come from `address` (a documentation range; no traffic)."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def sign_in(client, email: str, password: str = WRONG):
    return client.post("/login", data={"email": email, "password": password})


def statuses(responses) -> list[int]:
    return [r.status_code for r in responses]


def test_the_suite_itself_is_never_throttled(client, make):
    make.user(email="ana@example.org")
    assert {sign_in(client, "ana@example.org").status_code for _ in range(30)} == {422}


def test_failed_sign_ins_are_limited_per_account_whether_it_exists_or_not(throttled, make):
    app = throttled(RATELIMIT_LOGIN_PER_ACCOUNT="3 per 15 minutes")
    make.user(email="ana@example.org")
    make.user(email="ben@example.org")
    client = browser_at(app)

    known = [sign_in(client, "ana@example.org") for _ in range(4)]
    unknown = [sign_in(client, "nobody@example.org") for _ in range(4)]
    assert statuses(known) == statuses(unknown) == [422, 422, 422, 429]
    # Nothing on the page tells an existing account from a missing one.
    assert known[-1].get_data() == unknown[-1].get_data()

    # Paused even with the right password and however the address is written...
    assert sign_in(client, " ANA@Example.org ", PASSWORD).status_code == 429
    # ...from any client, while other accounts sign in as usual.
    assert sign_in(browser_at(app, "192.0.2.99"), "ana@example.org", PASSWORD).status_code == 429
    assert sign_in(client, "ben@example.org", PASSWORD).status_code == 302


def test_the_pause_page_says_when_to_try_again(throttled, make):
    app = throttled(RATELIMIT_LOGIN_PER_ACCOUNT="1 per 15 minutes")
    client = browser_at(app)
    sign_in(client, "ana@example.org")
    response = sign_in(client, "ana@example.org")

    assert response.status_code == 429
    assert 890 <= int(response.headers["Retry-After"]) <= 900
    assert response.headers["Cache-Control"] == "no-store"
    page = response.get_data(as_text=True)
    assert "too many unsuccessful attempts to sign in" in page
    assert "Try again in 15 minutes." in page
    assert 'href="/password/forgot"' in page
    assert "Traceback" not in page


def test_successful_sign_ins_are_not_counted(throttled, make):
    app = throttled(
        RATELIMIT_LOGIN_PER_ACCOUNT="2 per 15 minutes",
        RATELIMIT_LOGIN_PER_ADDRESS="2 per 15 minutes",
    )
    make.user(email="ana@example.org")
    client = browser_at(app)
    for _ in range(5):
        assert sign_in(client, "ana@example.org", PASSWORD).status_code == 302
        client.post("/logout")
    assert client.get("/login").status_code == 200  # the form itself is never limited


def test_failed_sign_ins_are_limited_per_client_address(throttled, make):
    app = throttled(RATELIMIT_LOGIN_PER_ADDRESS="3 per 15 minutes")
    make.user(email="dan@example.org")
    here, elsewhere = browser_at(app, "192.0.2.10"), browser_at(app, "192.0.2.11")

    tries = [sign_in(here, f"{name}@example.org") for name in ("ana", "ben", "cy", "dan")]
    assert statuses(tries) == [422, 422, 422, 429]
    assert sign_in(here, "dan@example.org", PASSWORD).status_code == 429
    assert sign_in(elsewhere, "dan@example.org", PASSWORD).status_code == 302


@pytest.mark.parametrize(
    ("remote", "key"),
    [
        ("192.0.2.7", "192.0.2.7"),
        ("2001:db8::1", "2001:db8::/64"),
        ("2001:db8::ffff:1", "2001:db8::/64"),
        ("2001:db8:0:1::1", "2001:db8:0:1::/64"),
        ("::ffff:192.0.2.7", "192.0.2.7"),
    ],
)
def test_ipv6_clients_are_counted_by_their_64_bit_prefix(throttled, remote, key):
    app = throttled()
    with app.test_request_context(environ_base={"REMOTE_ADDR": remote}):
        assert client_address() == key


def test_sign_up_is_limited_per_client_address(throttled):
    app = throttled(RATELIMIT_SIGNUP_PER_ADDRESS="2 per hour")
    client = browser_at(app)
    tries = [client.post("/signup", data={"name": "Ana"}) for _ in range(3)]
    assert statuses(tries) == [422, 422, 429]
    assert "too many sign-up attempts" in tries[-1].get_data(as_text=True)
    assert client.get("/signup").status_code == 200
    assert browser_at(app, "192.0.2.11").post("/signup", data={}).status_code == 422


def test_reset_requests_are_limited_per_account_known_or_not(throttled, make, smtp_server, mailbox):
    app = throttled(
        RATELIMIT_RESET_PER_ACCOUNT="2 per hour",
        MAIL_SERVER=smtp_server.host,
        MAIL_PORT=smtp_server.port,
        MAIL_SUPPRESS_SEND=False,
    )
    make.user(email="ana@example.org")
    client = browser_at(app)

    def ask(email):
        return client.post("/password/forgot", data={"email": email})

    known = [ask("ana@example.org"), ask("Ana@example.org"), ask("ana@example.org")]
    unknown = [ask("nobody@example.org") for _ in range(3)]
    assert statuses(known) == statuses(unknown) == [302, 302, 429]
    assert known[-1].get_data() == unknown[-1].get_data()
    assert len(mailbox.messages) == 2  # the paused request sent nothing
    assert "too many requests for a password reset link" in known[-1].get_data(as_text=True)


def test_reset_requests_are_limited_per_client_address(throttled):
    app = throttled(RATELIMIT_RESET_PER_ADDRESS="3 per hour")
    client = browser_at(app)
    tries = [
        client.post("/password/forgot", data={"email": f"{name}@example.org"})
        for name in ("ana", "ben", "cy", "dan")
    ]
    assert statuses(tries) == [302, 302, 302, 429]
    other = browser_at(app, "192.0.2.11").post("/password/forgot", data={"email": "x@example.org"})
    assert other.status_code == 302


def test_unusable_reset_links_are_limited_per_client_address(throttled):
    app = throttled(RATELIMIT_RESET_LINK_PER_ADDRESS="2 per hour")
    client = browser_at(app)
    tries = [client.get("/password/reset/garbage"), client.post("/password/reset/garbage")]
    tries.append(client.get("/password/reset/more-garbage"))
    assert statuses(tries) == [400, 400, 429]
    assert "too many attempts with password reset links" in tries[-1].get_data(as_text=True)


def test_wrong_current_passwords_count_with_failed_sign_ins(throttled, make):
    app = throttled(RATELIMIT_LOGIN_PER_ACCOUNT="3 per 15 minutes")
    make.user(email="ana@example.org")
    owner, guesser = browser_at(app), browser_at(app, "192.0.2.11")
    assert sign_in(owner, "ana@example.org", PASSWORD).status_code == 302

    def change(current):
        new = "another long passphrase"
        data = {"current_password": current, "password": new, "confirm": new}
        return owner.post("/account/password", data=data)

    assert statuses([change(WRONG), change(WRONG)]) == [422, 422]
    assert sign_in(guesser, "ana@example.org").status_code == 422
    assert change(PASSWORD).status_code == 429
    assert sign_in(guesser, "ana@example.org", PASSWORD).status_code == 429


def test_a_bad_limit_setting_is_refused_at_start_up(throttled):
    with pytest.raises(ValueError, match="RATELIMIT_LOGIN_PER_ADDRESS='lots'"):
        throttled(RATELIMIT_LOGIN_PER_ADDRESS="lots")


def test_an_empty_limit_setting_switches_that_limit_off(throttled):
    app = throttled(RATELIMIT_SIGNUP_PER_ADDRESS="")
    client = browser_at(app)
    assert {client.post("/signup", data={}).status_code for _ in range(5)} == {422}


def test_without_redis_counts_stay_in_memory_with_a_warning(app, runner, caplog):
    with caplog.at_level(logging.WARNING):
        memory = create_app(
            {
                "ENV_NAME": "testing",
                "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
                "RATELIMIT_ENABLED": True,
                "RATELIMIT_STORAGE_URI": None,
                "RATELIMIT_LOGIN_PER_ACCOUNT": "2 per 15 minutes",
            }
        )
    memory.test_client_class = IsolatedClient
    assert "Rate limits are counted in this process's memory" in caplog.text
    assert "RATELIMIT_STORAGE_URI" in caplog.text

    client = browser_at(memory)
    assert statuses([sign_in(client, "ana@example.org") for _ in range(3)]) == [422, 422, 429]
    assert client.get("/healthz").get_json()["rate_limits"] == {
        "enabled": True,
        "storage": "memory",
        "shared": False,
    }
    with memory.app_context():
        output = memory.test_cli_runner().invoke(args=["rate-limits"]).output
        db.engine.dispose()
    assert "WARNING: counted in each process's memory" in output
    assert "RATELIMIT_LOGIN_PER_ACCOUNT = 2 per 15 minutes" in output


def test_with_redis_the_health_check_and_command_say_the_counts_are_shared(throttled):
    app = throttled()
    status = browser_at(app).get("/healthz").get_json()["rate_limits"]
    assert status == {
        "enabled": True,
        "storage": REDIS_URL,
        "shared": True,
        "reachable": True,
    }
    with app.app_context():
        output = app.test_cli_runner().invoke(args=["rate-limits"]).output
    assert f"shared in {REDIS_URL} (reachable)" in output


# -- Two processes, and Redis going away ------------------------------------------------------

SERVER = """
from werkzeug.serving import make_server
from campaign import create_app
server = make_server("127.0.0.1", 0, create_app(), threaded=True)
print(server.port, flush=True)
server.serve_forever()
"""


@pytest.fixture
def app_process(app, redis_url, key_prefix, tmp_path):
    """Starts the app in processes of its own (as workers would be), each on a free port."""
    started = []

    def start(count: int, **settings) -> list[str]:
        """Start `count` processes at once (each takes seconds to import) and return their URLs."""
        env = {
            **os.environ,
            "CAMPAIGN_ENV": "development",
            "SECRET_KEY": f"secret-{key_prefix}",
            "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
            "RATELIMIT_ENABLED": "1",
            "RATELIMIT_STORAGE_URI": redis_url,
            "RATELIMIT_KEY_PREFIX": key_prefix,
            **settings,
        }
        batch = []
        for _ in range(count):
            log = open(tmp_path / f"server{len(started)}.log", "w")  # noqa: SIM115
            process = subprocess.Popen(  # noqa: S603 - this interpreter, fixed code
                [sys.executable, "-c", SERVER],
                cwd=PROJECT_ROOT,
                env=env,
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
            )
            started.append((process, log))
            batch.append((process, log))
        urls = []
        for process, log in batch:
            line = process.stdout.readline()
            if not line.strip().isdigit():
                process.kill()
                process.wait(timeout=10)
                pytest.fail("The app process did not start:\n" + Path(log.name).read_text())
            urls.append(f"http://127.0.0.1:{int(line)}")
        return urls

    yield start
    for process, log in started:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=10)
        process.stdout.close()
        log.close()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def http_sign_in(base: str, email: str, password: str = WRONG) -> tuple[int, dict]:
    """A real browser's sign-in over HTTP: fetch the form for its CSRF token, then post it."""
    opener = urllib.request.build_opener(
        urllib.request.ProxyHandler({}),
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()),
        _NoRedirect,
    )
    form = opener.open(f"{base}/login", timeout=10).read().decode()
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form).group(1)
    data = urlencode({"csrf_token": token, "email": email, "password": password}).encode()
    try:
        with opener.open(f"{base}/login", data=data, timeout=10) as response:
            return response.status, dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers)


def test_two_app_processes_share_one_count_through_redis(app_process):
    first, second = app_process(2, RATELIMIT_LOGIN_PER_ACCOUNT="3 per 15 minutes")

    assert http_sign_in(first, "ana@example.org")[0] == 422
    assert http_sign_in(second, "ana@example.org")[0] == 422
    assert http_sign_in(first, "ana@example.org")[0] == 422
    # Three failures in all, split over two processes: both now refuse.
    status, headers = http_sign_in(second, "ana@example.org")
    assert status == 429
    assert int(headers["Retry-After"]) > 0
    assert http_sign_in(first, "ana@example.org")[0] == 429
    assert http_sign_in(second, "ben@example.org")[0] == 422


@pytest.fixture
def private_redis():
    """A Redis server of this test's own, which it may stop and start again."""
    if not shutil.which("redis-server"):
        message = "redis-server is not installed"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    server = shutil.which("redis-server")
    port = free_port()
    processes = []

    def start():
        command = [server, "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
        process = subprocess.Popen(  # noqa: S603 - fixed arguments
            [*command, "--appendonly", "no"], stdout=subprocess.DEVNULL
        )
        processes.append(process)
        client = redis.Redis(port=port, socket_connect_timeout=0.2)
        for _ in range(100):
            try:
                client.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)
        client.close()

    def stop():
        processes[-1].terminate()
        processes[-1].wait(timeout=10)

    start()
    yield SimpleNamespace(url=f"redis://127.0.0.1:{port}/0", start=start, stop=stop)
    for process in processes:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=10)


def test_redis_going_away_mid_run_falls_back_to_memory_never_a_500(
    throttled, private_redis, caplog
):
    app = throttled(
        RATELIMIT_STORAGE_URI=private_redis.url, RATELIMIT_LOGIN_PER_ACCOUNT="3 per 15 minutes"
    )
    client = browser_at(app)
    assert statuses([sign_in(client, "ana@example.org") for _ in range(2)]) == [422, 422]

    private_redis.stop()
    with caplog.at_level(logging.INFO):
        during = [sign_in(client, "ana@example.org") for _ in range(5)]
        health = client.get("/healthz").get_json()["rate_limits"]
    # Each process keeps counting on its own: the outage does not open the door wide.
    assert statuses(during) == [422, 422, 422, 429, 429]
    assert "Rate limit storage unreachable - falling back to in-memory storage" in caplog.text
    assert health["reachable"] is False and health["shared"] is False

    private_redis.start()
    deadline = time.monotonic() + 60
    with caplog.at_level(logging.INFO):
        while "Rate limit storage recovered" not in caplog.text:
            assert time.monotonic() < deadline, "the limiter never went back to Redis"
            assert sign_in(client, "someone-else@example.org").status_code in (422, 429)
            time.sleep(0.5)
    assert client.get("/healthz").get_json()["rate_limits"]["shared"] is True


def test_redis_unreachable_from_the_start_still_limits_and_never_gives_a_500(throttled):
    app = throttled(
        RATELIMIT_STORAGE_URI=f"redis://127.0.0.1:{free_port()}/0",
        RATELIMIT_LOGIN_PER_ACCOUNT="2 per 15 minutes",
    )
    client = browser_at(app)
    assert statuses([sign_in(client, "ana@example.org") for _ in range(3)]) == [422, 422, 429]
    assert client.get("/healthz").status_code == 200


def test_wrong_second_factor_codes_are_limited_like_wrong_passwords(throttled, make):
    import pyotp

    from campaign.accounts.roles import Role

    app = throttled(RATELIMIT_LOGIN_PER_ACCOUNT="3 per 15 minutes")
    make.user(Role.STAFF, email="sam@example.org")
    client = browser_at(app)
    assert sign_in(client, "sam@example.org", PASSWORD).status_code == 302
    page = client.get("/account/second-factor").get_data(as_text=True)
    secret = re.search(r'id="second-factor-key">([A-Z2-7 ]+)<', page).group(1).replace(" ", "")
    totp = pyotp.TOTP(secret)
    assert client.post("/account/second-factor", data={"code": totp.now()}).status_code == 200
    client.post("/logout")

    assert sign_in(client, "sam@example.org", PASSWORD).status_code == 302  # to the code step
    near = {totp.at(time.time() + 30 * k) for k in (-1, 0, 1, 2)}
    wrong = next(c for c in ("000000", "111111", "222222", "333333", "444444") if c not in near)
    tries = [client.post("/login/code", data={"code": wrong}) for _ in range(4)]
    assert statuses(tries) == [422, 422, 422, 429]
    assert "too many unsuccessful attempts to sign in" in tries[-1].get_data(as_text=True)
    # The right code is refused too while paused, from this browser or another.
    right = totp.at(time.time() + 30)
    assert client.post("/login/code", data={"code": right}).status_code == 429
    assert sign_in(browser_at(app, "192.0.2.99"), "sam@example.org", PASSWORD).status_code == 429
