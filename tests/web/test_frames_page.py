"""The dashboard shows what came home: a contact's frames and files, a satellite's telemetry, in three languages.

A real ``groundshare serve`` on the demo network (this module's own, from the fixtures of
``conftest.py``), driven in headless Chromium.  KARI operates a private
satellite and owns the Daejeon and Jeju stations; it books both antennas for the satellite
over the same ten minutes of the demo's third day (not planned, so free), names the
satellite's decoder (``ax25frames`` of satnogs-decoders) and, as each station's agent would,
uploads through the real routes: AX.25 frames whose source SSID changes (a decoded field
that changes), the first five heard by both stations, one stamped after the contact's
window, and one that does not decode; then a recording through
``PUT /agent/contacts/{id}/artifacts/{name}``.  The pages must show what the JSON API
answers to the same token: the frames (count, stations, hex, decoded fields), the file
(downloaded byte for byte), and the decoded SSID plotted over time; in Spanish and Korean
too.  Any browser error or refused request fails the test (``tests/support/dashboard.py``:
``watched_page``).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from groundshare.timeutil import format_utc
from tests.support.dashboard import (
    ORG_A,
    DemoServer,
    all_rows,
    artifacts_dir,
    day_start,
    sign_in,
    watched_page,
)

pytestmark = [pytest.mark.service, pytest.mark.browser, pytest.mark.slow]

DECODER = "ax25frames"
SSID_FIELD = "ax25_frame.ax25_header.src_ssid_raw.ssid"
N_AX25 = 30  # frames through Daejeon, one every 10 s
SHARED = 5  # of them, also heard through Jeju a second later
PASS_S = 600
RECORDING = bytes(range(256)) * 300 + b"groundshare"  # 76,811 bytes of "audio"
RECORDING_NAME = "pass-0001.wav"


def ax25(ssid: int, text: str) -> bytes:
    """Return an AX.25 UI frame from XE1AEM-<ssid> to CQ with ``text`` as its information field."""
    def address(call: str, ssid: int, last: bool) -> bytes:
        return bytes(ord(c) << 1 for c in call.ljust(6)) + bytes([0x60 | (ssid << 1) | int(last)])
    return address("CQ", 0, False) + address("XE1AEM", ssid, True) + bytes([0x03, 0xF0]) + text.encode()


@dataclass(frozen=True)
class Heard:
    """What the fixture booked and uploaded."""

    satellite: dict[str, Any]
    contacts: tuple[dict[str, Any], dict[str, Any]]  # Daejeon's, Jeju's
    day: datetime
    start: datetime
    sent: dict[int, bytes]  # payload by frame index (as uploaded through Daejeon)


def _ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, f"{response.request.url} answered {response.status_code}: {response.text}"
    return response.json()


@pytest.fixture(scope="module")
def heard(demo: DemoServer) -> Heard:
    from groundshare.telemetry import decoders_installed

    if not decoders_installed():
        pytest.skip("the decoders extra (satnogs-decoders) is not installed: pip install 'groundshare[decoders]'")
    with demo.api(ORG_A) as api:
        me = _ok(api.get("/orgs/me"))["org"]
        satellite = next(s for s in all_rows(api, "/satellites") if s["org_id"] == me["id"] and not s["is_public"])
        stations = {s["name"]: s for s in all_rows(api, "/stations") if s["org_id"] == me["id"]}
        antennas = [_ok(api.get(f"/stations/{stations[name]['id']}/antennas"))["data"][0]
                    for name in ("daejeon", "jeju")]
        day = day_start(_ok(api.get("/clock"))["now"]) + timedelta(days=2)  # --plan-days 1 left it free
        start = day + timedelta(hours=6)
        window = {"satellite_id": satellite["id"], "allow_outside_pass": True, "start": format_utc(start),
                  "end": format_utc(start + timedelta(seconds=PASS_S))}
        contacts = tuple(_ok(api.post("/contacts", json={**window, "antenna_id": a["id"]}), 201) for a in antennas)
        _ok(api.patch(f"/satellites/{satellite['id']}", json={"decoder": DECODER}))

        sent = {i: ax25(i % 16, f"T={i}") for i in range(N_AX25)}
        at = {i: start + timedelta(seconds=60 + 10 * i) for i in range(N_AX25)}
        sent[N_AX25] = ax25(15, "late")  # stamped 5 minutes after LOS: kept, flagged
        at[N_AX25] = start + timedelta(seconds=PASS_S + 300)
        sent[N_AX25 + 1] = b"\x00\x01 not an AX.25 frame"  # does not decode: kept with the reason
        at[N_AX25 + 1] = start + timedelta(seconds=400)

        def upload(contact: dict[str, Any], frames: list[tuple[datetime, bytes]]) -> dict[str, int]:
            body = {"frames": [{"received_at": format_utc(t), "payload_hex": p.hex()} for t, p in frames]}
            return _ok(api.post(f"/agent/contacts/{contact['id']}/frames", json=body))

        daejeon = upload(contacts[0], [(at[i], sent[i]) for i in sorted(sent)])
        assert daejeon == {"accepted": len(sent), "new": len(sent), "duplicates": 0, "outside_window": 1}
        jeju = upload(contacts[1], [(at[i] + timedelta(seconds=1), sent[i]) for i in range(SHARED)])
        assert jeju["new"] == 0 and jeju["duplicates"] == SHARED
        _ok(api.put(f"/agent/contacts/{contacts[0]['id']}/artifacts/{RECORDING_NAME}", content=RECORDING,
                    headers={"X-Content-SHA256": hashlib.sha256(RECORDING).hexdigest(),
                             "Content-Type": "application/octet-stream"}), 201)
    return Heard(satellite, contacts, day, start, sent)


def open_contact(page: Any, heard: Heard, contact: dict[str, Any]) -> Any:
    """Show the fixture's day on the timeline and open ``contact``'s details; return the details panel."""
    page.locator('#nav-links a[href="#/timeline"]').click()  # by address: the nav speaks the page's language
    page.wait_for_selector(".gantt .contact-bar")
    page.locator("#tl-start").fill(heard.day.strftime("%Y-%m-%dT%H:%M:%SZ"))
    page.locator("#tl-days").select_option("1")
    page.locator("#tl-form button[type=submit]").click()
    bar = page.locator(f'.gantt .contact-bar[data-contact-id="{contact["id"]}"]')
    bar.click()
    # This contact's panel: the one shown before may still be there until the click's answer replaces it.
    details = page.locator(f'#contact-details[data-contact-id="{contact["id"]}"]')
    details.locator("#frames-holder tr.frame-row").first.wait_for()
    return details


def test_a_contacts_details_show_its_frames_and_download_its_recording(page: Any, demo: DemoServer,
                                                                        heard: Heard) -> None:
    daejeon = heard.contacts[0]
    with demo.api(ORG_A) as api:
        frames = _ok(api.get(f"/contacts/{daejeon['id']}/frames", params={"limit": 1000}))
    assert len(frames) == len(heard.sent)
    sign_in(page, demo.tokens[ORG_A], ORG_A)
    details = open_contact(page, heard, daejeon)

    summary = details.locator("#frames-summary").inner_text()
    assert summary == (f"{len(frames)} frames received through this contact; {SHARED} also heard by another "
                       "station; 1 stamped outside the contact's window.")
    rows = details.locator("#frames-holder tr.frame-row")
    assert rows.count() == len(frames)
    assert [int(i) for i in rows.evaluate_all("rows => rows.map(r => r.dataset.frameId)")] == [f["id"] for f in frames]
    by_payload = {bytes.fromhex(f["payload_hex"]): f for f in frames}
    for i, payload in heard.sent.items():
        frame = by_payload[payload]
        row = details.locator(f'tr.frame-row[data-frame-id="{frame["id"]}"]')
        stations = row.locator(".frame-stations").inner_text()
        assert stations == ", ".join(frame["stations"])
        assert stations == ("daejeon, jeju" if i < SHARED else "daejeon")
        assert row.locator("td").nth(2).inner_text() == str(len(payload))
        assert ("outside the window" in row.inner_text()) == frame["outside_window"]

    # The hex of a frame, opened: every byte, 16 to a line.
    first = by_payload[heard.sent[0]]
    row = details.locator(f'tr.frame-row[data-frame-id="{first["id"]}"]')
    row.locator("details.frame-hex summary").click()
    dump = row.locator("pre.hexdump").inner_text()
    assert "".join(line[6:].replace(" ", "") for line in dump.splitlines()) == first["payload_hex"]
    assert dump.splitlines()[1].startswith("0010  ")
    # Its decoded fields, opened: each field and value the API holds.
    row.locator("details.frame-decoded summary").click()
    cells = row.locator("table.decoded-fields tbody tr")
    cells.first.wait_for()  # drawn when opened ("toggle" comes after the click)
    assert cells.count() == len(first["decoded"])
    shown = dict(zip(cells.locator("th").all_inner_texts(), cells.locator("td").all_inner_texts(), strict=True))
    assert shown[SSID_FIELD] == "0"
    assert shown["ax25_frame.ax25_header.src_callsign_raw.callsign_ror.callsign"] == "XE1AEM"
    assert first["decoder"] == DECODER and f"({DECODER})" in row.locator("details.frame-decoded summary").inner_text()
    # The frame that did not decode says why, as the API does.
    bad = by_payload[heard.sent[N_AX25 + 1]]
    assert bad["decoded"] is None and bad["decode_error"]
    bad_row = details.locator(f'tr.frame-row[data-frame-id="{bad["id"]}"]')
    assert f"not decoded: {bad['decode_error']}" in bad_row.inner_text()

    # The recording: listed, and downloaded byte for byte with the signed-in token.
    with demo.api(ORG_A) as api:
        listed = _ok(api.get(f"/contacts/{daejeon['id']}/artifacts"))["data"]
    assert [a["name"] for a in listed] == [RECORDING_NAME]
    artifact = details.locator(f'#artifacts-table tr.artifact-row[data-name="{RECORDING_NAME}"]')
    assert "76.8 kB" in artifact.inner_text()
    assert artifact.locator("code.sha").get_attribute("title") == hashlib.sha256(RECORDING).hexdigest()
    with page.expect_download() as download_info:
        artifact.get_by_role("button", name=f"Download {RECORDING_NAME}").click()
    download = download_info.value
    assert download.suggested_filename == RECORDING_NAME
    assert Path(download.path()).read_bytes() == RECORDING
    details.locator("#artifact-status").filter(has_text=f"{RECORDING_NAME} downloaded (76.8 kB).").wait_for()
    details.scroll_into_view_if_needed()
    page.screenshot(path=artifacts_dir() / "contact-frames.png", full_page=True)

    # Jeju's contact: the five frames it heard (first heard through Daejeon), and no file.
    details = open_contact(page, heard, heard.contacts[1])
    assert details.locator("#frames-holder tr.frame-row").count() == SHARED
    assert details.locator("#frames-summary").inner_text() == (
        f"{SHARED} frames received through this contact; {SHARED} also heard by another station.")
    assert details.locator("#artifacts-holder").inner_text() == "No file was uploaded for this contact."


def test_a_satellites_page_plots_a_decoded_field_over_time(page: Any, demo: DemoServer, heard: Heard) -> None:
    satellite = heard.satellite
    end = heard.day + timedelta(days=1)
    with demo.api(ORG_A) as api:
        series = _ok(api.get(f"/satellites/{satellite['id']}/telemetry", params={
            "field": SSID_FIELD, "start": format_utc(heard.day), "end": format_utc(end)}))["points"]
    assert len(series) == N_AX25 + 1  # every AX.25 frame, the late one too; not the one that did not decode
    sign_in(page, demo.tokens[ORG_A], ORG_A)
    page.get_by_role("link", name="Satellites").click()
    page.locator(f'.satellite-row a[href="#/satellites/{satellite["id"]}"]').click()
    page.wait_for_url(re.compile(rf"#/satellites/{satellite['id']}$"))
    # The hash changes first; the satellite's page replaces the list once its answers are in.
    page.wait_for_function("name => document.querySelector('#main h1')?.textContent.startsWith(name)",
                           arg=satellite["name"])
    assert page.locator("#main h1").inner_text().startswith(satellite["name"])
    assert page.locator("#nav-links a[aria-current=page]").all_inner_texts() == ["Satellites"]
    assert DECODER in page.locator("dl.facts").inner_text()

    page.get_by_label("From (UTC day)").fill(heard.day.strftime("%Y-%m-%d"))
    page.get_by_label("Days").select_option("1")
    page.get_by_role("button", name="Show", exact=True).click()
    page.locator("#tm-summary").filter(has_text=f"{len(heard.sent)} frames in this window").wait_for()
    fields = page.locator("#tm-field option").all_inner_texts()
    assert SSID_FIELD in fields and "ax25_frame.payload.pid" in fields
    assert "ax25_frame.ax25_header.src_callsign_raw.callsign_ror.callsign" not in fields  # text: not plotted
    page.get_by_label("Field").select_option(SSID_FIELD)
    chart = page.locator(f'#tm-chart svg.telemetry[data-field="{SSID_FIELD}"]')
    chart.wait_for()
    assert chart.locator("circle.point").count() == len(series)
    assert chart.locator("path.line").get_attribute("d").startswith("M")
    values = [p["value"] for p in series]
    assert chart.locator("desc").inner_html() == (
        f"{len(series)} values from {min(values)} to {max(values)}, between "
        f"{series[0]['t'][:19].replace('T', ' ')} UTC and {series[-1]['t'][:19].replace('T', ' ')} UTC.")
    # The values under the chart, newest first; the latest frames of the window beside it.
    table = page.locator("#tm-values-table tbody tr")
    assert table.count() == len(series)
    assert table.first.locator("td.num").text_content() == str(series[-1]["value"])  # folded away: text, not shown
    assert page.locator("#tm-frames-table tr.frame-row").count() == 20
    page.screenshot(path=artifacts_dir() / "satellite-telemetry.png", full_page=True)


def test_spanish_and_korean(browser: Any, demo: DemoServer, heard: Heard) -> None:
    with watched_page(browser, demo, locale="es-MX") as page:
        sign_in(page, demo.tokens[ORG_A], ORG_A)
        assert page.evaluate("document.documentElement.lang") == "es"
        assert page.locator("#lang-select").input_value() == "es"
        # Every language holds every string.
        keys = page.evaluate("""async () => {
          const { STRINGS } = await import("./js/i18n.js");
          return Object.fromEntries(Object.entries(STRINGS).map(([lang, table]) => [lang, Object.keys(table).sort()]));
        }""")
        assert set(keys) == {"en", "es", "ko"} and keys["es"] == keys["en"] == keys["ko"]

        details = open_contact(page, heard, heard.contacts[0])
        n = len(heard.sent)
        assert details.locator("#frames-summary").inner_text() == (
            f"{n} tramas recibidas en este contacto; {SHARED} también recibidas por otra estación; "
            "1 con hora fuera de la ventana del contacto.")
        assert details.locator("#frames-table th").all_inner_texts()[:2] == ["Recibida (UTC)", "Recibida por"]
        assert details.get_by_role("button", name=f"Descargar {RECORDING_NAME}").is_visible()
        assert "fuera de la ventana" in details.locator("#frames-table").inner_text()

        # Korean, chosen in the header: the page shown is drawn again in it, and the choice is kept.
        page.goto(f"/dashboard/#/satellites/{heard.satellite['id']}")
        page.locator("#tm-title").filter(has_text="Telemetría").wait_for()
        page.locator("#lang-select").select_option("ko")
        page.locator("#tm-title").filter(has_text="텔레메트리").wait_for()
        assert page.evaluate("document.documentElement.lang") == "ko"
        page.get_by_label("시작 (UTC 날짜)").fill(heard.day.strftime("%Y-%m-%d"))
        page.get_by_label("일수").select_option("1")
        page.get_by_role("button", name="표시", exact=True).click()
        page.locator("#tm-summary").filter(has_text=f"이 기간의 프레임 {n}개").wait_for()
        page.screenshot(path=artifacts_dir() / "satellite-telemetry-ko.png", full_page=True)
        page.reload()
        page.locator("#tm-title").filter(has_text="텔레메트리").wait_for()
