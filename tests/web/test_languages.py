"""Every page of the dashboard in English, Spanish and Korean, on a desktop and on a phone.

For each page route, signed in as KARI on the served demo network: a screenshot of each
language and size to ``artifacts_dir()`` as ``<page>-<lang>-<desktop|phone>.png`` (all three
languages for the main pages, English for the editors and the rest), and the checks the
partners' operators need:

- ``?lang=`` picks the language and ``<html lang>`` says it;
- at 390 px the page never scrolls sideways (tables and charts scroll inside themselves);
- no visible text is smaller than 9 px (SVG text counts at the size it is drawn on screen:
  its font size times the scale of the SVG it is in);
- in Korean, no visible text outside data values (``[translate=no]``, ``code``, form fields,
  ``.num`` cells) holds a Latin word, bar the units and technical names of ``ALLOWED``.

And the header's switch changes the language of the page shown.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.dashboard import DESKTOP, ORG_A, PHONE, DemoServer, all_rows, artifacts_dir, sign_in

pytestmark = [pytest.mark.service, pytest.mark.browser, pytest.mark.slow]

LANGS = ("en", "es", "ko")
MAIN = ("map", "timeline", "passes", "requests", "plan", "leop", "ledger", "reports", "stations", "satellites",
        "sharing", "gnss")
#: page name -> (hash, what shows once it has drawn)
ROUTES: dict[str, tuple[str, str]] = {
    "map": ("#/map", "#map-svg .satellite-marker"),
    "timeline": ("#/timeline", ".gantt .contact-bar"),
    "passes": ("#/passes", "#passes-table, #passes-empty"),
    "requests": ("#/requests", "#requests-table, #requests-empty"),
    "plan": ("#/plan", "#upcoming-table, #plan-contacts-empty"),
    "leop": ("#/leop", "#leop-campaigns-table, #leop-campaigns-empty"),
    "ledger": ("#/ledger", "#ledger-table tr.ledger-row"),
    "reports": ("#/reports", "#report-summary-table tr.summary-row"),
    "stations": ("#/stations", ".station-card"),
    "stations-new": ("#/stations/new", "#station-form"),
    "satellites": ("#/satellites", ".satellite-row"),
    "satellites-new": ("#/satellites/new", "#satellite-form"),
    "satellite": ("#/satellites/{id}", "#passes-summary:not(:empty)"),
    "sharing": ("#/sharing", "#granted-table, #granted-empty"),
    "gnss": ("#/gnss", "#gnss-chart svg polyline"),
    "tokens": ("#/tokens", "#tokens-table"),
}
#: Latin words a Korean page may show: units, standards, protocol and constellation names.
ALLOWED = frozenset({
    "UTC", "GNSS", "NORAD", "ID", "dB", "dBW", "dB/K", "Hz", "kHz", "MHz", "GHz", "km", "s", "h", "m", "kB", "MB", "GB",
    "TB", "B", "SGP", "TLE", "OMM", "CSV", "ICS", "JSON", "API", "ISO", "AOS", "LOS", "TCA", "DOP", "PDOP", "HDOP",
    "VDOP", "GDOP", "GPS", "Galileo", "S", "X", "L", "C", "Ku", "Ka", "UHF", "VHF", "HF", "SHF", "groundshare", "G/T",
    "EIRP", "SHA"})

#: What the page shows, read in the browser: its width, language, text too small, Latin words outside data.
INSPECT = """allowed => {
  const report = { scrollWidth: document.documentElement.scrollWidth, lang: document.documentElement.lang,
                   small: [], latin: [] };
  const allowedWords = new Set(allowed);
  const skipped = "script, style, title, desc, noscript, template, option, select, textarea";
  const data = "[translate=no], code, pre, kbd, samp, input, select, option, textarea, .num";
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    const text = node.textContent.trim();
    const el = node.parentElement;
    if (!text || !el || el.closest(skipped)) continue;
    if (!el.checkVisibility({ checkOpacity: true, checkVisibilityCSS: true })) continue;
    const range = document.createRange();
    range.selectNodeContents(node);
    if (![...range.getClientRects()].some((r) => r.width > 0 && r.height > 0)) continue;
    let size = parseFloat(getComputedStyle(el).fontSize);
    if (el instanceof SVGElement) {
      const m = el.getScreenCTM();
      if (m) size *= Math.hypot(m.a, m.b);
    }
    if (size < 8.99) report.small.push(`${size.toFixed(1)} px: ${text.slice(0, 60)}`);
    if (!el.closest(data)) {
      const words = (text.match(/[A-Za-z]+(?:\\/[A-Za-z]+)?/g) || []).filter((w) => !allowedWords.has(w));
      if (words.length) report.latin.push(`${words.join(" ")} in: ${text.slice(0, 80)}`);
    }
  }
  return report;
}"""


@pytest.fixture(scope="module")
def satellite_id(demo: DemoServer) -> int:
    with demo.api(ORG_A) as api:
        me = api.get("/orgs/me").json()["org"]
        return next(s["id"] for s in all_rows(api, "/satellites") if s["org_id"] == me["id"])


def show(page: Any, lang: str, route: str, ready: str) -> None:
    """Open ``route`` in ``lang`` (a full load: ``?lang=``) and wait for it to draw."""
    target = f"/dashboard/?lang={lang}{route}"
    if page.url.endswith(target):
        page.reload()  # the same address again: drawn anew at the new size
    else:
        page.goto(target)
    page.wait_for_selector(ready)
    page.wait_for_timeout(150)  # charts drawn in the same turn as their last answer, and fonts settled


def check(page: Any, name: str, lang: str, size: str) -> list[str]:
    """Screenshot the page and return what is wrong with it."""
    page.screenshot(path=artifacts_dir() / f"{name}-{lang}-{size}.png", full_page=True)
    report = page.evaluate(INSPECT, sorted(ALLOWED))
    problems = []
    if report["lang"] != lang:
        problems.append(f"<html lang> is {report['lang']!r}")
    if size == "phone" and report["scrollWidth"] > PHONE["width"]:
        problems.append(f"scrolls sideways: {report['scrollWidth']} px wide")
    problems += [f"text under 9 px: {line}" for line in report["small"][:10]]
    if lang == "ko":
        problems += [f"Latin text: {line}" for line in report["latin"][:10]]
    return [f"{name} {lang} {size}: {problem}" for problem in problems]


@pytest.mark.parametrize("name", list(ROUTES))
def test_page_in_each_language_on_desktop_and_phone(page: Any, demo: DemoServer, satellite_id: int, name: str) -> None:
    route, ready = ROUTES[name]
    route = route.format(id=satellite_id)
    sign_in(page, demo.tokens[ORG_A], ORG_A)
    problems: list[str] = []
    for lang in LANGS if name in MAIN else ("en",):
        for size, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
            page.set_viewport_size(viewport)
            show(page, lang, route, ready)
            assert page.locator("#lang-select").input_value() == lang
            problems += check(page, name, lang, size)
    page.set_viewport_size(DESKTOP)
    assert problems == []


def test_the_header_switch_and_the_address_choose_the_language(page: Any, demo: DemoServer) -> None:
    sign_in(page, demo.tokens[ORG_A], ORG_A)
    show(page, "es", "#/stations", ".station-card")
    assert page.evaluate("document.documentElement.lang") == "es"
    assert page.locator('#nav-links a[href="#/stations"]').inner_text() == "Estaciones"
    assert page.locator("#main h1").inner_text() == "Estaciones"
    page.locator("#lang-select").select_option("ko")
    page.locator("#main h1").filter(has_text="지상국").wait_for()
    assert page.evaluate("document.documentElement.lang") == "ko"
    assert page.locator('#nav-links a[href="#/map"]').inner_text() == "지도"
    assert "?lang=ko" in page.url  # a link copied now opens in Korean
    # The choice is kept: without ?lang= the page opens in Korean.
    page.goto("/dashboard/#/stations")
    page.locator(".station-card").first.wait_for()
    assert page.evaluate("document.documentElement.lang") == "ko"
    page.locator("#lang-select").select_option("en")
    page.locator("#main h1").filter(has_text="Stations").wait_for()
    assert page.evaluate("document.documentElement.lang") == "en"
