"""The console's launch-and-early-orbit page (``#/leop``) in a real browser.

A real ``groundshare serve`` on the demo network (this module's own, from the fixtures of
``conftest.py``), driven in headless Chromium as an operator would, each result checked
through the JSON API with the same organisation's token:

- a campaign is started for one of KARI's demo satellites with its own shipped element set
  as the deployment (read from a file by the browser), and the API holds what was typed;
- its windows are drawn, one row and one uncertainty bar per window of the API's plan, the
  nominal pass inside each where there is one;
- Book redundant contacts books contacts of the satellite that the campaign lists, and the
  page's counts are the API's; End campaign (after its inline confirm) ends it;
- identification with a candidates paste (the satellite's launch siblings) and no receptions
  in the frames store says there is nothing to rank by yet, lists every candidate 0/0, and
  the campaign keeps the ranking;
- a day of Doppler (our CSV, read from a file by the browser) names the satellite among its
  launch siblings with a clear confidence and lists the outliers left out; the fit of the best
  (B* too) is stored as the satellite's element set of source "fit", now in force;
- bad input (a negative uncertainty, a deployment that is no element set, candidates of two
  launches, a site mapping line that is no mapping) is refused with the field named and
  nothing is created;
- a viewer sees the campaign but no control.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import numpy as np
import pytest

from groundshare.leop.identify import synthetic_evidence
from groundshare.passes import Site
from groundshare.timeutil import datetime64_to_utc, format_utc
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
from tests.support.shipped import CUBESATS, shipped_catalogue

pytestmark = [pytest.mark.service, pytest.mark.browser, pytest.mark.slow]

HOURS = 24
WAIT_MS = 120_000  # planning the windows and booking over them take seconds each, more on a busy machine


def _ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, f"{response.request.url} answered {response.status_code}: {response.text}"
    return response.json()


def _when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _deploy_time(api: httpx.Client) -> datetime:
    """A deployment an hour into the network's next UTC day (the demo has planned its first day full)."""
    now = _when(_ok(api.get("/clock"))["now"])
    return datetime(now.year, now.month, now.day, tzinfo=UTC) + timedelta(days=1, hours=1)


def _tle(element_set: Any) -> str:
    return f"{element_set.name}\n{element_set.line1}\n{element_set.line2}\n"


def _own_satellite(api: httpx.Client) -> tuple[dict[str, Any], str, list[Any]]:
    """KARI's first demo satellite whose launch left siblings in the shipped catalogue: (satellite, its TLE, launch)."""
    me = _ok(api.get("/orgs/me"))["org"]
    catalogue = list(shipped_catalogue(CUBESATS))
    by_norad = {e.norad_id: e for e in catalogue}
    for satellite in sorted(all_rows(api, "/satellites"), key=lambda s: s["norad_id"]):
        own = by_norad.get(satellite["norad_id"])
        if satellite["org_id"] != me["id"] or own is None or not satellite.get("elements_in_force"):
            continue
        launch = [e for e in catalogue if e.object_id[:8] == own.object_id[:8]]
        if len(launch) >= 2:
            return satellite, _tle(own), sorted(launch, key=lambda e: e.norad_id)
    raise AssertionError("no KARI demo satellite with launch siblings in the shipped catalogue")


def _campaign_body(satellite: dict[str, Any], tle: str, deploy: datetime, name: str) -> dict[str, Any]:
    return {"satellite_id": satellite["id"], "name": name, "deployment_text": tle, "deploy_time": iso(deploy),
            "deploy_uncertainty_s": 300.0, "separation_dv_m_s": 0.5, "hours": HOURS, "stations_per_orbit": 2}


def _fill_form(page: Any, satellite: dict[str, Any], tle: str, deploy: datetime, name: str, *,
               uncertainty: str = "300") -> None:
    form = page.locator("#leop-form")
    form.wait_for()
    form.get_by_label("Satellite").select_option(str(satellite["id"]))
    form.get_by_label("Campaign name").fill(name)
    form.locator("#leop-deployment").fill(tle)
    form.get_by_label("Deployment time (UTC)").fill(iso(deploy))
    form.get_by_label("Deployment time uncertainty (± s)").fill(uncertainty)
    form.locator("#leop-dv").fill("0.5")
    form.get_by_label("Hours to plan").fill(str(HOURS))
    form.get_by_label("Stations per orbit").fill("2")


def test_operator_starts_a_campaign_sees_its_windows_books_and_ends_it(browser: Any, demo: DemoServer) -> None:
    with demo.api(ORG_A) as api:
        satellite, tle, _ = _own_satellite(api)
        deploy = _deploy_time(api)
        before = {c["id"] for c in all_rows(api, "/leop/campaigns")}
    name = f"{satellite['name']} first contact (browser)"
    with watched_page(browser, demo) as page:
        sign_in(page, demo.tokens[ORG_A], ORG_A)
        page.locator('#nav-links a[href="#/leop"]').click()
        page.locator("#leop-campaigns-table, #leop-campaigns-empty").first.wait_for()
        _fill_form(page, satellite, "", deploy, name)
        # The deployment read from a file, in the browser.
        page.locator("#leop-deployment-file").set_input_files(
            files=[{"name": "deployment.tle", "mimeType": "text/plain", "buffer": tle.encode()}])
        page.wait_for_function("text => document.querySelector('#leop-deployment').value === text", arg=tle)
        page.screenshot(path=artifacts_dir() / "leop-form-en-desktop.png", full_page=True)
        page.get_by_role("button", name="Start campaign").click()
        section = page.locator("#leop-campaign[data-campaign-id]")
        section.wait_for(timeout=WAIT_MS)
        campaign_id = int(section.get_attribute("data-campaign-id"))
        assert campaign_id not in before
        assert page.url.endswith(f"#/leop/{campaign_id}")
        with demo.api(ORG_A) as api:
            campaign = _ok(api.get(f"/leop/campaigns/{campaign_id}"))
            plan = _ok(api.get(f"/leop/campaigns/{campaign_id}/windows"))
        assert (campaign["satellite_id"], campaign["name"], campaign["status"]) == (satellite["id"], name, "active")
        assert _when(campaign["deploy_time"]) == deploy
        assert (campaign["deploy_uncertainty_s"], campaign["separation_dv_m_s"]) == (300.0, 0.5)
        assert (campaign["hours"], campaign["stations_per_orbit"]) == (HOURS, 2)
        assert campaign["deployment_kind"] == "elements"

        # The windows: one row and one uncertainty bar per window of the API's plan, the nominal pass inside.
        windows = plan["windows"]
        assert windows, "a low orbit passes over the demo's stations within hours"
        page.locator("#leop-plan-facts").wait_for(timeout=WAIT_MS)
        rows = page.locator("tr.leop-window-row")
        assert rows.count() == len(windows)
        shown = sorted((station, _when(aos)) for station, aos in rows.evaluate_all(
            "rs => rs.map(r => [r.dataset.station, r.dataset.earliestAos])"))
        assert shown == sorted((w["station"], _when(w["earliest_aos"])) for w in windows)
        assert page.locator("#leop-chart rect.leop-band").count() == len(windows)
        assert page.locator("#leop-chart rect.leop-nominal").count() == sum(1 for w in windows if w["aos"])
        inside = page.locator("#leop-chart").evaluate("""chart => {
          const box = (r) => ({ x: +r.getAttribute("x"), w: +r.getAttribute("width"), y: +r.getAttribute("y") });
          const bands = [...chart.querySelectorAll("rect.leop-band")].map(box);
          return [...chart.querySelectorAll("rect.leop-nominal")].map(box).every((n) => bands.some((b) =>
            b.y === n.y - 4 && b.x <= n.x + 0.01 && n.x + n.w <= b.x + b.w + 0.01));
        }""")
        assert inside, "every nominal pass is drawn inside its uncertainty window"
        page.screenshot(path=artifacts_dir() / "leop-campaign-en-desktop.png", full_page=True)

        # Book redundant contacts: the contacts the page names are the campaign's, of its satellite.
        page.get_by_role("button", name="Book redundant contacts").click()
        status = page.locator("#leop-action-status[data-booked]")
        status.wait_for(timeout=WAIT_MS)
        booked = {int(i) for i in status.get_attribute("data-booked").split(",") if i}
        assert booked, page.locator("#leop-booking").inner_text()
        with demo.api(ORG_A) as api:
            campaign = _ok(api.get(f"/leop/campaigns/{campaign_id}"))
            contacts = [_ok(api.get(f"/contacts/{i}")) for i in sorted(booked)]
        assert booked <= set(campaign["contact_ids"])
        assert all(c["satellite_id"] == satellite["id"] and c["status"] == "scheduled" for c in contacts)
        assert all(c.get("leop_campaign_id", campaign_id) == campaign_id for c in contacts)
        last = campaign["last_booking"]
        assert page.locator("#leop-orbits-covered").inner_text() == str(last["orbits_covered"])
        assert page.locator("#leop-orbits-at-k").inner_text() == str(last["orbits_at_k"])
        assert page.locator("#leop-booked-count").inner_text() == str(len(last["booked_contact_ids"]))
        assert page.locator("tr.leop-rev-row").count() == len(last["revolutions"])
        page.screenshot(path=artifacts_dir() / "leop-booked-en-desktop.png", full_page=True)

        # On a phone the campaign's page does not scroll sideways (tables and the chart scroll inside).
        page.set_viewport_size(PHONE)
        page.reload()
        page.locator("#leop-plan-facts").wait_for(timeout=WAIT_MS)
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        page.screenshot(path=artifacts_dir() / "leop-campaign-en-phone.png", full_page=True)
        page.set_viewport_size({"width": 1280, "height": 800})

        # The list names it; End campaign asks first, then ends it.
        page.locator("#leop-back").click()
        row = page.locator(f'tr.leop-campaign-row[data-campaign-id="{campaign_id}"]')
        row.wait_for()
        assert name in row.inner_text() and row.get_attribute("data-status") == "active"
        row.get_by_role("link").click()
        page.locator("#leop-campaign[data-campaign-id]").wait_for()
        page.get_by_role("button", name="End campaign").click()
        with demo.api(ORG_A) as api:
            assert _ok(api.get(f"/leop/campaigns/{campaign_id}"))["status"] == "active"  # nothing yet
        page.get_by_role("button", name="End it").click()
        page.locator('#leop-campaign[data-status="ended"]').wait_for()
        with demo.api(ORG_A) as api:
            assert _ok(api.get(f"/leop/campaigns/{campaign_id}"))["status"] == "ended"
            assert all(_ok(api.get(f"/contacts/{i}"))["status"] == "cancelled" for i in booked)
        assert page.get_by_role("button", name="Book redundant contacts").count() == 0
        assert page.locator("#leop-identify-form").count() == 0


def test_identification_with_no_receptions_ranks_the_pasted_candidates(browser: Any, demo: DemoServer) -> None:
    with demo.api(ORG_A) as api:
        satellite, tle, launch = _own_satellite(api)
        campaign = _ok(api.post("/leop/campaigns", json=_campaign_body(satellite, tle, _deploy_time(api),
                                                                     "identification (browser)")), 201)
    candidates = "".join(_tle(e) for e in launch)
    with watched_page(browser, demo) as page:
        sign_in(page, demo.tokens[ORG_A], ORG_A)
        page.goto(f"/dashboard/#/leop/{campaign['id']}")
        page.locator("#leop-identification-none").wait_for(timeout=WAIT_MS)
        page.get_by_label("Candidates (element sets of the launch)").fill(candidates)
        page.get_by_role("button", name="Identify").click()
        verdict = page.locator("#leop-verdict")
        verdict.wait_for(timeout=WAIT_MS)
        assert verdict.get_attribute("data-confidence") == "none"
        assert "No receptions yet" in page.locator("#leop-verdict-text").inner_text()
        assert page.locator("#leop-confidence").text_content() == "none"
        assert page.locator("#leop-receptions").inner_text() == "0"
        rows = page.locator("tr.leop-rank-row")
        assert sorted(int(n) for n in rows.evaluate_all("rs => rs.map(r => r.dataset.noradId)")) == sorted(
            e.norad_id for e in launch)
        assert set(rows.evaluate_all("rs => rs.map(r => r.cells[4].textContent)")) == {"0/0"}
        with demo.api(ORG_A) as api:
            kept = _ok(api.get(f"/leop/campaigns/{campaign['id']}"))["identification"]
        assert kept["confidence"] == "none" and kept["receptions"] == 0
        assert [c["norad_id"] for c in kept["ranking"]] == [int(n) for n in rows.evaluate_all(
            "rs => rs.map(r => r.dataset.noradId)")]
        # The fit's object defaults to the best of the ranking.
        assert page.locator("#leop-fit-object").input_value() == str(kept["ranking"][0]["norad_id"])
        page.screenshot(path=artifacts_dir() / "leop-identify-en-desktop.png", full_page=True)

        # Shown again from the campaign on a later visit.
        page.reload()
        page.locator("#leop-verdict").wait_for(timeout=WAIT_MS)
        assert page.locator("tr.leop-rank-row").count() == len(launch)


def test_bad_input_names_the_field_and_creates_nothing(browser: Any, demo: DemoServer) -> None:
    with demo.api(ORG_A) as api:
        satellite, tle, launch = _own_satellite(api)
        deploy = _deploy_time(api)
        before = len(all_rows(api, "/leop/campaigns"))
        campaign = _ok(api.post("/leop/campaigns", json=_campaign_body(satellite, tle, deploy, "bad input")), 201)
        other = next(e for e in shipped_catalogue(CUBESATS) if e.object_id[:8] != launch[0].object_id[:8])
    with watched_page(browser, demo, expect_refusals={422}) as page:
        sign_in(page, demo.tokens[ORG_A], ORG_A)
        page.goto("/dashboard/#/leop")
        error = page.locator("#leop-form-error")

        # A negative uncertainty: the API's 422 names the field.
        _fill_form(page, satellite, tle, deploy, "refused", uncertainty="-5")
        page.get_by_role("button", name="Start campaign").click()
        error.wait_for()
        assert "The campaign was not started." in error.inner_text()
        assert "deploy_uncertainty_s" in error.inner_text()

        # A deployment that is no element set.
        page.locator("#leop-uncertainty").fill("300")
        page.locator("#leop-deployment").fill("this is not an element set\n")
        page.get_by_role("button", name="Start campaign").click()
        page.locator("#leop-form-error", has_text="deployment_text").wait_for()

        # An empty deployment is caught in the page.
        page.locator("#leop-deployment").fill("")
        page.get_by_role("button", name="Start campaign").click()
        page.locator("#leop-form-error", has_text="Deployment: paste").wait_for()
        assert all("/leop/campaigns" in r for r in page.refusals) and len(page.refusals) == 2
        with demo.api(ORG_A) as api:
            assert len(all_rows(api, "/leop/campaigns")) == before + 1  # only the one this test made itself

        # Identification: candidates of two launches, then a site mapping line that is no mapping.
        page.goto(f"/dashboard/#/leop/{campaign['id']}")
        page.locator("#leop-identify-form").wait_for()
        page.locator("#leop-candidates").fill(_tle(launch[0]) + _tle(other))
        page.get_by_role("button", name="Identify").click()
        box = page.locator("#leop-identify-error")
        box.wait_for()
        assert "The candidates could not be ranked." in box.inner_text()
        assert "candidates_text" in box.inner_text()
        page.locator("#leop-candidates").fill(_tle(launch[0]) + _tle(launch[1]))
        page.locator("#leop-strf-sites").fill("daejeon-1 is 4171")
        page.get_by_role("button", name="Identify").click()
        page.locator("#leop-identify-error", has_text="Site mapping").wait_for()
        with demo.api(ORG_A) as api:
            assert _ok(api.get(f"/leop/campaigns/{campaign['id']}"))["identification"] is None
        page.screenshot(path=artifacts_dir() / "leop-refused-en-desktop.png", full_page=True)


def test_viewer_sees_the_campaign_but_no_control(browser: Any, demo: DemoServer) -> None:
    with demo.api(ORG_A) as api:
        satellite, tle, _ = _own_satellite(api)
        campaign = _ok(api.post("/leop/campaigns", json=_campaign_body(satellite, tle, _deploy_time(api),
                                                                     "viewer's view")), 201)
        viewer = _ok(api.post("/tokens", json={"role": "viewer", "label": "console leop viewer"}), 201)["token"]
    with watched_page(browser, demo) as page:
        sign_in(page, viewer, ORG_A)
        page.goto("/dashboard/#/leop")
        page.locator("#leop-viewer-note").wait_for()
        assert page.locator("#leop-form").count() == 0
        page.locator(f'tr.leop-campaign-row[data-campaign-id="{campaign["id"]}"]').wait_for()
        page.goto(f"/dashboard/#/leop/{campaign['id']}")
        page.locator("#leop-plan-facts").wait_for(timeout=WAIT_MS)
        assert page.locator("#leop-book, #leop-end, #leop-identify-form, #leop-fit-form").count() == 0
    with httpx.Client(base_url=demo.server.base_url, headers={"Authorization": f"Bearer {viewer}"}) as api:
        assert api.post(f"/leop/campaigns/{campaign['id']}/book", json={}).status_code == 403


def _doppler_csv(api: httpx.Client, truth: Any, start: datetime) -> str:
    """A day of Doppler of ``truth`` over KARI's daejeon station (noise, gaps, outliers), as our CSV."""
    station = next(s for s in all_rows(api, "/stations") if s["name"] == "daejeon")
    site = Site(station["name"], lat_deg=station["lat_deg"], lon_deg=station["lon_deg"], alt_m=station["alt_m"],
                min_elevation_deg=station["min_elevation_deg"])
    _, doppler = synthetic_evidence(truth, [site], start, 86_400.0, rng=np.random.default_rng(20))
    lines = [f"{s},{format_utc(datetime64_to_utc(t))},{f:.1f}"
             for s, t, f in zip(doppler.station, doppler.received_at, doppler.frequency_hz, strict=True)]
    assert len(lines) > 50, "a day holds passes over daejeon"
    return "\n".join(["station,received_at,frequency_hz", *lines]) + "\n"


def test_doppler_files_identify_the_satellite_and_the_fit_is_stored(browser: Any, demo: DemoServer) -> None:
    with demo.api(ORG_A) as api:
        satellite, tle, launch = _own_satellite(api)
        deploy = _deploy_time(api)
        campaign = _ok(api.post("/leop/campaigns", json=_campaign_body(satellite, tle, deploy, "Doppler (browser)")),
                       201)
        truth = next(e for e in launch if e.norad_id == satellite["norad_id"])
        doppler = _doppler_csv(api, truth, deploy)
    with watched_page(browser, demo) as page:
        sign_in(page, demo.tokens[ORG_A], ORG_A)
        page.goto(f"/dashboard/#/leop/{campaign['id']}")
        page.locator("#leop-identify-form").wait_for(timeout=WAIT_MS)
        page.locator("#leop-candidates").fill("".join(_tle(e) for e in launch))
        page.locator("#leop-doppler").set_input_files(
            files=[{"name": "daejeon.csv", "mimeType": "text/csv", "buffer": doppler.encode()}])
        page.get_by_role("button", name="Identify").click()
        page.locator("#leop-verdict").wait_for(timeout=WAIT_MS)
        with demo.api(ORG_A) as api:
            kept = _ok(api.get(f"/leop/campaigns/{campaign['id']}"))["identification"]
        assert kept["ranking"][0]["norad_id"] == satellite["norad_id"] and kept["confidence"] == "clear"
        assert page.locator("#leop-verdict").get_attribute("data-confidence") == "clear"
        best = page.locator("tr.leop-rank-row").first
        assert best.get_attribute("data-norad-id") == str(satellite["norad_id"])
        assert "fits Doppler to" in page.locator("#leop-verdict-text").inner_text()
        assert page.locator("#leop-outliers li").count() == len(kept["outliers"]) > 0
        page.screenshot(path=artifacts_dir() / "leop-doppler-en-desktop.png", full_page=True)

        # Fit the best (the default choice) to the same Doppler, B* too: stored as the satellite's fit set.
        assert page.locator("#leop-fit-object").input_value() == str(satellite["norad_id"])
        page.get_by_label("Fit B* too").check()
        page.get_by_role("button", name="Fit and store").click()
        stored = page.locator("#leop-fit-stored")
        stored.wait_for(timeout=WAIT_MS)
        set_id = int(stored.get_attribute("data-element-set-id"))
        assert f"Stored as element set {set_id} (source fit)." in stored.inner_text()
        assert page.locator("#leop-fit-residuals tr.leop-fit-before, #leop-fit-residuals tr.leop-fit-after").count() \
            == 2
        with demo.api(ORG_A) as api:
            sets = _ok(api.get(f"/satellites/{satellite['id']}/elements"))["data"]
        fitted = next(s for s in sets if s["id"] == set_id)
        assert fitted["source_kind"] == "fit" and fitted["in_force"]
        page.screenshot(path=artifacts_dir() / "leop-fit-en-desktop.png", full_page=True)
