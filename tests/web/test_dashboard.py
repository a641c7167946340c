"""The dashboard end to end: a real ``groundshare serve`` on the demo network, driven in headless Chromium.

The server runs on SQLite in a temporary folder, loaded with ``groundshare demo load
--plan-days 1`` (the demo network, its contacts planned for 2025-11-07; once for the module),
its network clock anchored at the demo's first day (mode "shifted").
Each test signs in with an organisation's demo token in a fresh browser context and
checks what the pages draw against what the JSON API returns to the same token, that
the browser logged no error and no request failed.  Screenshots go to
``$GROUNDSHARE_TEST_ARTIFACTS`` (default ``build/test-artifacts/web/``).

The browser is Debian's Chromium at ``/usr/bin/chromium`` (``.ci/run`` installs it),
driven by Playwright; Playwright's own browser downloads are never used.  Without it
the tests are skipped with the reason, except in CI, where they fail.  The server, the
browser and the watched page are the fixtures of ``conftest.py``, built on
``tests/support/dashboard.py``.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.support.dashboard import (
    ORG_A,
    ORG_B,
    PHONE,
    WAIT_MS,
    DemoServer,
    all_rows,
    artifacts_dir,
    day_start,
    iso,
    sign_in,
)
from tests.support.served import network_clock

pytestmark = [pytest.mark.service, pytest.mark.browser, pytest.mark.slow]


def give_link_parameters(demo: DemoServer, contact: dict[str, Any]) -> None:
    """PATCH the contact's satellite (UHF downlink) and its antenna (G/T), each with its owner's token."""
    with demo.api(ORG_A) as api:
        orgs = {o["id"]: o["name"] for o in all_rows(api, "/orgs")}
        satellite = api.get(f"/satellites/{contact['satellite_id']}").json()
        station = api.get(f"/stations/{contact['station_id']}").json()
    with demo.api(orgs[satellite["org_id"]]) as owner:
        owner.patch(f"/satellites/{satellite['id']}", json={
            "downlink_frequency_hz": 437.5e6, "downlink_eirp_dbw": 0.0, "data_rate_bps": 9600.0}).raise_for_status()
    with demo.api(orgs[station["org_id"]]) as owner:
        owner.patch(f"/stations/{station['id']}/antennas/{contact['antenna_id']}",
                    json={"g_over_t_dbk": -15.0}).raise_for_status()


def test_map_draws_the_stations_and_satellites_the_org_may_see(page: Any, demo: DemoServer) -> None:
    page.goto("/")
    page.wait_for_url("**/dashboard/#/signin")  # the catalogue loads first, then the shell routes
    sign_in(page, demo.tokens[ORG_A], ORG_A)
    with demo.api(ORG_A) as api:
        stations = all_rows(api, "/stations")
        satellites = all_rows(api, "/satellites")
        clock = api.get("/clock").json()
    page.wait_for_selector("#map-svg path.land")
    assert page.locator("#map-svg .station-marker").count() == len(stations) >= 1
    assert page.locator("#map-svg .footprint").count() == len(stations)
    labels = set(page.locator("#map-svg .station-label").all_text_contents())
    assert labels == {s["name"] for s in stations}
    assert page.locator("#map-svg .satellite-marker").count() == len(satellites)
    assert page.locator("#map-svg .track-ahead").count() == len(satellites)
    assert clock["mode"] == "shifted"  # the demo data is dated 2025-11-06
    banner = page.locator("#demo-banner")
    assert banner.is_visible() and "behind the wall clock" in banner.inner_text()
    assert page.locator("#map-time").inner_text().startswith(clock["now"][:10])
    assert page.locator("#net-clock").inner_text().startswith(clock["now"][:10])  # the header's running clock
    page.screenshot(path=artifacts_dir() / "map.png")

    # Play moves the map's clock (and the satellites); pause stops it.
    shown = page.locator("#map-time").inner_text()
    page.get_by_role("button", name="Play").click()
    page.wait_for_function("shown => document.getElementById('map-time').textContent !== shown", arg=shown)
    page.get_by_role("button", name="Pause").click()
    assert page.get_by_role("button", name="Play").get_attribute("aria-pressed") == "false"

    # A smaller footprint for a lower satellite, then the next contact moves the map's clock.
    before = page.locator("#map-svg .footprint").first.get_attribute("d")
    page.get_by_label("Footprint altitude (km)").fill("300")
    assert page.locator("#map-svg .footprint").first.get_attribute("d") != before
    page.get_by_role("button", name="Jump to next contact").click()
    page.wait_for_function("() => document.getElementById('map-next-info').textContent.startsWith('Contact')")
    assert page.locator("#map-time").inner_text() != clock["now"][:19].replace("T", " ") + " UTC"


def test_timeline_holds_the_contacts_and_opens_one(page: Any, demo: DemoServer) -> None:
    sign_in(page, demo.tokens[ORG_A], ORG_A)
    with demo.api(ORG_A) as api:
        start = day_start(api.get("/clock").json()["now"])
        end = start + timedelta(days=2)
        contacts = all_rows(api, "/contacts", start=iso(start), end=iso(end))
    assert contacts, "the planned demo day should give the organisation contacts"
    page.get_by_role("link", name="Timeline").click()
    page.wait_for_selector(".gantt .contact-bar")
    bars = page.locator(".gantt .contact-bar")
    assert bars.count() == len(contacts)
    assert {int(i) for i in bars.evaluate_all("bars => bars.map(b => b.dataset.contactId)")} == {
        c["id"] for c in contacts}
    assert page.locator("#tl-unserved .unserved-mark").count() >= 1

    # Give one contact's satellite and antenna link parameters, so that its details chart margin and data rate.
    contact = contacts[len(contacts) // 2]
    give_link_parameters(demo, contact)
    # Keyboard: focus its bar and press Enter.
    bar = page.locator(f'.gantt .contact-bar[data-contact-id="{contact["id"]}"]')
    contact_id = str(contact["id"])
    bar.focus()
    page.keyboard.press("Enter")
    details = page.locator("#contact-details")
    details.locator(".sky-path").wait_for()
    assert details.locator("h2").inner_text().startswith(f"Contact {contact_id}:")
    element_text = details.locator("pre.element-text").inner_text().splitlines()
    assert element_text[1].startswith("1 ") and element_text[2].startswith("2 ")
    assert details.locator(".sky-path").get_attribute("d").startswith("M")
    assert details.locator("svg.spark .line").count() == 2  # margin and data rate along the pass
    details.scroll_into_view_if_needed()
    page.screenshot(path=artifacts_dir() / "timeline-details.png", full_page=True)


def test_ledger_shows_the_weeks_rows_and_chart(page: Any, demo: DemoServer) -> None:
    sign_in(page, demo.tokens[ORG_A], ORG_A)
    page.get_by_role("link", name="Ledger").click()
    page.wait_for_selector("#ledger-table tr.ledger-row")
    start = page.get_by_label("From (UTC)").input_value()
    end = page.get_by_label("To (UTC)").input_value()
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT00:00:00Z", start) and re.fullmatch(r"\d{4}-\d\d-\d\dT00:00:00Z", end)
    with demo.api(ORG_A) as api:
        ledger = api.get("/ledger", params={"start": start, "end": end, "period": "week"}).json()
    assert page.locator("#ledger-table tr.ledger-row").count() == ledger["count"] >= 1
    assert page.locator("#ledger-chart svg[role=img] rect").count() >= 2
    page.screenshot(path=artifacts_dir() / "ledger.png", full_page=True)


def test_private_satellite_disappears_for_another_org(page: Any, demo: DemoServer) -> None:
    with demo.api(ORG_A) as api:
        private = next(s for s in all_rows(api, "/satellites") if not s["is_public"])
    with demo.api(ORG_B) as api:
        assert private["id"] not in {s["id"] for s in all_rows(api, "/satellites")}
    row = f'.satellite-row[data-norad="{private["norad_id"]}"]'
    marker = f'#map-svg .satellite[data-norad="{private["norad_id"]}"]'

    sign_in(page, demo.tokens[ORG_A], ORG_A)
    assert page.locator(marker).count() == 1
    page.get_by_role("link", name="Satellites").click()
    page.wait_for_selector(".satellite-row")
    assert page.locator(row).count() == 1
    assert private["name"] in page.locator(row).inner_text()

    page.get_by_role("button", name="Sign out").click()
    page.get_by_label("API token").wait_for()
    assert page.locator("#org-name").inner_text() == ""
    sign_in(page, demo.tokens[ORG_B], ORG_B)
    assert page.locator(marker).count() == 0
    page.get_by_role("link", name="Satellites").click()
    page.wait_for_selector(".satellite-row")
    assert page.locator(row).count() == 0

    # A phone: the page fits its width (no sideways scrolling) and the nav stays reachable.
    page.set_viewport_size(PHONE)
    page.get_by_role("link", name="Map").click()
    page.wait_for_selector("#map-svg path.land")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert page.get_by_role("link", name="Timeline").is_visible()
    page.screenshot(path=artifacts_dir() / "phone-map.png", full_page=True)


def test_gnss_page_draws_the_dops_of_a_chosen_station(page: Any, demo: DemoServer) -> None:
    with demo.api(ORG_A) as api:
        stations = sorted(all_rows(api, "/stations"), key=lambda s: s["name"])
    assert len(stations) >= 2
    sign_in(page, demo.tokens[ORG_A], ORG_A)
    page.get_by_role("link", name="GNSS").click()
    page.wait_for_selector("#gnss-chart svg polyline")
    chosen = stations[1]
    page.get_by_label("Station").select_option(str(chosen["id"]))
    summary = page.locator("#gnss-summary")
    summary.filter(has_text=chosen["name"]).wait_for()
    page.wait_for_selector("#gnss-chart svg polyline")
    text = summary.inner_text()
    assert "satellites" in text and "PDOP ≤ 6 for" in text and "% of the time" in text and "mask" in text
    dops = page.locator("#gnss-chart .gnss-dops svg")
    assert dops.locator("path.dop-line").count() == 3 and dops.locator(".axis .tick").count() >= 4
    assert page.locator("#gnss-chart .gnss-sky polyline.sky-track").count() >= 4
    assert page.locator("#gnss-chart .gnss-sky .compass").all_text_contents() == ["N", "E", "S", "W"]
    legend = page.locator("#gnss-chart .gnss-sky .legend").inner_text()
    assert "GPS" in legend and "Galileo" in legend
    page.screenshot(path=artifacts_dir() / "gnss.png", full_page=True)


class Requests:
    """Every request the page makes, and how many are still in flight."""

    def __init__(self, page: Any) -> None:
        self.urls: list[str] = []
        self.pending = 0
        page.on("request", self._started)
        page.on("requestfinished", self._ended)
        page.on("requestfailed", self._ended)

    def _started(self, request: Any) -> None:
        self.urls.append(request.url)
        self.pending += 1

    def _ended(self, _request: Any) -> None:
        self.pending -= 1

    def settle(self, page: Any, quiet_ms: int = 500) -> None:
        """Wait until no request has been in flight for ``quiet_ms`` (at most ``WAIT_MS``)."""
        deadline = time.monotonic() + WAIT_MS / 1000
        quiet_since = None
        while time.monotonic() < deadline:
            if self.pending:
                quiet_since = None
            elif quiet_since is None:
                quiet_since = time.monotonic()
            elif time.monotonic() - quiet_since >= quiet_ms / 1000:
                return
            page.wait_for_timeout(50)
        raise AssertionError(f"{self.pending} requests still in flight after {WAIT_MS} ms")


#: Answers that take long on a real network (tracks and DOPs are computed on request): the
#: navigation test holds them until the last page has drawn, then lets them through.
SLOW_ANSWERS = re.compile(r"/(ledger|satellites/tracks|stations/\d+/gnss)\?")


def test_rapid_navigation_leaves_only_the_last_page(page: Any, demo: DemoServer) -> None:
    with demo.api(ORG_A) as api:
        stations = all_rows(api, "/stations")
    sign_in(page, demo.tokens[ORG_A], ORG_A)
    requests = Requests(page)
    held: list[Any] = []
    released = False

    def hold(route: Any) -> None:
        if released:
            route.continue_()
        else:
            held.append(route)

    page.route(SLOW_ANSWERS, hold)
    # Through the nav bar without waiting for any page, then hash changes in one go.
    for name in ("Timeline", "Ledger", "Stations", "Satellites", "GNSS", "Map", "Ledger"):
        page.get_by_role("link", name=name).click()
    page.evaluate("""() => {
      for (const hash of ["#/timeline", "#/satellites", "#/ledger", "#/gnss", "#/map", "#/stations"]) {
        location.hash = hash;
      }
    }""")
    page.wait_for_selector(".station-card")
    assert held, "the slow answers of the pages left behind should still be on their way"
    # Now the old pages' answers arrive, after the last page has drawn.
    released = True
    for route in held:
        route.continue_()
    requests.settle(page)

    assert page.url.endswith("#/stations")
    assert page.locator("#main h1").all_inner_texts() == ["Stations"]
    assert page.locator("#main > *").count() == 1
    assert page.locator(".station-card").count() == len(stations)
    for other in ("#map-svg", "#tl-gantt", "#ledger-table", ".satellite-row", "#gnss-chart", "#signin-form"):
        assert page.locator(other).count() == 0, f"{other} of another page is shown under Stations"
    assert page.locator("#error").is_hidden(), page.locator("#error").inner_text()
    assert page.locator("#nav-links a[aria-current=page]").all_inner_texts() == ["Stations"]
    page.screenshot(path=artifacts_dir() / "rapid-navigation.png", full_page=True)

    # Back to the map: it draws whole again, and a hash change away mid-load leaves the next page alone.
    page.evaluate("() => { location.hash = '#/map'; location.hash = '#/ledger'; }")
    page.wait_for_selector("#ledger-table tr.ledger-row")
    requests.settle(page)
    assert page.locator("#main h1").all_inner_texts() == ["Partner ledger"]
    assert page.locator("#map-svg").count() == 0


def test_dashboard_clock_is_the_networks_and_runs_at_the_wall_clocks_pace(page: Any, demo: DemoServer) -> None:
    sign_in(page, demo.tokens[ORG_A], ORG_A)
    with demo.api(ORG_A) as api:
        clock = api.get("/clock").json()
    assert clock["mode"] == "shifted" and clock["offset_s"] < 0
    banner = page.locator("#demo-banner")
    days = f"{abs(clock['offset_s']) / 86400:.1f}".removesuffix(".0")
    assert banner.is_visible() and f"runs {days} days behind the wall clock" in banner.inner_text()
    header = page.locator("#net-clock").inner_text()

    page.wait_for_timeout(2500)  # the dashboard read the clock at sign-in; it must have run on since
    assert page.locator("#net-clock").inner_text() != header  # the header's clock runs, each second
    with demo.api(ORG_A) as api:
        expected = datetime.fromisoformat(api.get("/clock").json()["now"].replace("Z", "+00:00"))
    page.get_by_role("button", name="Now").click()
    shown = datetime.strptime(page.locator("#map-time").inner_text(), "%Y-%m-%d %H:%M:%S UTC").replace(tzinfo=UTC)
    assert abs((shown - expected).total_seconds()) < 2.0, (shown, expected)

    # At the wall clock (mode "live") there is nothing to warn about.
    with network_clock(demo.server.database_url, None):
        page.reload()
        page.wait_for_selector("#map-svg .satellite-marker")
        assert page.locator("#demo-banner").is_hidden()
        shown = datetime.strptime(page.locator("#map-time").inner_text(), "%Y-%m-%d %H:%M:%S UTC")
        assert abs((shown.replace(tzinfo=UTC) - datetime.now(UTC)).total_seconds()) < 10.0


def header_problems(response: httpx.Response) -> list[str]:
    """What is missing or weak in the response's security headers."""
    h = response.headers
    where = f"{response.request.method} {response.request.url.path} ({response.status_code})"
    csp = h.get("content-security-policy", "")
    directives = {d.split()[0]: d.split()[1:] for d in (p.strip() for p in csp.split(";")) if d}
    problems = []
    script_src = directives.get("script-src", directives.get("default-src", []))
    if "'self'" not in script_src or "'unsafe-inline'" in script_src or "'unsafe-eval'" in script_src:
        problems.append(f"{where}: script-src {script_src}")
    if any("*" in source or source.startswith("http") for sources in directives.values() for source in sources):
        problems.append(f"{where}: a policy allowing other origins: {csp}")
    if directives.get("frame-ancestors") != ["'none'"]:
        problems.append(f"{where}: frame-ancestors {directives.get('frame-ancestors')}")
    if h.get("x-content-type-options") != "nosniff":
        problems.append(f"{where}: X-Content-Type-Options {h.get('x-content-type-options')}")
    if h.get("referrer-policy") not in {"no-referrer", "strict-origin"}:
        problems.append(f"{where}: Referrer-Policy {h.get('referrer-policy')}")
    return problems


def test_every_response_carries_the_security_headers(demo: DemoServer) -> None:
    problems: list[str] = []
    with httpx.Client(base_url=demo.server.base_url, timeout=60.0) as anonymous, demo.api(ORG_A) as api:
        responses = [anonymous.get("/"), anonymous.get("/dashboard/"), anonymous.get("/dashboard/js/app.js"),
                     anonymous.get("/dashboard/vendor/d3/d3.min.js"), anonymous.get("/openapi.json"),
                     anonymous.get("/docs"), anonymous.get("/orgs/me"), anonymous.get("/no-such-page"),
                     api.get("/clock"), api.get("/stations", params={"limit": "many"}),
                     api.post("/contacts", json={})]
        assert [r.status_code for r in responses] == [307, 200, 200, 200, 200, 200, 401, 404, 200, 422, 422]
        for response in responses:
            problems += header_problems(response)
        dashboard_csp = responses[1].headers["content-security-policy"]
        assert "style-src 'self'" in dashboard_csp and "unsafe" not in dashboard_csp
        assert re.search(r"script-src 'self' 'sha256-[A-Za-z0-9+/]+=*'$", responses[5].headers[
            "content-security-policy"].split(";")[1].strip())
        # ReDoc is not served: its bundle needs inline styles and blob: workers.
        assert anonymous.get("/redoc").status_code == 404
    assert problems == []
    # The dashboard's page itself holds no inline script or event handler.
    html = responses[1].text
    assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", html) == []
    assert re.findall(r"\son[a-z]+\s*=", html) == []


def test_api_docs_render_offline_under_their_policy(page: Any, demo: DemoServer) -> None:
    schema = httpx.get(f"{demo.server.base_url}/openapi.json", timeout=60.0).json()
    operations = sum(1 for item in schema["paths"].values() for method in item
                     if method in {"get", "put", "post", "delete", "patch", "head", "options"})
    requests = Requests(page)
    page.goto("/docs")
    page.wait_for_selector("#swagger-ui .opblock")
    requests.settle(page)
    assert page.locator("#swagger-ui .opblock").count() == operations
    assert page.locator("#swagger-ui .info .title").inner_text().startswith("groundshare")
    outside = [url for url in requests.urls if not url.startswith(f"{demo.server.base_url}/")]
    assert outside == [], "the docs page reached beyond the server"
    assert f"{demo.server.base_url}/dashboard/vendor/swagger-ui/swagger-ui-bundle.js" in requests.urls
    # An operation opens, with its parameters.
    page.locator("#swagger-ui .opblock-summary-path", has_text="/clock").first.click()
    page.wait_for_selector("#swagger-ui .opblock.is-open")
    page.screenshot(path=artifacts_dir() / "api-docs.png")


def test_map_filters_tracks_keeps_labels_apart_and_highlights_the_satellite_under_the_cursor(
        page: Any, demo: DemoServer) -> None:
    sign_in(page, demo.tokens[ORG_A], ORG_A)
    with demo.api(ORG_A) as api:
        me = api.get("/orgs/me").json()["org"]["id"]
        tracks = api.get("/satellites/tracks", params={"at": api.get("/clock").json()["now"]}).json()["data"]
    own = {s["satellite_id"] for s in tracks if s["org_id"] == me}
    assert own and len(own) < len(tracks)
    drawn = "els => [...new Set(els.map(e => Number(e.dataset.satelliteId)))]"
    assert set(page.locator("#map-svg .track-ahead").evaluate_all(drawn)) == {s["satellite_id"] for s in tracks}
    page.locator("#map-tracks").select_option("mine")
    assert set(page.locator("#map-svg .track-ahead").evaluate_all(drawn)) == own
    page.locator("#map-tracks").select_option("none")
    assert page.locator("#map-svg .track-ahead").count() == 0
    assert page.locator("#map-svg .satellite-marker").count() == len(tracks)  # markers stay; tracks go
    page.locator("#map-tracks").select_option("all")

    # The labels shown never overlap one another (a label with no free spot is dropped, its marker kept).
    boxes = page.locator("#map-svg .satellite-label:not(.dropped), #map-svg .station-label").evaluate_all(
        "els => els.filter(e => e.textContent).map(e => { const b = e.getBBox(); "
        "return [b.x, b.y, b.x + b.width, b.y + b.height]; })")
    assert len(boxes) > len(tracks) // 2
    overlaps = [(a, b) for i, a in enumerate(boxes) for b in boxes[i + 1:]
                if a[0] < b[2] - 0.5 and b[0] < a[2] - 0.5 and a[1] < b[3] - 0.5 and b[1] < a[3] - 0.5]
    assert overlaps == []

    # The satellite under the cursor: its marker and track stand out, the others fade, its name shows.
    target = next(s for s in tracks if s["satellite_id"] in own)
    page.locator(f'#map-svg g.satellite[data-satellite-id="{target["satellite_id"]}"] .satellite-marker').hover()
    assert page.locator(f'#map-svg g.satellite.highlight[data-satellite-id="{target["satellite_id"]}"]').count() == 1
    highlighted = page.locator("#map-svg .tracks path.highlight").evaluate_all(drawn)
    assert highlighted == [target["satellite_id"]]
    assert page.locator("#map-svg .tracks path.dimmed").count() == 2 * (len(tracks) - 1)
    assert target["name"] in page.locator("#map-hover").inner_text()
    page.mouse.move(5, 5)
    assert page.locator("#map-svg .tracks path.highlight").count() == 0


def test_timeline_follows_now_until_the_user_scrolls_away(page: Any, demo: DemoServer) -> None:
    sign_in(page, demo.tokens[ORG_A], ORG_A)
    page.get_by_role("link", name="Timeline").click()
    page.wait_for_selector(".gantt .contact-bar")
    now_line = page.locator(".gantt-scroll .now-line")
    in_view = """s => { const line = s.querySelector('.now-line'); const x = Number(line.getAttribute('x1'));
      return line.getAttribute('display') !== 'none' && x >= s.scrollLeft && x <= s.scrollLeft + s.clientWidth; }"""
    scroller = page.locator(".gantt-scroll")
    assert now_line.count() == 1 and scroller.evaluate(in_view)
    assert page.locator("#tl-follow").is_visible() and not page.locator("#tl-now").is_visible()
    x0 = float(now_line.get_attribute("x1"))
    page.wait_for_timeout(1500)
    assert float(now_line.get_attribute("x1")) > x0  # the line runs with the network's clock

    scroller.evaluate("s => { s.scrollLeft = s.scrollWidth; }")  # the user looks later in the window
    page.locator("#tl-now").wait_for()
    assert not page.locator("#tl-follow").is_visible() and not scroller.evaluate(in_view)
    page.wait_for_timeout(1200)  # a tick of the clock does not pull the view back
    assert not scroller.evaluate(in_view)
    page.locator("#tl-now").click()
    page.locator("#tl-follow").wait_for()
    assert scroller.evaluate(in_view)
