"""The console's management workflows in a real browser: sharing, stations and satellites, tokens.

Each workflow is driven as an operator would (click, type, submit) on the served demo
network, and its result is checked through the JSON API with the same organisation's
token: the sharing policy exists with its terms, was changed and revoked, and the partner
sees it with this week's use; a station with a horizon mask drawn by clicks on the polar
plot, and its antennas; a satellite with its radio parameters, a corrupt element set
refused naming its line and a good one stored; a token created (its secret shown once),
listed and revoked (it then answers 401).  A station set to run by a SatNOGS client, its
station token created on the Tokens page (with the client's three settings), the token's job
poll on /satnogs/api/ making the station online with its last seen time, and the same token
refused off that prefix (401).  A viewer sees no write control, and a write forced with its
token is refused (403).  On a phone (390 px) no page scrolls sideways.  Screenshots go to
``artifacts_dir()``.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.dashboard import (
    ORG_A,
    ORG_B,
    PHONE,
    DemoServer,
    all_rows,
    artifacts_dir,
    sign_in,
    watched_page,
)

pytestmark = [pytest.mark.service, pytest.mark.browser, pytest.mark.slow]

DEMO_TLE = Path(__file__).resolve().parents[2] / "src" / "groundshare" / "data" / "celestrak_cubesat_2025-11-06.tle"
VIEW_HALF = 132.0  # half the polar plot's viewBox (station_editor.js VIEW)
RIM_R = 100.0  # plot radius of elevation 0 (station_editor.js R)


def org_ids(demo: DemoServer) -> dict[str, int]:
    with demo.api(ORG_A) as api:
        return {o["name"]: o["id"] for o in all_rows(api, "/orgs")}


def open_page(page: Any, demo: DemoServer, org: str, hash_: str, token: str | None = None) -> None:
    """Sign in as `org` (its admin token unless `token` is given) and open the page of `hash_`."""
    page.goto("/")
    page.wait_for_url("**/dashboard/#/signin")
    sign_in(page, token or demo.tokens[org], org)
    page.goto(f"/dashboard/{hash_}")


def new_token(demo: DemoServer, org: str, role: str, label: str) -> str:
    with demo.api(org) as api:
        response = api.post("/tokens", json={"label": label, "role": role})
        response.raise_for_status()
        return response.json()["token"]


# ---------------------------------------------------------------------------------------------
# Sharing


def test_owner_grants_edits_and_revokes_a_policy_and_the_partner_sees_it(browser: Any, demo: DemoServer) -> None:
    ids = org_ids(demo)
    with demo.api(ORG_A) as api:
        antennas = [a for s in all_rows(api, "/stations") if s["org_id"] == ids[ORG_A]
                    for a in api.get(f"/stations/{s['id']}/antennas").json()["data"]]
        granted = all_rows(api, "/policies", role="granted")
    taken = {(p["antenna_id"], p["grantee_org_id"]) for p in granted}
    antenna = next(a for a in antennas if (a["id"], ids[ORG_B]) not in taken)

    with watched_page(browser, demo) as page:
        open_page(page, demo, ORG_A, "#/sharing")
        page.wait_for_selector("#grant-form")
        page.get_by_label("Your antenna").select_option(str(antenna["id"]))
        page.get_by_label("Partner organisation").select_option(str(ids[ORG_B]))
        page.locator(f"#grant-band-{antenna['band']}").check()
        assert page.locator("#grant-band-ka").is_disabled() != (antenna["band"] == "ka")
        page.get_by_label("Hours per week").fill("7.5")
        page.get_by_label("Priority").fill("3")
        page.get_by_role("button", name="Add a blackout window").click()
        row = page.locator("#grant-blackouts .blackout-row").first
        row.get_by_label("Blackout start").fill("2025-11-20T00:00:00Z")
        row.get_by_label("Blackout end").fill("2025-11-21T06:00:00Z")
        page.screenshot(path=artifacts_dir() / "sharing-en-desktop-form.png", full_page=True)
        page.get_by_role("button", name="Grant", exact=True).click()
        page.wait_for_selector("#sharing-status:not([hidden])")
        with demo.api(ORG_A) as api:
            policy = next(p for p in all_rows(api, "/policies", role="granted")
                          if p["antenna_id"] == antenna["id"] and p["grantee_org_id"] == ids[ORG_B])
        assert policy["bands"] == [antenna["band"]]
        assert policy["hours_per_week"] == 7.5 and policy["priority"] == 3
        assert policy["blackout_windows"] == [{"start": "2025-11-20T00:00:00Z", "end": "2025-11-21T06:00:00Z"}]
        row = page.locator(f"#granted-table tr.policy-row[data-policy-id='{policy['id']}']")
        assert ORG_B in row.inner_text() and "7.5" in row.inner_text()

        # Edit inline: more hours, no band restriction, the blackout removed.
        row.get_by_role("button", name="Edit").click()
        form = page.locator(f"#edit-{policy['id']}-form")
        form.get_by_label("Hours per week").fill("9")
        form.locator(f"#edit-{policy['id']}-band-{antenna['band']}").uncheck()
        form.get_by_role("button", name="Remove").click()
        form.get_by_role("button", name="Save changes").click()
        page.wait_for_selector(f"#granted-table tr.policy-row[data-policy-id='{policy['id']}'] >> text=9")
        with demo.api(ORG_A) as api:
            edited = api.get(f"/policies/{policy['id']}").json()
        assert edited["hours_per_week"] == 9 and edited["bands"] == [] and edited["blackout_windows"] == []
        page.screenshot(path=artifacts_dir() / "sharing-granted-en-desktop.png", full_page=True)

        # The partner sees the grant, and this week's use of each grant it holds.
        with watched_page(browser, demo) as partner:
            open_page(partner, demo, ORG_B, "#/sharing")
            partner.wait_for_selector("#received-table")
            assert partner.locator("#grant-form").count() == 1  # an admin of its own antennas too
            with demo.api(ORG_B) as api:
                received = all_rows(api, "/policies", role="received")
            names = {i: name for name, i in ids.items()}
            assert any(p["id"] == policy["id"] for p in received)
            for grant in received:
                cells = partner.locator(f"#received-table tr[data-policy-id='{grant['id']}'] td").all_inner_texts()
                assert cells[0] and cells[2] == names[grant["owner_org_id"]]
                assert "week_hours_used" in grant and "week_start" in grant, "GET /policies lacks this week's use"
                used = f"{grant['week_hours_used']:.2f}".rstrip("0").rstrip(".")
                assert used in cells[-1] and grant["week_start"][:10] in cells[-1]
            mine = partner.locator(f"#received-table tr[data-policy-id='{policy['id']}']")
            assert "9" in mine.inner_text() and antenna["name"] in mine.inner_text()
            assert mine.locator("meter").count() == 1
            partner.screenshot(path=artifacts_dir() / "sharing-en-desktop-partner.png", full_page=True)

        # Revoke, after the inline confirmation.
        row = page.locator(f"#granted-table tr.policy-row[data-policy-id='{policy['id']}']")
        row.get_by_role("button", name="Revoke").click()
        row.get_by_role("button", name="Confirm revoke").click()
        page.wait_for_selector(f"#granted-table tr.policy-row[data-policy-id='{policy['id']}']", state="detached")
        with demo.api(ORG_A) as api:
            assert api.get(f"/policies/{policy['id']}").status_code == 404


def test_a_refused_grant_keeps_what_was_typed(browser: Any, demo: DemoServer) -> None:
    """A second grant of the same antenna to the same partner is refused (409) with the API's reason."""
    with demo.api(ORG_A) as api:
        existing = all_rows(api, "/policies", role="granted")[0]
    with watched_page(browser, demo, expect_refusals={409}) as page:
        open_page(page, demo, ORG_A, "#/sharing")
        page.wait_for_selector("#grant-form")
        page.get_by_label("Your antenna").select_option(str(existing["antenna_id"]))
        page.get_by_label("Partner organisation").select_option(str(existing["grantee_org_id"]))
        page.get_by_label("Hours per week").fill("4")
        page.get_by_role("button", name="Grant", exact=True).click()
        error = page.locator("#grant-error")
        error.wait_for(state="visible")
        assert f"sharing policy {existing['id']}" in error.inner_text()
        assert page.get_by_label("Hours per week").input_value() == "4"
        assert page.refusals and "409" in page.refusals[0]


# ---------------------------------------------------------------------------------------------
# Stations and antennas


def plot_position(page: Any, az_deg: float, el_deg: float) -> dict[str, float]:
    """Where (azimuth, elevation) is on the polar plot, in pixels from its top-left corner."""
    box = page.locator("#mask-plot").bounding_box()
    scale = box["width"] / (2 * VIEW_HALF)
    r = (90 - el_deg) / 90 * RIM_R
    x = r * math.sin(math.radians(az_deg))
    y = -r * math.cos(math.radians(az_deg))
    return {"x": (x + VIEW_HALF) * scale, "y": (y + VIEW_HALF) * scale}


def test_station_with_a_horizon_mask_drawn_on_the_plot_and_its_antennas(page: Any, demo: DemoServer) -> None:
    open_page(page, demo, ORG_A, "#/stations/new")
    page.wait_for_selector("#station-form")
    page.get_by_label("Name").fill("gangneung")
    page.get_by_label("Latitude").fill("37.75")
    page.get_by_label("Longitude").fill("128.9")
    page.get_by_label("Altitude").fill("25")
    page.get_by_label("Minimum elevation").fill("3")
    clicks = [(0.0, 10.0), (90.0, 20.0), (200.0, 5.0), (300.0, 15.0)]
    for az, el in clicks:
        page.locator("#mask-plot").click(position=plot_position(page, az, el))
    assert page.locator("#mask-table tr.mask-row").count() == len(clicks)
    assert page.locator("#mask-plot .mask-handle").count() == len(clicks)
    assert page.locator("#mask-plot path.mask-area").count() == 1
    # Drag the point at 90° down to 8°, and type the last point's elevation in the table.
    start = plot_position(page, 90.0, 20.0)
    end = plot_position(page, 90.0, 8.0)
    plot = page.locator("#mask-plot").bounding_box()
    page.mouse.move(plot["x"] + start["x"], plot["y"] + start["y"])
    page.mouse.down()
    page.mouse.move(plot["x"] + end["x"], plot["y"] + end["y"], steps=5)
    page.mouse.up()
    assert abs(float(page.locator("#mask-el-1").input_value()) - 8.0) < 1.5
    page.locator("#mask-el-3").fill("16")
    page.screenshot(path=artifacts_dir() / "station-mask-en-desktop.png", full_page=True)
    page.get_by_role("button", name="Add the station").click()
    page.wait_for_selector("#station-status:not([hidden])")
    assert re.search(r"#/stations/\d+/edit$", page.url)

    with demo.api(ORG_A) as api:
        station = next(s for s in all_rows(api, "/stations") if s["name"] == "gangneung")
    assert (station["lat_deg"], station["lon_deg"], station["alt_m"], station["min_elevation_deg"]) == (37.75, 128.9,
                                                                                                     25, 3)
    mask = station["horizon_mask"]
    expected = [(0.0, 10.0), (90.0, 8.0), (200.0, 5.0), (300.0, 16.0)]
    assert len(mask) == len(expected)
    for (az, el), (want_az, want_el) in zip(mask, expected, strict=True):
        assert min(abs(az - want_az), 360 - abs(az - want_az)) < 1.5 and abs(el - want_el) < 1.5, mask

    # Add an antenna, then change it.
    form = page.locator("#antenna-form")
    form.get_by_label("Name").fill("s-band-dish")
    form.get_by_label("Band").select_option("s")
    form.get_by_label("Setup time").fill("20")
    form.get_by_label("Turnaround time").fill("45")
    form.get_by_label("Receive figure of merit").fill("-12.5")
    form.get_by_label("Transmit power").fill("10")
    form.get_by_label("Azimuth slew rate").fill("5")
    form.get_by_label("Elevation slew rate").fill("4")
    form.get_by_role("button", name="Add the antenna").click()
    page.wait_for_selector("#antennas-table tr.antenna-row")
    with demo.api(ORG_A) as api:
        antennas = api.get(f"/stations/{station['id']}/antennas").json()["data"]
    assert len(antennas) == 1
    antenna = antennas[0]
    assert (antenna["name"], antenna["band"], antenna["setup_s"], antenna["turnaround_s"], antenna["g_over_t_dbk"],
            antenna["eirp_dbw"], antenna["az_slew_deg_s"], antenna["el_slew_deg_s"]) == (
        "s-band-dish", "s", 20, 45, -12.5, 10, 5, 4)
    page.locator(f"tr.antenna-row[data-antenna-id='{antenna['id']}']").get_by_role("button", name="Edit").click()
    form.get_by_label("Receive figure of merit").fill("-11")
    form.get_by_label("Transmit power").fill("")
    form.get_by_role("button", name="Save the antenna").click()
    page.wait_for_selector("#antennas-table >> text=-11")
    with demo.api(ORG_A) as api:
        changed = api.get(f"/stations/{station['id']}/antennas/{antenna['id']}").json()
    assert changed["g_over_t_dbk"] == -11 and changed["eirp_dbw"] is None
    page.screenshot(path=artifacts_dir() / "station-en-desktop-antennas.png", full_page=True)

    # The other pages see the new station at once (the shared context), and its editor reopens with the mask.
    page.goto("/dashboard/#/stations")
    page.wait_for_selector(f".station-card[data-station-id='{station['id']}']")
    page.goto(f"/dashboard/#/stations/{station['id']}/edit")
    page.wait_for_selector("#mask-table tr.mask-row")
    assert page.locator("#mask-table tr.mask-row").count() == len(expected)


# ---------------------------------------------------------------------------------------------
# Satellites and element sets


def a_tle_kari_does_not_register(demo: DemoServer) -> tuple[int, str]:
    """A satellite of the demo file (NORAD number, its three lines) that KARI has not registered."""
    lines = DEMO_TLE.read_text().splitlines()
    with demo.api(ORG_A) as api:
        me = api.get("/orgs/me").json()["org"]["id"]
        own = {s["norad_id"] for s in all_rows(api, "/satellites") if s["org_id"] == me}
    for i in range(0, len(lines) - 2, 3):
        norad = int(lines[i + 1][2:7])
        if norad not in own:
            return norad, "\n".join(lines[i:i + 3]) + "\n"
    raise AssertionError("every demo satellite is KARI's")


def test_satellite_registered_with_its_radio_and_element_sets(browser: Any, demo: DemoServer) -> None:
    norad, tle = a_tle_kari_does_not_register(demo)
    with watched_page(browser, demo, expect_refusals={422}) as page:
        open_page(page, demo, ORG_A, "#/satellites/new")
        page.wait_for_selector("#satellite-form")
        page.get_by_label("Catalog number (NORAD)").fill(str(norad))
        page.get_by_label("Name").fill("KARI-TEST-1")
        page.get_by_label("Band").select_option("uhf")
        page.get_by_label("Downlink frequency").fill("437.525")
        page.get_by_label("Downlink transmit power").fill("-3")
        page.get_by_label("Data rate").fill("9600")
        page.get_by_label("Uplink frequency").fill("145.9")
        page.get_by_role("button", name="Register the satellite").click()
        page.wait_for_selector("#satellite-status:not([hidden])")
        with demo.api(ORG_A) as api:
            sat = next(s for s in all_rows(api, "/satellites") if s["name"] == "KARI-TEST-1")
        assert sat["norad_id"] == norad and sat["band"] == "uhf" and not sat["is_public"]
        assert sat["downlink_frequency_hz"] == 437_525_000 and sat["uplink_frequency_hz"] == 145_900_000
        assert sat["downlink_eirp_dbw"] == -3 and sat["data_rate_bps"] == 9600
        assert page.url.endswith(f"#/satellites/{sat['id']}/edit")

        # Edit: public now, another EIRP.
        page.get_by_label("Public (every organisation sees it)").check()
        page.get_by_label("Downlink transmit power").fill("-1.5")
        page.get_by_role("button", name="Save the satellite").click()
        page.wait_for_selector("#satellite-status >> text=saved")
        with demo.api(ORG_A) as api:
            changed = api.get(f"/satellites/{sat['id']}").json()
        assert changed["is_public"] and changed["downlink_eirp_dbw"] == -1.5
        assert changed["downlink_frequency_hz"] == 437_525_000

        # A corrupt element set: its line 3 has a wrong checksum; the error names the line and quotes it.
        name, line1, line2 = tle.splitlines()
        broken = line2[:-1] + str((int(line2[-1]) + 1) % 10)
        page.get_by_label("Element set text (TLE, 3LE or OMM)").fill(f"{name}\n{line1}\n{broken}\n")
        page.get_by_role("button", name="Upload the element sets").click()
        error = page.locator("#elements-error")
        error.wait_for(state="visible")
        assert "line 3" in error.inner_text()
        quoted = page.locator("#elements-line pre")
        assert quoted.get_attribute("data-line") == "3" and broken in quoted.inner_text()
        assert any("422" in r and "/elements" in r for r in page.refusals)
        page.screenshot(path=artifacts_dir() / "satellite-en-desktop-bad-elements.png", full_page=True)
        with demo.api(ORG_A) as api:
            assert api.get(f"/satellites/{sat['id']}/elements").json()["count"] == 0

        # The good one is stored.
        page.get_by_label("Element set text (TLE, 3LE or OMM)").fill(tle)
        page.get_by_role("button", name="Upload the element sets").click()
        page.wait_for_selector("#elements-status:not([hidden])")
        assert page.locator("#elements-error").is_hidden() and page.locator("#elements-line").is_hidden()
        with demo.api(ORG_A) as api:
            stored = api.get(f"/satellites/{sat['id']}/elements").json()
        assert stored["count"] == 1 and stored["data"][0]["source_kind"] == "upload"
        page.screenshot(path=artifacts_dir() / "satellite-en-desktop.png", full_page=True)

        # The satellites page (the shared context) lists it at once.
        page.goto("/dashboard/#/satellites")
        page.wait_for_selector(f"tr.satellite-row[data-satellite-id='{sat['id']}']")


# ---------------------------------------------------------------------------------------------
# Tokens


def test_admin_creates_a_token_shown_once_lists_and_revokes_it(page: Any, demo: DemoServer) -> None:
    open_page(page, demo, ORG_A, "#/tokens")
    page.wait_for_selector("#token-form")
    page.get_by_label("Name").fill("ground-ops-bot")
    page.get_by_label("Role").select_option("operator")
    page.get_by_role("button", name="Create the token").click()
    secret_box = page.locator("#token-secret")
    secret_box.wait_for(state="visible")
    assert "will not be shown again" in secret_box.inner_text()
    secret = page.locator("#token-secret-text").input_value()
    assert secret.startswith("gs_")
    base = demo.server.base_url
    me = httpx.get(f"{base}/orgs/me", headers={"Authorization": f"Bearer {secret}"}, timeout=30)
    assert me.status_code == 200 and me.json()["role"] == "operator"
    with demo.api(ORG_A) as api:
        token = next(tk for tk in all_rows(api, "/tokens") if tk["label"] == "ground-ops-bot")
    row = page.locator(f"#tokens-table tr[data-token-id='{token['id']}']")
    assert "ground-ops-bot" in row.inner_text()
    page.screenshot(path=artifacts_dir() / "tokens-created-en-desktop.png", full_page=True)

    # Shown once: the page drawn again lists the token, never its secret.
    page.reload()
    page.wait_for_selector(f"#tokens-table tr[data-token-id='{token['id']}']")
    assert page.locator("#token-secret").is_hidden() and secret not in page.content()

    row = page.locator(f"#tokens-table tr[data-token-id='{token['id']}']")
    row.get_by_role("button", name="Revoke").click()
    row.get_by_role("button", name="Confirm revoke").click()
    page.wait_for_selector(f"#tokens-table tr.revoked[data-token-id='{token['id']}']")
    with demo.api(ORG_A) as api:
        assert next(tk for tk in all_rows(api, "/tokens") if tk["id"] == token["id"])["revoked_at"]
    assert httpx.get(f"{base}/orgs/me", headers={"Authorization": f"Bearer {secret}"}, timeout=30).status_code == 401


def test_a_satnogs_station_gets_a_station_token_polls_for_jobs_and_shows_online(browser: Any,
                                                                                demo: DemoServer) -> None:
    """A station run by a SatNOGS client: set in its editor, its token from the Tokens page, its poll its heartbeat."""
    ids = org_ids(demo)
    with demo.api(ORG_A) as api:
        station = next(s for s in all_rows(api, "/stations") if s["org_id"] == ids[ORG_A])
    base = demo.server.base_url.rstrip("/")
    with watched_page(browser, demo) as page:
        # The editor: run by the SatNOGS client, saved with the station; not seen yet.
        open_page(page, demo, ORG_A, f"#/stations/{station['id']}/edit")
        page.wait_for_selector("#station-form")
        assert page.get_by_label("Run by").input_value() == "agent"
        page.get_by_label("Run by").select_option("satnogs")
        page.get_by_role("button", name="Save the station").click()
        page.wait_for_selector("#station-status:not([hidden])")
        with demo.api(ORG_A) as api:
            assert api.get(f"/stations/{station['id']}").json()["runner"] == "satnogs"
        page.wait_for_selector("#station-satnogs .station-state[data-online='false']")
        assert "never" in page.locator("#station-last-seen").inner_text()

        # The Tokens page: a token of that station (operator role), shown once with the client's settings.
        page.goto("/dashboard/#/tokens")
        page.wait_for_selector("#token-form")
        page.get_by_label("Name").fill("satnogs-station")
        page.get_by_label("Station (for a SatNOGS client)").select_option(str(station["id"]))
        assert page.get_by_label("Role").input_value() == "operator" and page.get_by_label("Role").is_disabled()
        page.get_by_role("button", name="Create the token").click()
        page.locator("#token-satnogs").wait_for(state="visible")
        secret = page.locator("#token-secret-text").input_value()
        assert page.locator("#token-satnogs-settings").inner_text().splitlines() == [
            f"SATNOGS_NETWORK_API_URL={base}/satnogs/api/", f"SATNOGS_API_TOKEN={secret}",
            f"SATNOGS_STATION_ID={station['id']}"]
        with demo.api(ORG_A) as api:
            token = next(tk for tk in all_rows(api, "/tokens") if tk["label"] == "satnogs-station")
        assert token["station_id"] == station["id"] and token["role"] == "operator"
        row = page.locator(f"#tokens-table tr[data-token-id='{token['id']}']")
        assert station["name"] in row.locator(".token-station").inner_text()
        page.screenshot(path=artifacts_dir() / "tokens-satnogs-en-desktop.png", full_page=True)

        # The station's client polls for its jobs with it, as satnogs-client does.
        jobs = httpx.get(f"{base}/satnogs/api/jobs/", params={"ground_station": station["id"]},
                         headers={"Authorization": f"Token {secret}"}, timeout=30)
        assert jobs.status_code == 200, jobs.text
        assert isinstance(jobs.json(), list)
        with demo.api(ORG_A) as api:
            polled = api.get(f"/stations/{station['id']}").json()
        assert polled["online"] and polled["last_seen_at"]
        seen = datetime.fromisoformat(polled["last_seen_at"].replace("Z", "+00:00")).astimezone(UTC)
        seen_text = seen.strftime("%Y-%m-%d %H:%M:%S UTC")

        # The Stations page: the runner, online, and when it was last seen (UTC).
        page.goto("/dashboard/#/stations")
        card = page.locator(f".station-card[data-station-id='{station['id']}']")
        card.locator(".station-online[data-online='true']").wait_for()
        assert card.locator(".station-runner[data-runner='satnogs']").inner_text() == "SatNOGS client"
        assert card.locator(".station-online").inner_text() == "online"
        assert card.locator(".station-last-seen").inner_text() == f"last seen {seen_text}"
        page.screenshot(path=artifacts_dir() / "stations-satnogs-en-desktop.png", full_page=True)

        # Its editor says the same.
        page.goto(f"/dashboard/#/stations/{station['id']}/edit")
        page.wait_for_selector("#station-satnogs .station-state[data-online='true']")
        assert page.locator("#station-last-seen").inner_text() == seen_text

    # The same token anywhere else is refused.
    for scheme in ("Bearer", "Token"):
        me = httpx.get(f"{base}/orgs/me", headers={"Authorization": f"{scheme} {secret}"}, timeout=30)
        assert me.status_code == 401, (scheme, me.text)


# ---------------------------------------------------------------------------------------------
# Roles and phones


def test_a_viewer_sees_no_write_controls_and_a_forced_write_is_refused(browser: Any, demo: DemoServer) -> None:
    viewer = new_token(demo, ORG_A, "viewer", "wall-screen")
    with watched_page(browser, demo) as page:
        open_page(page, demo, ORG_A, "#/sharing", token=viewer)
        page.wait_for_selector("#sharing-readonly")
        page.wait_for_selector("#granted-table")
        assert page.locator("#grant-form").count() == 0
        assert page.locator("#granted-table button, #received-table button").count() == 0
        page.screenshot(path=artifacts_dir() / "sharing-en-desktop-viewer.png", full_page=True)
        for hash_, note in (("#/stations/new", "#station-readonly"), ("#/stations/1/edit", "#station-readonly"),
                            ("#/satellites/new", "#satellite-readonly"), ("#/tokens", "#tokens-admin-only")):
            page.goto(f"/dashboard/{hash_}")
            page.wait_for_selector(note)
            assert page.locator("main form, main button").count() == 0, hash_
        assert page.locator("#nav-links a[href='#/tokens']").is_hidden()
    ids = org_ids(demo)
    with demo.api(ORG_A) as api:
        antenna_id = all_rows(api, "/policies", role="granted")[0]["antenna_id"]
    forced = httpx.post(f"{demo.server.base_url}/policies", headers={"Authorization": f"Bearer {viewer}"}, timeout=30,
                        json={"antenna_id": antenna_id, "grantee_org_id": ids[ORG_B]})
    assert forced.status_code == 403
    forced = httpx.post(f"{demo.server.base_url}/stations", headers={"Authorization": f"Bearer {viewer}"}, timeout=30,
                        json={"name": "forced", "lat_deg": 1, "lon_deg": 2})
    assert forced.status_code == 403


@pytest.mark.parametrize("hash_, name, ready", [
    ("#/sharing", "sharing", "#granted-table"),
    ("#/stations/1/edit", "station", "#mask-plot"),
    ("#/satellites/new", "satellite", "#satellite-form"),
    ("#/tokens", "tokens", "#tokens-table"),
])
def test_management_pages_fit_a_phone(browser: Any, demo: DemoServer, hash_: str, name: str, ready: str) -> None:
    with watched_page(browser, demo, viewport=PHONE) as page:
        open_page(page, demo, ORG_A, hash_)
        page.wait_for_selector(ready)
        if name == "sharing":
            page.locator("tr.policy-row .edit-policy").first.click()
            page.get_by_role("button", name="Add a blackout window").first.click()
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], hash_
        smallest = page.evaluate("""() => Math.min(...[...document.querySelectorAll('main *')]
            .filter((el) => [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim())
              && el.getClientRects().length)
            .map((el) => parseFloat(getComputedStyle(el).fontSize)))""")
        assert smallest >= 9, f"text of {smallest}px on {hash_}"
        page.screenshot(path=artifacts_dir() / f"{name}-en-phone-open.png", full_page=True)
