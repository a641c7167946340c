"""The console's first workflow in a real browser: my satellite's passes -> a booking.

A real ``groundshare serve`` on the demo network (this module's own, from the fixtures of
``conftest.py``), driven in headless Chromium as an operator would: pick a satellite, type
a start in ISO UTC and a span in hours, show the passes (every antenna the organisation may
use, its own and those shared with it by policy), and book one with its Book button.  The
booking is checked through the JSON API with the same organisation's token.  A pass booked
meanwhile through the API (a clash) is refused in the page with its reason in words.  A
viewer's token sees the passes but no Book button, and a booking forced with it through
the API is refused (403).  At 390 x 844 the page does not scroll sideways.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.support.dashboard import (
    ORG_A,
    PHONE,
    DemoServer,
    all_rows,
    artifacts_dir,
    iso,
    sign_in,
    watched_page,
)

pytestmark = [pytest.mark.service, pytest.mark.browser, pytest.mark.slow]

HOURS = 12


def _ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, f"{response.request.url} answered {response.status_code}: {response.text}"
    return response.json()


def _when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _inside_window(row: dict[str, Any]) -> tuple[str, str]:
    """The pass's AOS..LOS to the whole second inside it (as the page books it)."""
    aos, los = _when(row["aos"]).timestamp(), _when(row["los"]).timestamp()
    return (iso(datetime.fromtimestamp(math.ceil(aos), UTC)), iso(datetime.fromtimestamp(math.floor(los), UTC)))


def _start(api: httpx.Client) -> datetime:
    """The start typed in the page: the network's next UTC day (the demo has planned its first day full)."""
    now = _when(_ok(api.get("/clock"))["now"])
    return datetime(now.year, now.month, now.day, tzinfo=UTC) + timedelta(days=1)


def _free(row: dict[str, Any], busy: list[tuple[int, datetime, datetime]]) -> bool:
    """Whether no live contact (turnaround allowed for) meets the pass on its antenna."""
    margin = timedelta(minutes=5)
    aos, los = _when(row["aos"]) - margin, _when(row["los"]) + margin
    return not any(a == row["antenna_id"] and s < los and e > aos for a, s, e in busy)


def _choice(demo: DemoServer) -> tuple[dict[str, Any], datetime, list[dict[str, Any]]]:
    """One of KARI's satellites with three free passes over KARI's own antennas, the start, those passes.

    Free: bookable, and no live contact (of any satellite) on that antenna around the pass.
    """
    with demo.api(ORG_A) as api:
        me = _ok(api.get("/orgs/me"))["org"]
        start = _start(api)
        busy = [(c["antenna_id"], _when(c["start"]), _when(c["end"]))
                for c in all_rows(api, "/contacts", start=iso(start), end=iso(start + timedelta(hours=HOURS + 1)))
                if c["status"] in {"scheduled", "in_progress"}]
        own = [s for s in all_rows(api, "/satellites") if s["org_id"] == me["id"] and s.get("elements_in_force")]
        for satellite in own:
            rows = _ok(api.get(f"/satellites/{satellite['id']}/opportunities",
                               params={"start": iso(start), "hours": HOURS}))["data"]
            free = [r for r in rows if r["bookable"] and r["booked_contact_id"] is None
                    and r["owner_org_id"] == me["id"] and _free(r, busy)]
            if len(free) >= 3:
                return satellite, start, free
    raise AssertionError("no KARI satellite has three free passes over KARI's antennas in the demo's next hours")


def _show_passes(page: Any, satellite: dict[str, Any], start: datetime) -> None:
    """Pick the satellite, type the start and hours, and show the passes (as a user would)."""
    page.get_by_role("link", name="Passes").click()
    page.wait_for_selector("#passes-form")
    page.wait_for_selector("#passes-results table, #passes-results #passes-empty")  # the first, default listing
    page.get_by_label("Satellite").select_option(str(satellite["id"]))
    page.get_by_label("Start (UTC)").fill(iso(start))
    page.get_by_label("Hours").fill(str(HOURS))
    with page.expect_response(lambda r: f"/satellites/{satellite['id']}/opportunities" in r.url):
        page.get_by_role("button", name="Show passes").click()
    page.wait_for_selector("#passes-table tr.pass-row")


def _row(page: Any, pass_row: dict[str, Any]) -> Any:
    return page.locator(f'tr.pass-row[data-antenna-id="{pass_row["antenna_id"]}"][data-aos="{pass_row["aos"]}"]')


def test_operator_books_a_pass_and_a_clash_is_refused_in_words(browser: Any, demo: DemoServer) -> None:
    satellite, start, free = _choice(demo)
    with watched_page(browser, demo, expect_refusals={409}) as page:
        sign_in(page, demo.tokens[ORG_A], ORG_A)
        _show_passes(page, satellite, start)
        with demo.api(ORG_A) as api:
            listed = _ok(api.get(f"/satellites/{satellite['id']}/opportunities",
                                 params={"start": iso(start), "hours": HOURS}))["data"]
        assert page.locator("#passes-table tr.pass-row").count() == len(listed)
        assert page.locator("#passes-table .age-badge").count() == len(listed)

        # Book the first free pass with its button: the row turns booked and the contact is shown.
        first = free[0]
        _row(page, first).get_by_role("button", name="Book the pass").click()
        page.wait_for_selector("#passes-status[data-contact-id], #passes-refusal:not([hidden])")
        assert page.locator("#passes-refusal").is_hidden(), page.locator("#passes-refusal").inner_text()
        contact_id = int(page.locator("#passes-status").get_attribute("data-contact-id"))
        assert f"Booked contact {contact_id}" in page.locator("#passes-status").inner_text()
        assert "booked" in (_row(page, first).get_attribute("class") or "")
        assert _row(page, first).get_by_role("button").count() == 0
        with demo.api(ORG_A) as api:
            contact = _ok(api.get(f"/contacts/{contact_id}"))
        assert (contact["antenna_id"], contact["satellite_id"], contact["status"]) == (
            first["antenna_id"], satellite["id"], "scheduled")
        assert _when(first["aos"]) <= _when(contact["start"]) < _when(contact["end"]) <= _when(first["los"])
        page.screenshot(path=artifacts_dir() / "passes-booked-en-desktop.png", full_page=True)

        # Another pass is booked through the API meanwhile: the page's Book is refused as a clash, in words.
        second = free[1]
        window = _inside_window(second)
        with demo.api(ORG_A) as api:
            _ok(api.post("/contacts", json={"antenna_id": second["antenna_id"], "satellite_id": satellite["id"],
                                            "start": window[0], "end": window[1]}), 201)
        _row(page, second).get_by_role("button", name="Book the pass").click()
        refusal = page.locator("#passes-refusal")
        refusal.wait_for(state="visible")
        text = refusal.inner_text()
        assert "clashes with another booking" in text
        assert refusal.locator("ul[translate='no'] li").count() >= 1  # the API's own reason, quoted
        assert any(line.startswith("HTTP 409: POST") and line.endswith("/contacts") for line in page.refusals)
        page.screenshot(path=artifacts_dir() / "passes-refused-en-desktop.png", full_page=True)


def _give_link_parameters(api: httpx.Client, satellite: dict[str, Any]) -> set[int]:
    """Give the satellite a UHF downlink and KARI's antennas a G/T; return those antennas' ids."""
    me = _ok(api.get("/orgs/me"))["org"]
    _ok(api.patch(f"/satellites/{satellite['id']}", json={
        "downlink_frequency_hz": 437.5e6, "downlink_eirp_dbw": 0.0, "data_rate_bps": 9600.0}))
    antennas = set()
    for station in all_rows(api, "/stations"):
        if station["org_id"] != me["id"]:
            continue
        for antenna in _ok(api.get(f"/stations/{station['id']}/antennas"))["data"]:
            _ok(api.patch(f"/stations/{station['id']}/antennas/{antenna['id']}", json={"g_over_t_dbk": -15.0}))
            antennas.add(antenna["id"])
    return antennas


def test_viewer_sees_the_passes_but_cannot_book(browser: Any, demo: DemoServer) -> None:
    satellite, start, free = _choice(demo)
    with demo.api(ORG_A) as api:
        viewer = _ok(api.post("/tokens", json={"role": "viewer", "label": "console booking viewer"}), 201)["token"]
        known = _give_link_parameters(api, satellite)
    with watched_page(browser, demo) as page:
        sign_in(page, viewer, ORG_A)
        _show_passes(page, satellite, start)
        # Over KARI's antennas the radio parameters are known now: margin and volume are shown.
        for antenna_id in known & {r["antenna_id"] for r in free}:
            cells = page.locator(f'tr.pass-row[data-antenna-id="{antenna_id}"]').first.locator("td")
            assert cells.nth(6).inner_text().endswith("dB")
            assert cells.nth(7).inner_text() != "—"
        assert page.locator("#passes-viewer-note").is_visible()
        assert page.locator(".book-button").count() == 0
        assert page.get_by_role("button", name="Book the pass").count() == 0
        page.screenshot(path=artifacts_dir() / "passes-viewer-en-desktop.png", full_page=True)
    window = _inside_window(free[-1])
    with httpx.Client(base_url=demo.server.base_url, headers={"Authorization": f"Bearer {viewer}"}) as forced:
        response = forced.post("/contacts", json={"antenna_id": free[-1]["antenna_id"], "satellite_id": satellite["id"],
                                                  "start": window[0], "end": window[1]})
    assert response.status_code == 403, response.text


def test_passes_page_fits_a_phone(browser: Any, demo: DemoServer) -> None:
    satellite, start, _free = _choice(demo)
    with watched_page(browser, demo, viewport=PHONE) as page:
        sign_in(page, demo.tokens[ORG_A], ORG_A)
        page.goto("/dashboard/#/passes")  # the nav may fold on a phone: go by the address
        page.wait_for_selector("#passes-form")
        page.get_by_label("Satellite").select_option(str(satellite["id"]))
        page.get_by_label("Start (UTC)").fill(iso(start))
        page.get_by_role("button", name="Show passes").click()
        page.wait_for_selector("#passes-table tr.pass-row")
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        page.screenshot(path=artifacts_dir() / "passes-en-phone-rows.png", full_page=True)
