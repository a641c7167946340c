"""The timeline of a busy week: 20 antennas, every contact drawn, and how long the browser took.

This module's own served demo network grows to 20 antennas (KARI adds antennas to its
stations through the API) and a week of contacts on each (a contact every three hours on
every antenna, written straight into the store, as a busy network's planner would have
booked them).  The timeline measures itself (``performance.measure("timeline-draw")``, from
its navigation to the first window drawn, and ``"timeline-gantt"`` for the chart alone); the
test reads both, prints them (``-s``) and writes them to ``artifacts_dir()/timeline-speed.txt``.
The target is under a second on the development machine; the figure is reported, never
asserted (a test's timing says more about the machine's load than about the page).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from groundshare.store import create_engine_for
from groundshare.store.models import Contact
from tests.support.dashboard import ORG_A, PHONE, DemoServer, all_rows, artifacts_dir, day_start, sign_in

pytestmark = [pytest.mark.service, pytest.mark.browser, pytest.mark.slow]

ANTENNAS = 20
DAYS = 7
EVERY_H = 3
CONTACT_MIN = 10


@pytest.fixture(scope="module")
def busy_week(demo: DemoServer) -> dict[str, Any]:
    """Grow the network to ANTENNAS antennas with a contact every EVERY_H hours on each for DAYS days."""
    from sqlalchemy.orm import Session

    with demo.api(ORG_A) as api:
        me = api.get("/orgs/me").json()["org"]
        start = day_start(api.get("/clock").json()["now"]) + timedelta(days=1)  # the demo planned the first day
        stations = [s for s in all_rows(api, "/stations") if s["org_id"] == me["id"]]
        antennas = [antenna for station in all_rows(api, "/stations")
                    for antenna in api.get(f"/stations/{station['id']}/antennas").json()["data"]]
        for i in range(ANTENNAS - len(antennas)):
            station = stations[i % len(stations)]
            response = api.post(f"/stations/{station['id']}/antennas", json={"name": f"dish-{i + 1:02d}", "band": "s"})
            assert response.status_code == 201, response.text
            antennas.append(response.json())
        satellites = [s["id"] for s in all_rows(api, "/satellites")]
    assert len(antennas) == ANTENNAS
    engine = create_engine_for(demo.server.database_url)
    rows = []
    for k, antenna in enumerate(antennas):
        for slot in range(DAYS * 24 // EVERY_H):
            begin = start + timedelta(hours=slot * EVERY_H, minutes=(7 * k) % 60 + 20)
            end = begin + timedelta(minutes=CONTACT_MIN)
            rows.append(Contact(antenna_id=antenna["id"], satellite_id=satellites[(k + slot) % len(satellites)],
                                org_id=me["id"], start_time=begin, end_time=end, busy_until=end,
                                notes="timeline speed test"))
    with Session(engine) as session:
        session.add_all(rows)
        session.commit()
    engine.dispose()
    return {"start": start, "contacts": len(rows)}


def draw_time_ms(page: Any, name: str) -> float:
    """The duration of the page's last performance measure ``name`` (ms)."""
    page.wait_for_function("name => performance.getEntriesByName(name).length > 0", arg=name)
    return page.evaluate("name => performance.getEntriesByName(name).at(-1).duration", name)


def test_a_week_on_twenty_antennas_is_drawn_whole_and_its_draw_time_recorded(page: Any, demo: DemoServer,
                                                                            busy_week: dict[str, Any]) -> None:
    sign_in(page, demo.tokens[ORG_A], ORG_A)
    start = busy_week["start"].strftime("%Y-%m-%dT%H:%M:%SZ")
    lines = []
    for size, viewport in (("desktop", None), ("phone", PHONE)):
        if viewport:
            page.set_viewport_size(viewport)
        # The week opens straight from the address: the page's first window is the one measured.
        page.goto("/dashboard/#/map")
        page.wait_for_selector("#map-svg .satellite-marker")
        page.evaluate("() => performance.clearMeasures()")
        page.evaluate("""start => {
          sessionStorage.setItem("groundshare.timeline", JSON.stringify({ start, days: 7 }));
          location.hash = "#/timeline";
        }""", start)
        page.wait_for_selector(".gantt .contact-bar")
        total = draw_time_ms(page, "timeline-draw")
        chart = draw_time_ms(page, "timeline-gantt")
        bars = page.locator(".gantt .contact-bar").count()
        rows = page.locator(".gantt-labels .row-label").count()
        assert page.locator("#tl-days").input_value() == "7"
        assert rows >= ANTENNAS and bars >= busy_week["contacts"], (rows, bars)
        page.screenshot(path=artifacts_dir() / f"timeline-speed-{size}.png")
        lines.append(f"{size}: a week ({bars} contacts on {rows} antennas) drawn {total:.0f} ms after navigation "
                     f"(the chart itself {chart:.0f} ms)")
    report = "\n".join(lines)
    print(f"\n{report}")
    (artifacts_dir() / "timeline-speed.txt").write_text(report + "\n", encoding="utf-8")
