"""Real-browser fixtures: the app served on loopback, Debian's Chromium driven by Playwright.

Chromium comes from Debian (`make test` installs it); Playwright never downloads a browser.
Every page a test visits is checked with axe-core, and every request must go to the app
itself: the browser runs with background networking off, so nothing else is reachable anyway,
and a request elsewhere fails the test.
"""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from werkzeug.serving import make_server

from tests.conftest import IN_CI

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING_IMPACTS = {"serious", "critical"}


def _missing_piece() -> str | None:
    if not Path(CHROMIUM).exists():
        return f"Chromium not found at {CHROMIUM} (apt-get install chromium, or make test)"
    if not AXE.exists():
        return f"axe-core not found at {AXE} (npm ci, or make test)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright is not installed (pip install -e '.[test]', or make test)"
    return None


@pytest.fixture(scope="session")
def browser():
    missing = _missing_piece()
    if missing:
        if IN_CI:
            pytest.fail(f"Browser tests cannot run in CI: {missing}")
        print(f"\n{'!' * 78}\nSKIPPING BROWSER TESTS: {missing}\n{'!' * 78}")
        pytest.skip(missing)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def live_server(app):
    """The test app on a free loopback port, serving from a thread."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


class Visit:
    """A browser page that checks accessibility and third-party requests as it goes."""

    def __init__(self, page, base_url: str):
        self.page = page
        self.base_url = base_url
        self.foreign_requests: list[str] = []
        self.console_errors: list[str] = []
        origin = urlsplit(base_url).netloc
        page.on(
            "request",
            lambda request: (
                urlsplit(request.url).netloc == origin
                or request.url.startswith("data:")
                or self.foreign_requests.append(request.url)
            ),
        )
        page.on(
            "console",
            lambda msg: msg.type == "error" and self.console_errors.append(msg.text),
        )

    def check_accessibility(self) -> None:
        self.page.add_script_tag(path=str(AXE))
        result = self.page.evaluate(
            "async () => { const r = await axe.run(document); return r.violations; }"
        )
        blocking = [
            f"{v['id']} ({v['impact']}): {v['help']} at "
            + ", ".join(str(n["target"]) for n in v["nodes"][:3])
            for v in result
            if v["impact"] in BLOCKING_IMPACTS
        ]
        assert not blocking, f"axe found on {self.page.url}:\n" + "\n".join(blocking)

    def goto(self, path: str) -> None:
        self.page.goto(self.base_url + path)
        self.check_accessibility()

    def assert_only_the_app_was_contacted(self) -> None:
        assert self.foreign_requests == []


@pytest.fixture
def visit(browser, live_server):
    context = browser.new_context(base_url=live_server, bypass_csp=True)
    page = context.new_page()
    page.set_default_timeout(10_000)
    visitor = Visit(page, live_server)
    yield visitor
    visitor.assert_only_the_app_was_contacted()
    context.close()
