"""The dashboard end to end: a real ``groundshare serve`` on the demo network, driven in headless Chromium.

The server runs on SQLite in a temporary folder, loaded with ``groundshare demo load
--plan-days 1`` (the demo network, its contacts planned for 2025-11-07; once for the module).
Each test signs in with an organisation's demo token in a fresh browser context and
checks what the pages draw against what the JSON API returns to the same token, that
the browser logged no error and no request failed.  Screenshots go to
``$GROUNDSHARE_TEST_ARTIFACTS`` (default ``build/test-artifacts/web/``).

The browser is Debian's Chromium at ``/usr/bin/chromium`` (``.ci/run`` installs it),
driven by Playwright; Playwright's own browser downloads are never used.  Without it
the tests are skipped with the reason, except in CI, where they fail.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.service.server import ServedApi, cli, serve
from tests.store.conftest import in_ci

CHROMIUM = Path("/usr/bin/chromium")
REPO_ROOT = Path(__file__).resolve().parents[2]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
WAIT_MS = 20_000  # the longest any page may take to draw (tracks and geometry are computed on request)

ORG_A = "Korea Aerospace Research Institute (KARI)"
ORG_B = "Agencia Espacial Mexicana (AEM)"


def artifacts_dir() -> Path:
    folder = Path(os.environ.get("GROUNDSHARE_TEST_ARTIFACTS") or REPO_ROOT / "build" / "test-artifacts" / "web")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def chromium_path() -> Path:
    if not CHROMIUM.exists():
        reason = (f"{CHROMIUM} is missing: install Debian's Chromium (apt-get install chromium chromium-driver; "
                  ".ci/run does) to run the dashboard tests")
        if in_ci():
            pytest.fail(reason)
        pytest.skip(reason)
    return CHROMIUM


@dataclass
class DemoServer:
    """The served demo network and each organisation's admin token."""

    server: ServedApi
    tokens: dict[str, str]

    def api(self, org: str) -> httpx.Client:
        return httpx.Client(base_url=self.server.base_url, headers={"Authorization": f"Bearer {self.tokens[org]}"},
                            timeout=60.0)


@pytest.fixture(scope="module")
def demo(chromium_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoServer]:
    folder = tmp_path_factory.mktemp("web")
    url = f"sqlite:///{folder / 'demo.db'}"
    cli("db", "upgrade", database_url=url)
    tokens = dict(line.split("\t") for line in cli("demo", "load", "--plan-days", "1", database_url=url).splitlines())
    with serve(url, folder / "server.log") as server:
        yield DemoServer(server, tokens)


@pytest.fixture(scope="module")
def browser(chromium_path: Path) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium_path), args=["--no-sandbox"])
        yield browser
        browser.close()


@dataclass
class Problems:
    """What went wrong in the browser: console errors, page errors, failed or refused requests."""

    seen: list[str] = field(default_factory=list)

    def watch(self, page: Any) -> None:
        page.on("console", lambda m: m.type == "error" and self.seen.append(f"console error: {m.text}"))
        page.on("pageerror", lambda e: self.seen.append(f"page error: {e}"))
        page.on("requestfailed", lambda r: self.seen.append(f"request failed: {r.method} {r.url} {r.failure}"))
        page.on("response", lambda r: r.status >= 400
                and self.seen.append(f"HTTP {r.status}: {r.request.method} {r.url}"))


@pytest.fixture
def page(browser: Any, demo: DemoServer) -> Iterator[Any]:
    """A fresh browser context (empty sessionStorage) at desktop size; fails the test on any browser problem."""
    context = browser.new_context(viewport=DESKTOP, base_url=demo.server.base_url)
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    problems = Problems()
    problems.watch(page)
    yield page
    seen = list(problems.seen)
    context.close()
    assert seen == [], "the browser reported problems:\n" + "\n".join(seen)


def sign_in(page: Any, token: str, org: str) -> None:
    if "#/signin" not in page.url:
        page.goto("/")
    page.get_by_label("API token").fill(token)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_selector("#map-svg .satellite-marker")
    assert org in page.locator("#org-name").inner_text()


def day_start(text: str) -> datetime:
    now = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return datetime(now.year, now.month, now.day, tzinfo=UTC)


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def all_rows(client: httpx.Client, path: str, **params: Any) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    while True:
        response = client.get(path, params={**params, "limit": 500, "offset": len(rows)})
        response.raise_for_status()
        body = response.json()
        rows.extend(body["data"])
        if not body["data"] or len(rows) >= body["count"]:
            return rows


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
                    json={"g_over_t_db_k": -15.0}).raise_for_status()


def test_map_draws_the_stations_and_satellites_the_org_may_see(page: Any, demo: DemoServer) -> None:
    page.goto("/")
    assert page.url.endswith("/dashboard/#/signin")
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
    assert clock["mode"] == "epoch"  # the demo data is dated 2025-11-06
    banner = page.locator("#demo-banner")
    assert banner.is_visible() and clock["message"] in banner.inner_text()
    assert page.locator("#map-time").inner_text().startswith(clock["now"][:10])
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
    page.wait_for_function("document.getElementById('map-next-info').textContent.startsWith('Contact')")
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
    start = page.get_by_label("From").input_value()
    end = page.get_by_label("To").input_value()
    with demo.api(ORG_A) as api:
        ledger = api.get("/ledger", params={"start": f"{start}T00:00:00Z", "end": f"{end}T00:00:00Z",
                                            "period": "week"}).json()
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
    svg = page.locator("#gnss-chart svg").inner_html()
    assert "<polyline" in svg or "<path" in svg
    page.screenshot(path=artifacts_dir() / "gnss.png", full_page=True)
