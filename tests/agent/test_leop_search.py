"""A launch-and-early-orbit contact's search on the real rotctld dummy: sweep, first frame, shifted tracking.

The satellite is CUTE (NORAD 49263) of the shipped active catalogue, over Daejeon on its
low pass of 2026-03-20 02:39 UTC (13.9 deg high, rising in the north-east).  The search
pattern is built here as the booking builds it (``contact.search``'s format): the
admissible shifts are +-90 s, the wait point is where the nominal copy rises through the
mask plus 3 deg, the sweep arc spans the rise azimuths of every admissible copy.  The
"truth" is the same element set re-dated by ``DT_TRUE_S``: the satellite as it really
flies, late or early by an amount the agent does not know.

The executor runs on a ``SimulatedClock`` ``SPEED`` times faster than real time against
Hamlib's dummy rotator, which keeps its real 6 deg/s, so the antenna's slew rates given
to the contact are 6 deg/s divided by the speed (what the antenna can do in simulated
seconds).  A second connection to rotctld reads the antenna's position back all along,
and each reading is compared with where the truth is at that instant.  The first frame
comes from a loopback KISS TNC that sends one when the truth rises through the wait
elevation, read by the agent's real ``FrameCapture``.
"""

from __future__ import annotations

import copy
import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from groundshare.agent.capture import FrameCapture
from groundshare.agent.clock import SimulatedClock
from groundshare.agent.execution import AgentOptions, Execution, PassExecutor, pointing_error_deg
from groundshare.agent.hamlib import Rotator
from groundshare.agent.journal import Journal
from groundshare.agent.schedule import AgentSchedule
from groundshare.agent.search import shifted_elements
from groundshare.agent.tables import pointing_table
from groundshare.contact import ContactError, ScheduledContact, SearchPattern, StationSnapshot
from groundshare.frames import kiss_encode
from groundshare.orbits import ElementSet, parse_elements
from groundshare.passes import Site
from groundshare.store import Contact, session_scope
from groundshare.timeutil import format_utc, parse_utc
from tests.support.hamlib import Daemon
from tests.support.shipped import NEXUS_TLE
from tests.support.worlds import app_on, make_world

pytestmark = [pytest.mark.service, pytest.mark.hardware]

STATION = StationSnapshot(id=1, name="daejeon", lat_deg=36.3725, lon_deg=127.359, alt_m=80.0, min_elevation_deg=5.0)
SITE: Site = STATION.to_site()
#: The pass: nominal AOS and LOS (``groundshare.passes.find_passes`` on the shipped set).
AOS = parse_utc("2026-03-20T02:38:58Z", "aos")
LOS = parse_utc("2026-03-20T02:44:41Z", "los")
UNCERTAINTY_S = 90.0
WAIT_MARGIN_DEG = 3.0
DT_TRUE_S = -35.0
#: Hamlib's dummy rotator turns both axes at 6 deg/s of real time.
DUMMY_RATE_DEG_S = 6.0
SPEED = 8.0
SPEED_NO_SIGNAL = 12.0
SPEED_CATCHING_UP = 3.0
#: After the switch, the antenna has this long (simulated seconds) to slew from the sweep onto the satellite.
SETTLE_S = 15.0


def _elements() -> ElementSet:
    return parse_elements(NEXUS_TLE, source="shipped", on_error="raise").elements[0]


def _rise(elements: ElementSet, elevation_deg: float, start: datetime, end: datetime) -> tuple[datetime, float]:
    """When and where ``elements`` first rises through ``elevation_deg`` in [start, end] (interpolated)."""
    table = pointing_table(elements, SITE, start, end, step_s=1.0)
    i = int(np.flatnonzero(table.el_deg >= elevation_deg)[0])
    assert i > 0, "the window starts above the wait elevation"
    f = (elevation_deg - table.el_deg[i - 1]) / (table.el_deg[i] - table.el_deg[i - 1])
    az = np.unwrap([table.az_deg[i - 1], table.az_deg[i]], period=360.0)
    return (table.time_at(i - 1) + timedelta(seconds=float(f)),
            float((az[0] + f * (az[1] - az[0])) % 360.0))


def _pattern(elements: ElementSet, *, window_start: datetime, window_end: datetime) -> dict[str, Any]:
    """The search pattern of the contact, in ``contact.search``'s format, as the booking computes it."""
    wait_el = STATION.min_elevation_deg + WAIT_MARGIN_DEG
    span = (AOS - timedelta(seconds=UNCERTAINTY_S + 120), LOS + timedelta(seconds=UNCERTAINTY_S + 120))
    nominal_at, wait_az = _rise(elements, wait_el, *span)
    rises = [_rise(shifted_elements(elements, dt), wait_el, *span)
             for dt in np.linspace(-UNCERTAINTY_S, UNCERTAINTY_S, 13)]
    azimuths = np.unwrap([az for _, az in rises], period=360.0)
    nominal = pointing_table(elements, SITE, AOS, LOS, step_s=10.0)
    return {"kind": "leop_search", "station": STATION.name, "window_start": format_utc(window_start),
            "window_end": format_utc(window_end), "nominal_aos": format_utc(AOS), "nominal_tca": None,
            "nominal_los": format_utc(LOS), "shift_min_s": -UNCERTAINTY_S, "shift_max_s": UNCERTAINTY_S,
            "wait": {"azimuth_deg": round(wait_az, 3), "elevation_deg": wait_el, "from": format_utc(window_start),
                     "until": format_utc(max(when for when, _ in rises)), "nominal_at": format_utc(nominal_at)},
            "sweep": {"azimuth_min_deg": round(float(azimuths.min()) % 360.0, 3),
                      "azimuth_max_deg": round(float(azimuths.max()) % 360.0, 3),
                      "elevation_deg": wait_el, "period_s": 60.0},
            "arc": [[round(float(a), 2), round(float(e), 2)] for a, e in zip(nominal.az_deg, nominal.el_deg,
                                                                              strict=True)]}


def _contact(contact_id: int, pattern: dict[str, Any] | None, *, speed: float) -> dict[str, Any]:
    """The contact as ``GET /agent/schedule`` lists it: the whole uncertainty window, with its search pattern."""
    start = parse_utc(pattern["window_start"], "s") if pattern else AOS
    end = parse_utc(pattern["window_end"], "s") if pattern else LOS
    rate = DUMMY_RATE_DEG_S / speed
    return {"contact_id": contact_id, "status": "scheduled", "org_id": 1, "start": format_utc(start),
            "end": format_utc(end), "busy_until": format_utc(end),
            "antenna": {"id": 1, "name": "yagi", "band": "UHF", "setup_s": 0.0, "turnaround_s": 0.0,
                        "az_slew_deg_s": rate, "el_slew_deg_s": rate},
            "satellite": {"id": 1, "norad_id": 49263, "name": "CUTE", "downlink_frequency_hz": None,
                          "uplink_frequency_hz": None},
            "element_set": {"id": 1, "epoch": None, "format": "tle", "text": NEXUS_TLE},
            "search_pattern": pattern}


@dataclass
class Readings:
    """The antenna's position read back from rotctld on a connection of its own: (time, az, el)."""

    samples: list[tuple[datetime, float, float]]


@pytest.fixture
def readings(rotctld: Daemon) -> Iterator[tuple[Readings, SimulatedClock | None, threading.Event]]:
    """Yields the readings, and a holder to set the clock on; reads every 50 ms of real time until stopped."""
    out = Readings([])
    holder: dict[str, Any] = {}
    stop = threading.Event()

    def poll() -> None:
        with Rotator(rotctld.host, rotctld.port) as rotator:
            while not stop.is_set():
                clock = holder.get("clock")
                if clock is not None:
                    az, el = rotator.get_position()
                    out.samples.append((clock.now(), az, el))
                stop.wait(0.05)

    thread = threading.Thread(target=poll, daemon=True)
    thread.start()
    yield out, holder, stop  # type: ignore[misc]
    stop.set()
    thread.join(5)


class FrameAtRise:
    """A loopback KISS TNC that sends one frame once the clock reaches ``at`` (the truth heard at the wait point)."""

    def __init__(self, clock: SimulatedClock, at: datetime) -> None:
        self.clock, self.at = clock, at
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.sent_at: datetime | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        try:
            connection, _ = self.server.accept()
        except OSError:
            return
        with connection:
            while not self._stop.is_set() and self.clock.now() < self.at:
                time.sleep(0.002)
            if not self._stop.is_set():
                connection.sendall(kiss_encode(b"CUTE beacon: hello from orbit"))
                self.sent_at = self.clock.now()
            self._stop.wait(60)

    def close(self) -> None:
        self._stop.set()
        self.server.close()


def _executor(rotctld: Daemon, clock: SimulatedClock, log: list[str]) -> PassExecutor:
    rotator = Rotator(rotctld.host, rotctld.port, reconnect_attempts=2, reconnect_delay_s=0.2)
    return PassExecutor(STATION, rotator=rotator, rig=None, clock=clock,
                        options=AgentOptions(pre_position_margin_s=5.0), log=log.append)


def _begin(contact: ScheduledContact, pattern: SearchPattern, speed: float) -> datetime:
    """When to start the clock: early enough for the dummy's slew from its rest (0, 0) to the wait point."""
    slew_s = max(pattern.wait.azimuth_deg, pattern.wait.elevation_deg) / (DUMMY_RATE_DEG_S / speed)
    return contact.start - timedelta(seconds=slew_s + 15.0)


def _errors_deg(readings: Readings, elements: ElementSet, start: datetime, end: datetime) -> np.ndarray:
    """Angles between the antenna as read back and ``elements``' satellite, for readings in [start, end]."""
    table = pointing_table(elements, SITE, start - timedelta(seconds=2), end + timedelta(seconds=2), step_s=1.0)
    t_table = table.offset_s
    az_u = np.unwrap(table.az_deg, period=360.0)
    errors = []
    for when, az, el in readings.samples:
        if start <= when <= end:
            t = (when - table.start).total_seconds()
            errors.append(pointing_error_deg(float(np.interp(t, t_table, az_u)) % 360.0,
                                             float(np.interp(t, t_table, table.el_deg)), az, el))
    return np.asarray(errors)


def _window(elements: ElementSet, *, duration_s: float = 240.0) -> tuple[datetime, datetime]:
    """A window from 20 s before the earliest admissible rise (cut short: the test's time is the dummy's)."""
    earliest, _ = _rise(shifted_elements(elements, -UNCERTAINTY_S), STATION.min_elevation_deg + WAIT_MARGIN_DEG,
                        AOS - timedelta(seconds=300), LOS)
    start = earliest.replace(microsecond=0) - timedelta(seconds=20)
    return start, start + timedelta(seconds=duration_s)


class SlowingClock(SimulatedClock):
    """A ``SimulatedClock`` at ``speed`` until ``at``, then at ``then_speed`` (slower: the dummy keeps up)."""

    def __init__(self, start: datetime, speed: float, *, at: datetime, then_speed: float) -> None:
        super().__init__(start, speed)
        self.at, self.then_speed = at, then_speed
        self._fast_s = (at - start).total_seconds() / speed  # real seconds until ``at``

    def now(self) -> datetime:
        real_s = time.monotonic() - self._t0
        if real_s <= self._fast_s:
            return self.start + timedelta(seconds=real_s * self.speed)
        return self.at + timedelta(seconds=(real_s - self._fast_s) * self.then_speed)

    def sleep_until(self, when: datetime) -> None:
        while (now := self.now()) < when:
            rate = self.speed if now < self.at else self.then_speed
            time.sleep(min(0.05, (when - now).total_seconds() / rate))


@pytest.mark.slow
def test_the_first_frame_sets_the_shift_and_the_antenna_tracks_the_true_satellite(
        rotctld: Daemon, readings, tmp_path: Path) -> None:
    samples, holder, stop = readings
    elements = _elements()
    truth = shifted_elements(elements, DT_TRUE_S)
    start, end = _window(elements)
    body = _contact(41, _pattern(elements, window_start=start, window_end=end), speed=SPEED)
    contact = ScheduledContact.from_json(json.loads(json.dumps(body)))
    pattern = contact.search_pattern
    assert pattern is not None and contact.to_json()["search_pattern"] == body["search_pattern"]
    heard_truth, heard_az = _rise(truth, pattern.wait.elevation_deg, start, end)
    assert pattern.sweep.contains(heard_az, margin_deg=0.5)  # the truth rises on the swept arc

    clock = SimulatedClock(_begin(contact, pattern, SPEED), SPEED)
    holder["clock"] = clock
    tnc = FrameAtRise(clock, heard_truth)
    log: list[str] = []
    with Journal.open(tmp_path / "journal.sqlite") as journal:
        capture = FrameCapture(contact.contact_id, ("127.0.0.1", tnc.port), journal=journal, clock=clock,
                               start_at=clock.now(), stop_at=end, log=log.append).start()
        try:
            run = _executor(rotctld, clock, log).run(contact, heard=capture.first_frame)
        finally:
            stop.set()
            capture.stop()
            tnc.close()
        assert journal.frame_counts(contact.contact_id)[0] == 1
    outcome = run.outcome("test-agent/1")
    search = outcome["execution"]["search"]
    switch_at = run.started_at + timedelta(seconds=search["searched_s"])
    tracking = _errors_deg(samples, truth, switch_at + timedelta(seconds=SETTLE_S), end)
    figures = {"dt_true_s": DT_TRUE_S, "search": search, "heard_truth": format_utc(heard_truth),
               "tracking_readings": int(tracking.size), "tracking_rms_deg": round(float(np.sqrt(np.mean(
                   tracking**2))), 3), "tracking_max_deg": round(float(tracking.max()), 3),
               "positions_sent": run.positions_sent,
               "notes": outcome["notes"]}
    print("\nLEOP search, first frame heard:", json.dumps(figures, indent=1))
    assert run.fatal is None and run.status == "completed" and run.failures == []
    assert search["signal"] is True and parse_utc(search["heard_at"], "heard_at") >= heard_truth
    assert abs(search["shift_s"] - DT_TRUE_S) <= 3.0
    assert any("first frame heard" in line for line in log) and "first frame heard" in outcome["notes"]
    # Searching, the antenna was on the sweep arc at the wait elevation (once it got there from its rest).
    arrived = [(az, el) for when, az, el in samples.samples if start + timedelta(seconds=5) <= when < switch_at]
    assert len(arrived) > 20
    assert all(pattern.sweep.contains(az, margin_deg=1.5) and abs(el - pattern.sweep.elevation_deg) <= 1.5
               for az, el in arrived)
    # Tracking, it followed the true satellite (not the nominal one, 35 s away: several degrees off).
    assert tracking.size > 100
    # The readings come from a second thread on a simulated clock at 12x: on a loaded machine a reading can
    # land before the rotator took the latest command, so the bound is on the 95th percentile and the RMS.
    assert float(np.percentile(tracking, 95)) <= 2.5 and float(np.sqrt(np.mean(tracking**2))) <= 2.0
    nominal = _errors_deg(samples, elements, switch_at + timedelta(seconds=SETTLE_S), end)
    assert float(np.median(nominal)) > 5.0


@pytest.mark.slow
def test_with_no_signal_the_antenna_sweeps_until_wait_until_then_tracks_the_middle_shift(
        rotctld: Daemon, readings) -> None:
    samples, holder, stop = readings
    elements = _elements()
    # The middle copy rose 90 s before the latest one: at wait.until it is some 25 deg on, and the antenna
    # slews there; the clock slows down at wait.until so that the dummy's 6 deg/s can catch it up.
    until = _pattern(elements, window_start=AOS, window_end=LOS)["wait"]["until"]
    until_at = parse_utc(until, "until")
    start, end = until_at.replace(microsecond=0) - timedelta(seconds=90), until_at + timedelta(seconds=60)
    body = _contact(42, _pattern(elements, window_start=start, window_end=end), speed=SPEED_NO_SIGNAL)
    contact = ScheduledContact.from_json(body)
    pattern = contact.search_pattern
    assert pattern is not None and pattern.wait.until == until_at < end
    clock = SlowingClock(_begin(contact, pattern, SPEED_NO_SIGNAL), SPEED_NO_SIGNAL, at=until_at,
                         then_speed=SPEED_CATCHING_UP)
    holder["clock"] = clock
    log: list[str] = []
    try:
        run = _executor(rotctld, clock, log).run(contact)  # no frame capture: nothing can be heard
    finally:
        stop.set()
    outcome = run.outcome("test-agent/1")
    search = outcome["execution"]["search"]
    switch_at = run.started_at + timedelta(seconds=search["searched_s"])
    middle = shifted_elements(elements, pattern.middle_shift_s)
    tracking = _errors_deg(samples, middle, switch_at + timedelta(seconds=2 * SETTLE_S), end)
    print("\nLEOP search, no signal:", json.dumps({"search": search, "tracking_readings": int(tracking.size),
                                                   "tracking_rms_deg": round(float(np.sqrt(np.mean(tracking**2))), 3),
                                                   "tracking_max_deg": round(float(tracking.max()), 3),
                                                   "until": format_utc(pattern.wait.until)}, indent=1))
    assert run.fatal is None and search["signal"] is False and search["heard_at"] is None
    assert search["shift_s"] == pattern.middle_shift_s == 0.0
    assert abs((switch_at - pattern.wait.until).total_seconds()) <= 1.5
    assert "no signal during the search" in outcome["notes"]
    swept = [(az, el) for when, az, el in samples.samples
             if start + timedelta(seconds=5) <= when < pattern.wait.until]
    assert len(swept) > 20
    assert all(pattern.sweep.contains(az, margin_deg=1.5) and abs(el - pattern.sweep.elevation_deg) <= 1.5
               for az, el in swept)
    assert tracking.size > 20  # as above: the 95th percentile and the RMS, not the one worst reading
    assert float(np.percentile(tracking, 95)) <= 2.5 and float(np.sqrt(np.mean(tracking**2))) <= 2.0


def test_a_malformed_search_pattern_fails_that_contact_alone_naming_the_field() -> None:
    elements = _elements()
    start, end = _window(elements)
    good = _contact(51, _pattern(elements, window_start=start, window_end=end), speed=SPEED)
    bad = copy.deepcopy(good)
    bad["contact_id"] = 52
    bad["search_pattern"]["sweep"]["period_s"] = "fast"
    routine = _contact(53, None, speed=SPEED)
    worse = copy.deepcopy(good)
    worse["contact_id"] = 54
    del worse["search_pattern"]["wait"]
    station = {**STATION.to_json()}
    schedule = AgentSchedule.from_json({"station": station, "start": None, "end": None,
                                        "data": [good, bad, routine, worse]})
    assert [c.contact_id for c in schedule.contacts] == [51, 53]
    assert schedule.contacts[1].search_pattern is None
    assert schedule.contacts[0].to_json()["search_pattern"] == good["search_pattern"]
    errors = {error.contact_id: error for error in schedule.rejected}
    assert set(errors) == {52, 54}
    assert errors[52].loc == ("search_pattern", "sweep", "period_s") and "search_pattern.sweep.period_s" in str(
        errors[52])
    assert errors[54].loc == ("search_pattern", "wait") and "search_pattern.wait must be a JSON object" in str(
        errors[54])
    with pytest.raises(ContactError, match=r"search_pattern\.kind must be 'leop_search'"):
        ScheduledContact.from_json({**good, "search_pattern": {**good["search_pattern"], "kind": "spiral"}})
    # A failed contact's outcome is reportable as is: no execution, the reason named.
    run = Execution.not_executed(52, f"the API's schedule lists it malformed: {errors[52]}", at=start)
    assert "search_pattern.sweep.period_s" in run.outcome("a")["notes"]


def test_the_api_serves_the_search_pattern_and_takes_the_search_in_the_outcome(tmp_path: Path) -> None:
    elements = _elements()
    start, end = _window(elements)
    pattern = _pattern(elements, window_start=start, window_end=end)
    with app_on("sqlite", tmp_path) as app:
        client = TestClient(app)
        world = make_world(app.state.session_factory)
        kasa, aem = world.kasa, world.aem
        response = client.post(f"/satellites/{aem.satellite_id}/elements", content=NEXUS_TLE,
                               headers={**aem.auth(), "Content-Type": "text/plain"})
        assert response.status_code == 201, response.text
        ids = []
        for hour in (3, 4):
            response = client.post("/contacts", headers=aem.auth(), json={
                "antenna_id": kasa.antenna_id, "satellite_id": aem.satellite_id, "start": f"2030-05-01T0{hour}:00:00Z",
                "end": f"2030-05-01T0{hour}:10:00Z", "allow_outside_pass": True})
            assert response.status_code == 201, response.text
            ids.append(response.json()["id"])
        with session_scope(app.state.session_factory) as session:
            session.get(Contact, ids[0]).search_pattern = pattern
        response = client.get("/agent/schedule", headers=kasa.auth(), params={
            "station_id": kasa.station_id, "start": "2030-05-01T00:00:00Z", "end": "2030-05-02T00:00:00Z"})
        assert response.status_code == 200, response.text
        leop, routine = response.json()["data"]
        assert leop["search_pattern"] == pattern and routine["search_pattern"] is None
        typed = ScheduledContact.from_json(leop)
        assert typed.search_pattern is not None and typed.search_pattern.to_json() == pattern
        assert ScheduledContact.from_json(typed.to_json()) == typed
        # The outcome's search is taken, validated and kept; a bad one is a 422 naming the field.
        search = {"heard_at": "2030-05-01T03:01:10Z", "shift_s": -32.7, "searched_s": 73.0, "signal": True}
        body = {"status": "completed", "bytes_received": 0, "execution": {"positions_sent": 3, "search": search}}
        bad = {**body, "execution": {"search": {**search, "shift_s": "late"}}}
        response = client.post(f"/agent/contacts/{ids[0]}/outcome", headers=kasa.auth(), json=bad)
        assert response.status_code == 422 and "shift_s" in response.text
        response = client.post(f"/agent/contacts/{ids[0]}/outcome", headers=kasa.auth(), json=body)
        assert response.status_code == 200, response.text
        assert response.json()["execution"]["search"] == search
