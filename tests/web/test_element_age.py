"""The dashboard says how old the orbit behind each pass and contact is: fresh, stale or expired, in three languages.

A real ``groundshare serve`` on the demo network (this module's own, from the fixtures of
``conftest.py``), driven in headless Chromium.  The demo's CubeSats fly element sets of the
network's first day (fresh at its clock).  KARI registers three more satellites from the
shipped 2026-03-19 active catalogue and, as an operator would, uploads one's set re-dated 10
days before the network's now (stale past the 3-day warning) and another's 20 days before
(expired past the 14-day error); the third gets none.  It books the stale one on one of its
antennas.  Every badge must show what the JSON API answers to the same token: the state of
each satellite's orbit in force (``elements_in_force``) on the Satellites and Stations pages,
on the timeline and in a contact's details, and each pass's own (``element_state``,
``element_age_s``) on the satellite's page, whose passes are read from the very answer the
page got.  Any browser error or refused request fails the test (``watched_page``): a
satellite without elements is not asked for passes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from groundshare.data import data_path
from groundshare.orbits import load_elements
from groundshare.orbits.tle import tle_checksum
from groundshare.timeutil import format_utc
from tests.support.dashboard import ORG_A, DemoServer, all_rows, artifacts_dir, day_start, sign_in, watched_page

pytestmark = [pytest.mark.service, pytest.mark.browser, pytest.mark.slow]

ACTIVE = "celestrak_active_2026-03-19.tle"
STALE_DAYS = 10  # past the default warning (3 days), before the default error (14 days)
EXPIRED_DAYS = 20  # past the default error
DAY_S = 86_400.0


def redated_tle(line1: str, line2: str, name: str, epoch: datetime) -> str:
    """Return the 3LE of ``line1``/``line2`` with its epoch (columns 19-32) set to ``epoch``, checksum redone."""
    start = datetime(epoch.year, 1, 1, tzinfo=UTC)
    day = (epoch - start).total_seconds() / DAY_S + 1.0
    body = f"{line1[:18]}{epoch.year % 100:02d}{day:012.8f}{line1[32:68]}"
    return f"{name}\n{body}{tle_checksum(body)}\n{line2}\n"


def _ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, f"{response.request.url} answered {response.status_code}: {response.text}"
    return response.json()


@dataclass(frozen=True)
class Aged:
    """What the fixture registered and booked."""

    stale: dict[str, Any]
    expired: dict[str, Any]
    bare: dict[str, Any]  # no element set
    contact: dict[str, Any]  # the stale satellite's, on KARI's antenna
    day: datetime  # the UTC day of the contact


@pytest.fixture(scope="module")
def aged(demo: DemoServer) -> Aged:
    with demo.api(ORG_A) as api:
        me = _ok(api.get("/orgs/me"))["org"]
        now = datetime.fromisoformat(_ok(api.get("/clock"))["now"].replace("Z", "+00:00")).replace(microsecond=0)
        taken = {s["norad_id"] for s in all_rows(api, "/satellites") if s["org_id"] == me["id"]}
        low = [e for e in load_elements(data_path(ACTIVE)).elements
               if e.mean_motion_rev_day > 14.5 and e.norad_id not in taken and e.line1 and e.line2]
        created = []
        for element_set, days in zip(low[:3], (STALE_DAYS, EXPIRED_DAYS, None), strict=True):
            satellite = _ok(api.post("/satellites", json={"norad_id": element_set.norad_id,
                                                          "name": f"{element_set.name} ({days or 'no'} d)"}), 201)
            if days is not None:
                text = redated_tle(element_set.line1, element_set.line2, element_set.name,
                                   now - timedelta(days=days))
                _ok(api.post(f"/satellites/{satellite['id']}/elements", content=text,
                             headers={"Content-Type": "text/plain"}), 201)
            created.append(_ok(api.get(f"/satellites/{satellite['id']}")))
        stale, expired, bare = created
        station = next(s for s in all_rows(api, "/stations") if s["org_id"] == me["id"])
        antenna = _ok(api.get(f"/stations/{station['id']}/antennas"))["data"][0]
        day = day_start(format_utc(now)) + timedelta(days=2)  # --plan-days 1 left it free
        start = day + timedelta(hours=9)
        contact = _ok(api.post("/contacts", json={
            "satellite_id": stale["id"], "antenna_id": antenna["id"], "allow_outside_pass": True,
            "start": format_utc(start), "end": format_utc(start + timedelta(minutes=8))}), 201)
    return Aged(stale, expired, bare, contact, day)


def test_the_api_judges_the_orbits_the_fixture_made(demo: DemoServer, aged: Aged) -> None:
    assert aged.stale["elements_in_force"]["state"] == "stale"
    assert aged.stale["elements_in_force"]["age_s"] == pytest.approx(STALE_DAYS * DAY_S, abs=600)
    assert aged.expired["elements_in_force"]["state"] == "expired"
    assert aged.bare["elements_in_force"] is None
    with demo.api(ORG_A) as api:
        states = {s["elements_in_force"]["state"] for s in all_rows(api, "/satellites") if s["elements_in_force"]}
    assert states == {"fresh", "stale", "expired"}  # the demo's own sets are of the network's first day


def badge(locator: Any) -> dict[str, Any]:
    """The state, age (s) and text of the age badge in ``locator``."""
    element = locator.locator(".age-badge").first
    return {"state": element.get_attribute("data-state"), "age_s": element.get_attribute("data-age-s"),
            "text": element.inner_text()}


def test_satellites_page_shows_each_orbit_in_force_and_its_age(page: Any, demo: DemoServer, aged: Aged) -> None:
    sign_in(page, demo.tokens[ORG_A], ORG_A)
    page.get_by_role("link", name="Satellites").click()
    page.locator(f'.satellite-row[data-satellite-id="{aged.bare["id"]}"]').wait_for()
    with demo.api(ORG_A) as api:
        satellites = {s["id"]: s for s in all_rows(api, "/satellites")}
    rows = page.locator("#satellites-table tr.satellite-row")
    assert rows.count() == len(satellites)
    counts = {"fresh": 0, "stale": 0, "expired": 0, "none": 0}
    for satellite in satellites.values():
        shown = badge(page.locator(f'.satellite-row[data-satellite-id="{satellite["id"]}"]'))
        in_force = satellite["elements_in_force"]
        state = in_force["state"] if in_force else "none"
        counts[state] += 1
        assert shown["state"] == state, satellite["name"]
        if in_force:
            assert abs(int(shown["age_s"]) - in_force["age_s"]) < 120  # the page asked a moment apart
            assert shown["text"].startswith(state)
    assert badge(page.locator(f'.satellite-row[data-satellite-id="{aged.stale["id"]}"]'))["text"] == \
        f"stale {STALE_DAYS} d"
    assert badge(page.locator(f'.satellite-row[data-satellite-id="{aged.expired["id"]}"]'))["text"] == \
        f"expired {EXPIRED_DAYS} d"
    assert badge(page.locator(f'.satellite-row[data-satellite-id="{aged.bare["id"]}"]'))["text"] == "no elements"
    assert page.locator("#age-counts").inner_text() == (
        f"Orbits in force: {counts['fresh']} fresh, {counts['stale']} stale, {counts['expired']} expired, "
        f"{counts['none']} without elements.")
    # The epoch beside the badge, and in its title.
    row = page.locator(f'.satellite-row[data-satellite-id="{aged.stale["id"]}"]')
    epoch = datetime.fromisoformat(aged.stale["elements_in_force"]["epoch"].replace("Z", "+00:00"))
    assert f"epoch {epoch:%Y-%m-%d %H:%M} UTC" in row.inner_text()
    assert f"epoch {epoch:%Y-%m-%d %H:%M:%S} UTC" in row.locator(".age-badge").get_attribute("title")
    page.screenshot(path=artifacts_dir() / "satellites-element-age.png", full_page=True)


def test_a_satellites_passes_carry_the_age_of_their_orbit(page: Any, demo: DemoServer, aged: Aged) -> None:
    sign_in(page, demo.tokens[ORG_A], ORG_A)
    with page.expect_response(re.compile(rf"/satellites/{aged.stale['id']}/passes\?")) as answer:
        page.goto(f"/dashboard/#/satellites/{aged.stale['id']}")
    passes = answer.value.json()["data"]
    assert passes, "a low orbit passes over KARI's stations within a day"
    assert {p["element_state"] for p in passes} == {"stale"}
    assert {p["element_set_id"] for p in passes} == {aged.stale["elements_in_force"]["id"]}
    rows = page.locator("#passes-table tr.pass-row")
    rows.first.wait_for()
    assert rows.count() == min(len(passes), 50)
    for i, p in enumerate(passes[:50]):
        row = rows.nth(i)
        assert row.get_attribute("data-aos") == p["aos"] and row.get_attribute("data-station") == p["station"]
        shown = badge(row)
        assert shown["state"] == p["element_state"]
        assert int(shown["age_s"]) == round(p["element_age_s"])
    assert page.locator("#passes-summary").inner_text().startswith(
        f"{len(passes)} pass{'es' if len(passes) != 1 else ''} over the stations you may see")
    assert badge(page.locator("#sat-in-force")) == {"state": "stale", "age_s": badge(page.locator("#sat-in-force"))[
        "age_s"], "text": f"stale {STALE_DAYS} d"}
    page.screenshot(path=artifacts_dir() / "satellite-passes-age.png", full_page=True)

    # A satellite without an element set: said so, and its passes are not asked for (the API would refuse).
    asked: list[str] = []
    page.on("request", lambda r: "/passes" in r.url and asked.append(r.url))
    page.goto(f"/dashboard/#/satellites/{aged.bare['id']}")
    page.locator("#passes-summary").filter(has_text="cannot be predicted").wait_for()
    assert badge(page.locator("#sat-in-force"))["state"] == "none"
    assert asked == []


def test_contacts_show_the_age_of_the_orbit_they_fly(page: Any, demo: DemoServer, aged: Aged) -> None:
    sign_in(page, demo.tokens[ORG_A], ORG_A)
    with demo.api(ORG_A) as api:
        states = {s["id"]: (s["elements_in_force"] or {}).get("state", "none") for s in all_rows(api, "/satellites")}

    # The timeline: each bar says its orbit's state; the stale satellite's contact opens with its badge.
    page.get_by_role("link", name="Timeline").click()
    page.wait_for_selector(".gantt .contact-bar")
    page.locator("#tl-start").fill(aged.day.strftime("%Y-%m-%d"))
    page.locator("#tl-days").select_option("1")
    page.get_by_role("button", name="Show", exact=True).click()
    bar = page.locator(f'.gantt .contact-bar[data-contact-id="{aged.contact["id"]}"]')
    bar.wait_for()
    assert bar.get_attribute("data-element-state") == "stale"
    assert f"stale: elements {STALE_DAYS} d old" in bar.get_attribute("aria-label")
    with demo.api(ORG_A) as api:
        contacts = all_rows(api, "/contacts", start=format_utc(aged.day), end=format_utc(aged.day + timedelta(days=1)))
    drawn = page.locator(".gantt .contact-bar")
    by_id = dict(zip(drawn.evaluate_all("bars => bars.map(b => Number(b.dataset.contactId))"),
                     drawn.evaluate_all("bars => bars.map(b => b.dataset.elementState)"), strict=True))
    assert by_id == {c["id"]: states.get(c["satellite_id"], "unknown") for c in contacts}
    bar.click()
    orbit = page.locator("#contact-orbit")
    orbit.wait_for()
    assert badge(orbit)["text"] == f"stale {STALE_DAYS} d"
    page.screenshot(path=artifacts_dir() / "contact-element-age.png", full_page=True)

    # The Stations page: each upcoming contact with its satellite's badge.
    page.get_by_role("link", name="Stations").click()
    page.locator(".station-card").first.wait_for()
    rows = page.locator(".station-card tr.contact-row")
    assert rows.count() > 0, "the demo plans contacts on the network's first day"
    with demo.api(ORG_A) as api:
        for i in range(rows.count()):
            contact = _ok(api.get(f"/contacts/{rows.nth(i).get_attribute('data-contact-id')}"))
            # Another organisation's private satellite on KARI's antenna: its orbit is not KARI's to see.
            assert badge(rows.nth(i))["state"] == states.get(contact["satellite_id"], "unknown")


def test_badges_in_spanish_and_korean(browser: Any, demo: DemoServer, aged: Aged) -> None:
    with watched_page(browser, demo, locale="es-MX") as page:
        sign_in(page, demo.tokens[ORG_A], ORG_A)
        keys = page.evaluate("""async () => {
          const { STRINGS } = await import("./js/i18n.js");
          return Object.fromEntries(Object.entries(STRINGS).map(([lang, table]) => [lang, Object.keys(table).sort()]));
        }""")
        assert keys["es"] == keys["en"] == keys["ko"]
        assert {"age.state.fresh", "age.state.stale", "age.state.expired", "age.none"} <= set(keys["en"])
        page.goto(f"/dashboard/#/satellites/{aged.stale['id']}")
        page.locator("#passes-table tr.pass-row").first.wait_for()
        assert badge(page.locator("#sat-in-force"))["text"] == f"desactualizado {STALE_DAYS} d"
        assert badge(page.locator("#passes-table tr.pass-row"))["text"] == f"desactualizado {STALE_DAYS} d"
        assert page.locator("#passes-table th").all_inner_texts()[-1] == "Elementos"
        page.goto(f"/dashboard/#/satellites/{aged.expired['id']}")
        page.locator("#sat-in-force .age-badge[data-state=expired]").wait_for()
        assert badge(page.locator("#sat-in-force"))["text"] == f"vencido {EXPIRED_DAYS} d"

        page.locator("#lang-select").select_option("ko")
        page.locator("#passes-title").filter(has_text="앞으로 24시간의 패스").wait_for()
        assert badge(page.locator("#sat-in-force"))["text"] == f"만료 {EXPIRED_DAYS}일"
        page.goto(f"/dashboard/#/satellites/{aged.bare['id']}")
        page.locator("#sat-in-force .age-badge[data-state=none]").wait_for()
        assert badge(page.locator("#sat-in-force"))["text"] == "궤도 요소 없음"
        page.screenshot(path=artifacts_dir() / "satellite-element-age-ko.png", full_page=True)
