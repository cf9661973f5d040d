"""Real-browser fixtures: the app served on loopback, Debian's Chromium driven by Playwright.

Chromium comes from Debian (`make test` installs it); Playwright never downloads a browser.
Every page a test visits is checked with axe-core, and every request must go to the app
itself: the browser runs with background networking off, so nothing else is reachable anyway,
and a request elsewhere fails the test. The app's Content-Security-Policy is enforced, as in a
visitor's browser: anything it blocks (a script without the nonce, a style attribute, a
request elsewhere) fails the test.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from functools import lru_cache
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
def live_server(app, monkeypatch):
    """The test app on a free loopback port, serving from a thread; links in its emails
    point at it (PUBLIC_URL)."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setitem(app.config, "PUBLIC_URL", f"http://127.0.0.1:{server.server_port}")
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


# Runs before any script of the page, outside its CSP (Playwright adds it through the DevTools
# protocol), and reports each violation the browser raises to the test.
REPORT_CSP_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.__reportCspViolation(
    `${event.effectiveDirective} refused ${event.blockedURI || "inline"}`
    + ` at ${event.sourceFile || event.documentURI}:${event.lineNumber}`
  );
});
"""


class Visit:
    """A browser page that checks accessibility, third-party requests and the Content
    Security Policy as it goes."""

    def __init__(self, page, base_url: str):
        self.page = page
        self.base_url = base_url
        self.foreign_requests: list[str] = []
        self.console_errors: list[str] = []
        self.csp_violations: list[str] = []
        origin = urlsplit(base_url).netloc
        page.on(
            "request",
            lambda request: (
                urlsplit(request.url).netloc == origin
                or request.url.startswith("data:")
                or self.foreign_requests.append(request.url)
            ),
        )
        page.on("console", self._on_console)
        page.expose_function("__reportCspViolation", self._on_csp_violation)
        page.add_init_script(REPORT_CSP_VIOLATIONS)

    def _on_csp_violation(self, report: str) -> None:
        self.csp_violations.append(report)

    def _on_console(self, msg) -> None:
        if msg.type == "error":
            self.console_errors.append(msg.text)
        # Chromium's own words for anything the policy blocked, which vary: "Refused to load
        # ...", "Executing inline script violates the following Content Security Policy ...".
        if msg.text.startswith("Refused to") or "Content Security Policy" in msg.text:
            self.csp_violations.append(msg.text)

    def check_accessibility(self) -> None:
        # Evaluated through the DevTools protocol, which the page's CSP does not govern, so
        # axe-core runs without the policy being relaxed for the page itself.
        # Colours are judged once transitions end: a popup fading in is half transparent,
        # and its text then fails the contrast check by the luck of timing.
        # (Polled through evaluate: wait_for_function would need the page to allow eval.)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and self.page.evaluate(
            "document.getAnimations().some(a => a.playState === 'running')"
        ):
            time.sleep(0.05)
        self.page.evaluate(axe_source())
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
        self.assert_no_csp_violation()

    def goto(self, path: str) -> None:
        response = self.page.goto(self.base_url + path)
        assert response is not None and "content-security-policy" in response.headers, path
        self.check_accessibility()

    def assert_no_csp_violation(self) -> None:
        self.page.evaluate("0")  # a round trip: reports sent before it have been received
        assert self.csp_violations == [], f"CSP violations on {self.page.url}:\n" + "\n".join(
            self.csp_violations
        )

    def assert_only_the_app_was_contacted(self) -> None:
        assert self.foreign_requests == []


@lru_cache(maxsize=1)
def axe_source() -> str:
    """axe-core's script, read once."""
    return AXE.read_text(encoding="utf-8")


@pytest.fixture
def visit(browser, live_server):
    # No bypass_csp: the policy is enforced exactly as the app sends it.
    context = browser.new_context(base_url=live_server)
    page = context.new_page()
    page.set_default_timeout(10_000)
    visitor = Visit(page, live_server)
    yield visitor
    visitor.assert_only_the_app_was_contacted()
    if not page.is_closed():
        visitor.assert_no_csp_violation()
    context.close()
