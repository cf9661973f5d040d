"""The Content-Security-Policy in a real browser: the app's own code runs, nothing else does,
and the visit fixture notices when the policy blocks something."""

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e


def test_the_maps_inline_script_runs_with_its_nonce(visit, catalog):
    visit.goto("/map/")
    expect(visit.page.locator(".folium-map")).to_have_attribute("data-loaded", "0")
    # folium's inline script carries the nonce, and the browser ran it: the map loaded.
    assert visit.page.evaluate("() => document.querySelector('script[nonce]') !== null")
    visit.assert_no_csp_violation()


def test_an_injected_script_without_the_nonce_is_refused_and_fails_the_visit(visit):
    visit.goto("/")
    visit.page.evaluate(
        """() => {
            const script = document.createElement("script");
            script.textContent = "window.__injected = 1";
            document.body.appendChild(script);
        }"""
    )
    assert visit.page.evaluate("window.__injected === undefined")
    with pytest.raises(AssertionError, match="script-src"):
        visit.assert_no_csp_violation()
    visit.csp_violations.clear()


def test_an_injected_style_attribute_is_refused(visit):
    visit.goto("/")
    visit.page.evaluate("() => document.querySelector('h1').setAttribute('style', 'color: red')")
    colour = visit.page.evaluate("getComputedStyle(document.querySelector('h1')).color")
    assert colour != "rgb(255, 0, 0)"
    with pytest.raises(AssertionError, match="style-src"):
        visit.assert_no_csp_violation()
    visit.csp_violations.clear()


def test_no_page_can_frame_the_app(visit):
    page = visit.page
    page.set_content(f'<iframe src="{visit.base_url}/login" title="framed"></iframe>')
    for _ in range(50):  # Chromium reports the refusal a moment after the frame loads
        if visit.csp_violations:
            break
        page.wait_for_timeout(100)
    frame = page.frame_locator("iframe")
    assert frame.get_by_role("button", name="Sign in").count() == 0  # nothing of the app
    with pytest.raises(AssertionError, match="frame-ancestors"):
        visit.assert_no_csp_violation()
    visit.csp_violations.clear()
