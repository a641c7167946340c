"""One pass on the hardware: pointing and Doppler tables before AOS, then commands by the clock.

``PassExecutor`` executes one contact on a station's rotator and radio and knows nothing
of the API or the journal (``agent.runner``'s ``StationAgent`` gives it its contacts and
reports what it did; ``groundshare track`` drives it by hand):

1. before AOS: the 1 Hz pointing table and the Doppler tables from the element set the
   contact was planned with (``agent.tables``), the rotator's limits (``\\dump_state``)
   and the azimuth path (wrap, flip), and a move to the AOS position early enough for
   the slew (``contact_lead_s``);
2. during the pass: positions and frequencies sent on time by the clock (a position once
   the target has moved ``pointing_tolerance_deg`` from the last one sent, at most every
   ``command_interval_s``), the position read back each second and pointing-error
   statistics kept against where the antenna should point;
3. at LOS the antenna parks.

A launch-and-early-orbit contact carries a search pattern (``contact.search``); it runs
in two phases (``agent.search``): from the window's start the antenna sweeps the arc
where the satellite rises, until the first frame is heard (``FirstFrame``, from the frame
capture; without capture, until ``wait.until``); then it tracks the element set shifted
by the timing offset that frame implies (or the middle of the admissible range when
nothing was heard) to the window's end.  The outcome's ``execution.search`` says when
the frame came and which shift was tracked.

What happened (times, pointing error, commands, failures with reasons) comes back as an
``Execution``, whose ``outcome`` is the body of the API's outcome report.  A rotator or
radio that drops out is reconnected (``agent.hamlib``); if it never comes back before LOS
the contact fails with the reason.  A refused position is counted and named, and
tracking goes on.  The clock is injected (``agent.clock``), so a 10-minute pass can run
in seconds against the real daemons.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from groundshare.agent.clock import Clock
from groundshare.agent.hamlib import HamlibError, Rig, Rotator, RotatorLimits
from groundshare.agent.search import FirstFrame, search_report, shifted_elements, sweep_table
from groundshare.agent.tables import (
    PRE_POSITION_MARGIN_S,
    AzimuthPath,
    PointingTable,
    plan_azimuth_path,
    pointing_table,
    slew_time_s,
)
from groundshare.contact import ScheduledContact, SearchPattern, StationSnapshot
from groundshare.errors import GroundshareError
from groundshare.orbits import ElementSet, parse_elements
from groundshare.timeutil import format_utc
from groundshare.units import HOUR_S

#: A rotator with no ``\dump_state`` limits is assumed to turn 0-360 deg in azimuth and 0-90 deg in elevation.
DEFAULT_LIMITS = RotatorLimits(min_az_deg=0.0, max_az_deg=360.0, min_el_deg=0.0, max_el_deg=90.0)


@dataclass
class AgentOptions:
    """How the agent runs; times in seconds."""

    step_s: float = 1.0
    lookahead_s: float = 48 * HOUR_S
    sync_interval_s: float = 60.0
    lease_ttl_s: float = 120.0
    warn_clock_offset_s: float = 1.0
    max_clock_offset_s: float = 5.0
    pre_position_margin_s: float = PRE_POSITION_MARGIN_S
    #: A new position goes to the rotator once the target is this far (deg) from the last one sent ...
    pointing_tolerance_deg: float = 1.0
    #: ... and at least this long (s) after it: serial rotator controllers want time to act on a command.
    command_interval_s: float = 2.0


@dataclass
class Execution:
    """What happened while one contact ran: counts, pointing errors and failures (with reasons)."""

    contact_id: int
    started_at: datetime | None = None
    finished_at: datetime | None = None
    positions_sent: int = 0
    positions_read: int = 0
    positions_refused: int = 0
    positions_late: int = 0
    frequency_commands: int = 0
    reconnects: int = 0
    errors_deg: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    fatal: str | None = None
    clock_offset_s: float | None = None
    #: Frames captured from the TNC (None: no frame capture for this contact) and the bytes received: frame
    #: payloads plus the capture command's files (``agent.capture``, ``agent.recording``).
    frames_received: int | None = None
    bytes_received: int = 0
    #: A search pattern's contact: when the first frame was heard, the shift tracked, how long the search lasted
    #: (``agent.search.search_report``); None for a routine contact.
    search: dict[str, Any] | None = None

    @classmethod
    def not_executed(cls, contact_id: int, reason: str, *, at: datetime,
                     clock_offset_s: float | None = None) -> Execution:
        """Return a contact failed at ``at`` without running (an outcome without a start: the API allows it)."""
        return cls(contact_id, started_at=at, finished_at=at, fatal=f"not executed: {reason}",
                   clock_offset_s=clock_offset_s)

    def fail(self, reason: str) -> None:
        """Record ``reason`` once (the same fault every second is one failure)."""
        if reason not in self.failures and len(self.failures) < 50:
            self.failures.append(reason[:500])

    @property
    def status(self) -> str:
        return "failed" if self.fatal else "completed"

    def pointing_error_deg(self) -> tuple[float | None, float | None]:
        """Return the RMS and the largest pointing error read back, in degrees (None if nothing was read)."""
        if not self.errors_deg:
            return None, None
        errors = np.asarray(self.errors_deg)
        return float(np.sqrt(np.mean(errors**2))), float(errors.max())

    def outcome(self, agent_id: str) -> dict[str, Any]:
        """Return the body of ``POST /agent/contacts/{id}/outcome``."""
        rms, peak = self.pointing_error_deg()
        summary = (f"{self.positions_sent} positions sent, {self.positions_read} read back, "
                   f"{self.positions_refused} refused, {self.positions_late} skipped late, "
                   f"{self.frequency_commands} frequency commands")
        if rms is not None:
            summary += f"; pointing error RMS {rms:.2f} deg, max {peak:.2f} deg"
        reasons = [self.fatal] if self.fatal else []
        notes = "; ".join([summary, *reasons, *self.notes])
        execution = {"pointing_error_rms_deg": _rounded(rms), "pointing_error_max_deg": _rounded(peak),
                     "positions_sent": self.positions_sent, "positions_read": self.positions_read,
                     "positions_refused": self.positions_refused, "frequency_commands": self.frequency_commands,
                     "reconnects": self.reconnects, "failures": list(self.failures), "agent_id": agent_id,
                     "clock_offset_s": _rounded(self.clock_offset_s), "search": self.search}
        body = {"status": self.status, "bytes_received": self.bytes_received, "notes": notes[:10_000],
                "started_at": format_utc(self.started_at) if self.started_at else None,
                "finished_at": format_utc(self.finished_at) if self.finished_at else None,
                "execution": {k: v for k, v in execution.items() if v is not None}}
        if self.frames_received is not None:
            body["frames_received"] = self.frames_received
        return body


def contact_lead_s(contact: ScheduledContact, *, margin_s: float = PRE_POSITION_MARGIN_S) -> float:
    """Return the seconds before AOS to start moving: the worst-case slew at the antenna's rates, plus ``margin_s``."""
    worst_s = slew_time_s(0.0, 90.0, 180.0, 0.0, az_rate_deg_s=contact.antenna.az_slew_deg_s,
                          el_rate_deg_s=contact.antenna.el_slew_deg_s)
    return worst_s + margin_s


class PassExecutor:
    """Executes one pass on a station's rotator and radio by the clock; knows nothing of the API or journal.

    Contacts and the station are typed (``ScheduledContact``, ``StationSnapshot``); one in
    the API's JSON shape (``groundshare track`` builds such) is read once, where it comes in.
    """

    def __init__(self, station: StationSnapshot, *, rotator: Rotator | None, rig: Rig | None,
                 clock: Clock, options: AgentOptions, log: Callable[[str], None] = print,
                 on_sample: Callable[[], None] = lambda: None) -> None:
        self.station = station
        self.rotator = rotator
        self.rig = rig
        self.clock = clock
        self.options = options
        self.log = log
        self.on_sample = on_sample

    def lead_s(self, contact: ScheduledContact) -> float:
        """Seconds before AOS to start moving: the worst-case slew at the antenna's rates, plus a margin."""
        return contact_lead_s(contact, margin_s=self.options.pre_position_margin_s)

    def prepare(self, contact: ScheduledContact, elements: ElementSet | None = None
                ) -> tuple[PointingTable, AzimuthPath]:
        """Return the pointing and Doppler tables of ``contact`` and the rotator's path through them.

        The element set is the one the contact was planned with (its ``element_set``
        text) unless ``elements`` is given.
        """
        elements = self._elements(contact, elements)
        table = self._table(contact, elements, contact.start, contact.end)
        return table, plan_azimuth_path(table.az_deg, table.el_deg, self._limits())

    def _elements(self, contact: ScheduledContact, elements: ElementSet | None) -> ElementSet:
        if elements is not None:
            return elements
        if contact.element_set is None:
            raise GroundshareError(f"contact {contact.contact_id} carries no element set to point with")
        return parse_elements(contact.element_set.text, source=f"contact {contact.contact_id}",
                              on_error="raise").elements[0]

    def _table(self, contact: ScheduledContact, elements: ElementSet, start: datetime, end: datetime) -> PointingTable:
        satellite = contact.satellite
        return pointing_table(elements, self.station.to_site(), start, end, step_s=self.options.step_s,
                              downlink_hz=satellite.downlink_frequency_hz, uplink_hz=satellite.uplink_frequency_hz)

    def _limits(self) -> RotatorLimits:
        if self.rotator is not None:
            try:
                return self.rotator.limits()
            except HamlibError as exc:
                self.log(f"warning: rotator limits unknown ({exc}); assuming {DEFAULT_LIMITS}")
        return DEFAULT_LIMITS

    def run(self, contact: ScheduledContact, *, elements: ElementSet | None = None,
            on_start: Callable[[datetime], None] = lambda when: None, heard: FirstFrame | None = None) -> Execution:
        """Prepare, pre-position, track and park for ``contact``; return what happened.

        A contact with a search pattern searches first (see the module docstring);
        ``heard`` is the first-frame signal of its frame capture (None: no capture, so
        nothing is heard and the search lasts until ``wait.until``).
        """
        contact_id = contact.contact_id
        if contact.search_pattern is not None:
            return self._run_search(contact, contact.search_pattern, elements=elements, on_start=on_start,
                                    heard=heard)
        run = Execution(contact_id)
        start, end = contact.start, contact.end
        try:
            table, path = self.prepare(contact, elements)
        except GroundshareError as exc:
            return Execution.not_executed(contact_id, str(exc), at=self.clock.now())
        if path.note:
            run.notes.append(path.note)
        self.log(f"contact {contact_id}: {len(table)} pointing samples from {format_utc(start)} to {format_utc(end)}"
                 f"{' (flip mode)' if path.flipped else ''}")
        self._pre_position(contact, path, start, run)
        self.clock.sleep_until(start)
        run.started_at = self.clock.now()
        on_start(run.started_at)
        self._track(table, path, run)
        return self._finish(run)

    def _run_search(self, contact: ScheduledContact, pattern: SearchPattern, *, elements: ElementSet | None,
                    on_start: Callable[[datetime], None], heard: FirstFrame | None) -> Execution:
        """Sweep the search arc until the first frame (or ``wait.until``), then track the shifted elements."""
        contact_id = contact.contact_id
        run = Execution(contact_id)
        start, end = contact.start, contact.end
        until = min(max(pattern.wait.until, start), end)
        middle_s = pattern.middle_shift_s
        try:
            elements = self._elements(contact, elements)
            middle = self._table(contact, shifted_elements(elements, middle_s), start, end)
            sweep = sweep_table(pattern, start, until, step_s=self.options.step_s, reference=middle)
            limits = self._limits()
        except GroundshareError as exc:
            return Execution.not_executed(contact_id, str(exc), at=self.clock.now())
        # The sweep is planned together with the middle copy's pass, so that tracking goes on in the same frame.
        risen = middle.el_deg > 0.0
        whole = plan_azimuth_path(np.concatenate([sweep.az_deg, middle.az_deg[risen]]),
                                  np.concatenate([sweep.el_deg, middle.el_deg[risen]]), limits)
        n = len(sweep)
        search_path = AzimuthPath(whole.az_cmd_deg[:n], whole.el_cmd_deg[:n], flipped=whole.flipped,
                                  crosses_stop=whole.crosses_stop, note=whole.note)
        arc = pattern.sweep
        self.log(f"contact {contact_id}: searching from {format_utc(start)} until {format_utc(until)} at el "
                 f"{arc.elevation_deg:.1f} deg over az {arc.azimuth_min_deg:.1f}..{arc.azimuth_max_deg:.1f} deg "
                 f"(shift {pattern.shift_min_s:+.0f}..{pattern.shift_max_s:+.0f} s)")
        self._pre_position(contact, search_path, start, run)
        self.clock.sleep_until(start)
        run.started_at = self.clock.now()
        on_start(run.started_at)
        self._follow(sweep, search_path, run, stop=(lambda: heard.at() is not None) if heard is not None else None)
        heard_at = heard.at() if heard is not None else None
        shift_s = pattern.shift_for(heard_at) if heard_at is not None else middle_s
        switch_at = max(self.clock.now(), start)
        run.search = search_report(heard_at, shift_s, (switch_at - run.started_at).total_seconds())
        if heard_at is not None:
            message = (f"first frame heard at {format_utc(heard_at)}: the satellite is {shift_s:+.1f} s off the "
                       f"element set; tracking it shifted from {format_utc(switch_at)}")
        else:
            message = (f"no signal during the search (until {format_utc(until)}): tracking the middle shift "
                       f"{shift_s:+.1f} s from {format_utc(switch_at)}")
        self.log(f"contact {contact_id}: {message}")
        run.notes.append(message)
        if switch_at < end:
            try:
                table = self._table(contact, shifted_elements(elements, shift_s), switch_at, end)
            except GroundshareError as exc:
                run.fatal = f"cannot track the shifted element set: {exc}"
            else:
                # Planned from the sweep's arc on, so that the azimuth goes on in the frame the search used.
                lead = np.array([arc.azimuth_min_deg, arc.azimuth_max_deg])
                whole = plan_azimuth_path(np.concatenate([lead, table.az_deg]),
                                          np.concatenate([np.full(2, arc.elevation_deg), table.el_deg]), limits)
                path = AzimuthPath(whole.az_cmd_deg[2:], whole.el_cmd_deg[2:], flipped=whole.flipped,
                                   crosses_stop=whole.crosses_stop, note=whole.note)
                if path.note:
                    run.notes.append(path.note)
                self._track(table, path, run)
        return self._finish(run)

    def _finish(self, run: Execution) -> Execution:
        """Park the antenna and close the run: a pass in which the rotator took no position failed."""
        self._park(run)
        run.finished_at = self.clock.now()
        if run.fatal is None and self.rotator is not None and run.positions_sent == 0:
            run.fatal = "the rotator accepted no position during the pass: " + "; ".join(run.failures or ["no reason"])
        return run

    def _pre_position(self, contact: ScheduledContact, path: AzimuthPath, start: datetime, run: Execution) -> None:
        """Command the AOS position early enough for the slew from where the antenna is."""
        if self.rotator is None:
            return
        az0, el0 = float(path.az_cmd_deg[0]), float(path.el_cmd_deg[0])
        antenna = contact.antenna
        try:
            here_az, here_el = self.rotator.get_position()
            slew_s = slew_time_s(here_az, here_el, az0, el0, az_rate_deg_s=antenna.az_slew_deg_s,
                                 el_rate_deg_s=antenna.el_slew_deg_s)
        except HamlibError as exc:
            run.fail(f"rotator unreachable before AOS: {exc}")
            slew_s = self.lead_s(contact) - self.options.pre_position_margin_s
        self.clock.sleep_until(start - timedelta(seconds=slew_s + self.options.pre_position_margin_s))
        if self._command(run, az0, el0, count=False) is not None:
            return
        # Watch the antenna arrive (once a second: some controllers, Hamlib's dummy among them, only
        # report, or even only advance, their motion when polled) and say so if it is not there by AOS.
        off_deg = math.inf
        while self.clock.now() < start:
            self.clock.sleep_until(min(start, self.clock.now() + timedelta(seconds=self.options.step_s)))
            try:
                off_deg = pointing_error_deg(az0, el0, *self.rotator.get_position())
            except HamlibError as exc:
                run.fail(f"rotator unreachable before AOS: {exc}")
                return
            if off_deg <= self.options.pointing_tolerance_deg:
                return
        run.notes.append(f"the antenna was {off_deg:.1f} deg short of the AOS position at AOS")

    def _track(self, table: PointingTable, path: AzimuthPath, run: Execution) -> None:
        """Send each sample's position and frequencies at its time; read the position back; fail on an outage."""
        rotator_down, rig_down = self._follow(table, path, run)
        if rotator_down:
            run.fatal = f"the rotator never came back before LOS: {rotator_down}"
        elif rig_down:
            run.fatal = f"the radio never came back before LOS: {rig_down}"

    def _follow(self, table: PointingTable, path: AzimuthPath, run: Execution, *,
                stop: Callable[[], bool] | None = None) -> tuple[str | None, str | None]:
        """Play ``table`` on the rotator and radio until its end (or ``stop()`` says so at a sample).

        Returns the rotator's and the radio's outage reasons at the end (None: up).
        """
        step = timedelta(seconds=self.options.step_s)
        rotator_down: str | None = None
        rig_down: str | None = None
        if self.rig is not None and table.uplink_hz is not None:
            try:  # the uplink goes out on the second VFO: "I" is the transmit frequency only with split on
                if (code := self.rig.set_split()) != 0:
                    run.fail(f"radio refused split operation for the uplink (RPRT {code})")
            except HamlibError as exc:
                rig_down = f"radio: {exc}"
                run.fail(rig_down)
        sent: tuple[float, float] | None = None  # the last position the rotator took, and when
        sent_at = -math.inf
        last = len(table) - 1
        for i in range(len(table)):
            due = table.time_at(i)
            if self.clock.now() > due + step:
                run.positions_late += 1  # behind schedule: never send a stale position
                continue
            self.clock.sleep_until(due)
            self.on_sample()
            if stop is not None and stop():
                break
            if self.rotator is not None:
                target = (float(path.az_cmd_deg[i]), float(path.el_cmd_deg[i]))
                # Move only when the target is a tolerance away from the last position sent (and at LOS),
                # as trackers do: fewer starts and stops for the motors; the position is read every sample.
                offset_s = float(table.offset_s[i])
                move = (sent is None or rotator_down is not None or i == last
                        or (pointing_error_deg(*sent, *target) >= self.options.pointing_tolerance_deg
                            and offset_s - sent_at >= self.options.command_interval_s))
                rotator_down = self._command(run, *target, move=move, down=rotator_down)
                if move and rotator_down is None:
                    sent, sent_at = target, offset_s
            if self.rig is not None:
                rig_down = self._tune(run, table, i, down=rig_down)
        return rotator_down, rig_down

    def _command(self, run: Execution, az_deg: float, el_deg: float, *, count: bool = True, move: bool = True,
                 down: str | None = None) -> str | None:
        """Send a position (if ``move``) and read the position back against it.

        Returns the outage reason while the rotator is unreachable, else None.
        """
        assert self.rotator is not None
        try:
            if move:
                code = self.rotator.set_position(az_deg, el_deg)
                if code != 0:
                    run.positions_refused += 1
                    run.fail(f"rotator refused P {az_deg:.2f} {el_deg:.2f} (RPRT {code})")
                elif count:
                    run.positions_sent += 1
            read_az, read_el = self.rotator.get_position()
            if count:
                run.positions_read += 1
                run.errors_deg.append(pointing_error_deg(az_deg, el_deg, read_az, read_el))
        except HamlibError as exc:
            reason = f"rotator: {exc}"
            run.fail(reason)
            return reason
        finally:
            run.reconnects = self._reconnects()
        if down:
            run.notes.append("the rotator came back during the pass")
        return None

    def _tune(self, run: Execution, table: PointingTable, i: int, *, down: str | None) -> str | None:
        """Send the sample's Doppler-corrected downlink (and uplink) frequencies."""
        assert self.rig is not None
        try:
            for name, values, send in (("downlink", table.downlink_hz, self.rig.set_frequency),
                                       ("uplink", table.uplink_hz, self.rig.set_uplink_frequency)):
                if values is None:
                    continue
                code = send(float(values[i]))
                run.frequency_commands += 1
                if code != 0:
                    run.fail(f"radio refused the {name} frequency {float(values[i]):.1f} Hz (RPRT {code})")
        except HamlibError as exc:
            reason = f"radio: {exc}"
            run.fail(reason)
            return reason
        finally:
            run.reconnects = self._reconnects()
        if down:
            run.notes.append("the radio came back during the pass")
        return None

    def _park(self, run: Execution) -> None:
        if self.rotator is None:
            return
        try:
            code = self.rotator.park()
            if code != 0:
                run.fail(f"rotator refused to park (RPRT {code})")
        except HamlibError as exc:
            run.fail(f"could not park: {exc}")

    def _reconnects(self) -> int:
        return sum(device.reconnects for device in (self.rotator, self.rig) if device is not None)


def pointing_error_deg(az_deg: float, el_deg: float, read_az_deg: float, read_el_deg: float) -> float:
    """Return the angle (deg) between two pointing directions (flip-mode elevations above 90 deg work as is)."""
    a = _unit(az_deg, el_deg)
    b = _unit(read_az_deg, read_el_deg)
    return math.degrees(math.acos(max(-1.0, min(1.0, float(np.dot(a, b))))))


def _unit(az_deg: float, el_deg: float) -> np.ndarray:
    az, el = math.radians(az_deg), math.radians(el_deg)
    return np.array([math.cos(el) * math.sin(az), math.cos(el) * math.cos(az), math.sin(el)])


def _rounded(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(value, digits)
