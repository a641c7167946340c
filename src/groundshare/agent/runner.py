"""The station agent: pulls its antenna's contacts, executes them through Hamlib, reports outcomes.

``StationAgent`` ties the pieces together:

1. ``start``: warns loudly when the API URL is plain ``http://`` to another machine (the
   token would travel in clear text); finds its station (from the API, or from the
   journal when the API is down); takes the station's agent lease (a second agent for
   the same station is refused, by the API across machines and by the journal's lock on
   one machine). The agent's id (``default_agent_id``) is the same for every run on this
   machine with this journal, so an agent restarted after a crash or a ``kill -9`` takes
   its own lease back at once, while an agent of another machine or journal waits for the
   lease to expire. Then it reads the network's clock (``GET /clock``): on a ``shifted``
   network (the demo runs at its element sets' epoch) the agent's ``NetworkClock`` adopts
   the network's offset, so contacts run at the network's time; either way the system
   clock is checked against the server's: more than ``warn_clock_offset_s`` apart is a
   warning, more than ``max_clock_offset_s`` and the agent refuses to execute.
2. ``sync``: ``GET /agent/schedule`` over the look-ahead from the network's now into the
   journal, read through ``agent.schedule.AgentSchedule``: a schedule of more than
   ``MAX_SCHEDULE_CONTACTS`` contacts (5,000), or an answer larger than
   ``client.MAX_RESPONSE_BYTES``, is refused whole and the agent carries on from its
   journal; a malformed contact is reported failed with the field at fault, and the others
   are taken (an outage is logged and the agent carries on from the journal);
   ``flush_reports`` sends what the journal holds, in order.
3. ``execute``: for one contact, before AOS: the 1 Hz pointing table and the Doppler
   tables from the element set the contact was planned with (``agent.tables``), the
   rotator's limits (``\\dump_state``) and the azimuth path (wrap, flip), and a move to
   the AOS position early enough for the slew; during the pass, positions and frequencies
   sent on time by the clock (a position once the target has moved ``pointing_tolerance_deg``
   from the last one sent, at most every ``command_interval_s``), the position read back
   each second and pointing-error statistics kept against where the antenna should point;
   at LOS the antenna parks. The outcome (times, pointing error, commands, failures with
   reasons) goes to the journal, then to the API.

With nothing to execute the agent says why (``idle_reason``): the window it asked for
and by which clock, whether the API's schedule for it was empty or could not be had, and
the next contact booked after it.

A rotator or radio that drops out is reconnected (``agent.hamlib``); if it never comes
back before LOS the contact is reported failed with the reason. A refused position is
counted and named, and tracking goes on. The clock is injected (``agent.clock``), so a
10-minute pass can run in seconds against the real daemons.
"""

from __future__ import annotations

import hashlib
import math
import os
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from groundshare.agent.client import (
    AgentApi,
    ApiRefusedError,
    ApiResponseError,
    ApiUnreachableError,
    ServerClock,
    plain_http_warning,
)
from groundshare.agent.clock import Clock, NetworkClock, WallClock
from groundshare.agent.hamlib import HamlibError, Rig, Rotator, RotatorLimits
from groundshare.agent.journal import Journal
from groundshare.agent.schedule import AgentSchedule, ContactError, ScheduleError
from groundshare.agent.tables import (
    PRE_POSITION_MARGIN_S,
    AzimuthPath,
    PointingTable,
    plan_azimuth_path,
    pointing_table,
    slew_time_s,
)
from groundshare.errors import GroundshareError
from groundshare.orbits import ElementSet, parse_elements
from groundshare.passes import Site
from groundshare.timeutil import format_utc, parse_utc

#: How far past its look-ahead an idle agent looks for the next booked contact (seconds): the longest window
#: ``GET /agent/schedule`` serves.
NEXT_CONTACT_SEARCH_S = 14 * 86_400.0
#: Places where a machine keeps its stable identity (systemd's and D-Bus's machine id).
MACHINE_ID_FILES = (Path("/etc/machine-id"), Path("/var/lib/dbus/machine-id"))

#: A rotator with no ``\dump_state`` limits is assumed to turn 0-360 deg in azimuth and 0-90 deg in elevation.
DEFAULT_LIMITS = RotatorLimits(min_az_deg=0.0, max_az_deg=360.0, min_el_deg=0.0, max_el_deg=90.0)


class ClockOffsetError(GroundshareError):
    """The station's clock is too far from the server's to execute contacts on time."""


@dataclass
class AgentOptions:
    """How the agent runs; times in seconds."""

    step_s: float = 1.0
    lookahead_s: float = 48 * 3600.0
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
                     "clock_offset_s": _rounded(self.clock_offset_s)}
        return {"status": self.status, "bytes_received": 0, "notes": notes[:10_000],
                "started_at": format_utc(self.started_at) if self.started_at else None,
                "finished_at": format_utc(self.finished_at) if self.finished_at else None,
                "execution": {k: v for k, v in execution.items() if v is not None}}


@dataclass(frozen=True)
class SyncResult:
    """What the last ``sync`` asked for (``[start, end)`` by the agent's clock) and got: a count, or why not."""

    start: datetime
    end: datetime
    listed: int = 0
    error: str | None = None


def default_agent_id(journal_path: str | os.PathLike[str] | None = None, *, host: str | None = None,
                     machine_id: str | None = None) -> str:
    """Return the agent's id: ``host/journal-<digest>``, the same for every run on this machine with this journal.

    The digest is of the machine's id (``machine_id``, default ``/etc/machine-id``, else
    its network card's address), its host name (``host``, default this one's) and the
    journal's absolute path, so two machines that share a host name, or two journals on
    one machine, never share an id; and an agent restarted with the same journal (which
    one process at a time may hold) renews its own lease instead of waiting for it to
    expire.  Without a journal: ``host/pid``.
    """
    host = (host if host is not None else socket.gethostname() or "host")[:150]
    if journal_path is None:
        return f"{host}/{os.getpid()}"
    machine = machine_id if machine_id is not None else _machine_id()
    identity = "\0".join((machine, host, str(Path(journal_path).resolve())))
    return f"{host}/journal-{hashlib.sha256(identity.encode()).hexdigest()[:16]}"


def _machine_id() -> str:
    for path in MACHINE_ID_FILES:
        try:
            text = path.read_text().strip()
        except OSError:
            continue
        if text:
            return text
    return f"{uuid.getnode():012x}"


class StationAgent:
    """Runs one station's contacts (see the module docstring)."""

    def __init__(self, station_name: str, journal: Journal, *, api: AgentApi | None, rotator: Rotator | None,
                 rig: Rig | None, clock: Clock | None = None, options: AgentOptions | None = None,
                 agent_id: str | None = None, system_now: Callable[[], datetime] | None = None,
                 log: Callable[[str], None] = print) -> None:
        self.station_name = station_name
        self.journal = journal
        self.api = api
        self.rotator = rotator
        self.rig = rig
        self.clock = clock or NetworkClock()
        self.options = options or AgentOptions()
        self.agent_id = agent_id or default_agent_id(journal.path)
        self.system_now = system_now or (lambda: datetime.now(UTC))
        self.log = log
        self.station: dict[str, Any] | None = None
        self.clock_offset_s: float | None = None
        self.clock_ok = True
        self.server_clock: ServerClock | None = None
        self.last_sync: SyncResult | None = None
        self.lease_held = False
        self._lease_renewed = -math.inf
        self._synced = -math.inf
        self._said: set[str] = set()
        self._idle_said = False

    # Start, stop, the lease and the clock.

    def start(self) -> None:
        """Find the station, take its lease and check the clock; raise if the agent must not run."""
        if self.api is not None and (warning := plain_http_warning(self.api.base_url)) is not None:
            self.log(warning)
        if self.api is not None:
            try:
                self.station = self.api.find_station(self.station_name)
                self.journal.save_station(self.station)
            except ApiUnreachableError as exc:
                self.log(f"warning: the API is unreachable ({exc}); running from the journal")
        if self.station is None:
            self.station = self.journal.station()
            if self.station is None or self.station.get("name") != self.station_name:
                raise GroundshareError(f"station {self.station_name!r} is unknown: the API cannot be reached and "
                                       f"the journal {self.journal.path} has not seen it; start the agent once "
                                       "with the API reachable")
        self.renew_lease(force=True)
        if self.lease_held:
            ttl_s = self.options.lease_ttl_s
            self.log(f"agent {self.agent_id} (pid {os.getpid()}) runs station {self.station_name}: its lease lasts "
                     f"{ttl_s:g} s and is renewed every {ttl_s / 3:g} s")
        try:
            self.check_clock(strict=True)
        except ClockOffsetError:
            self.stop()  # an agent that refuses to run must not keep others off the station
            raise

    def stop(self) -> None:
        """Release the station's lease (best effort) and park the antenna."""
        if self.api is not None and self.station is not None:
            try:
                self.api.release_lease(self.station["id"], self.agent_id)
            except GroundshareError as exc:
                self.log(f"warning: could not release the lease: {exc}")

    def renew_lease(self, *, force: bool = False) -> None:
        """Take or renew the lease every third of its life; ``ConflictError`` if another agent holds it."""
        if self.api is None or self.station is None:
            return
        if not force and time.monotonic() - self._lease_renewed < self.options.lease_ttl_s / 3:
            return
        try:
            self.api.acquire_lease(self.station["id"], self.agent_id, self.options.lease_ttl_s)
            self._lease_renewed = time.monotonic()
            self.lease_held = True
        except ApiUnreachableError as exc:
            self.log(f"warning: could not renew the station's lease ({exc}); carrying on from the journal")

    def check_clock(self, *, strict: bool = False) -> float | None:
        """Read the network's clock; adopt its offset; check the system clock against the server's.

        On a ``shifted`` network the agent's ``NetworkClock`` runs at the wall clock plus
        the network's offset; the system clock plus that offset is then compared with the
        network's ``now`` (on a live network: the system clock with the server's). Past
        ``warn_clock_offset_s`` is a warning; past ``max_clock_offset_s``, with ``strict``,
        ``ClockOffsetError``, otherwise the agent stops executing (``clock_ok`` false)
        until the clock is right again. With the API unreachable, the network's clock
        the journal last saw is used.
        """
        if self.api is None:
            return None
        before = self.system_now()
        try:
            server = self.api.clock()
        except ApiUnreachableError as exc:
            self.log(f"warning: cannot check the clock against the server ({exc})")
            self._clock_from_journal()
            return None
        after = self.system_now()
        self._adopt(server)
        local = before + (after - before) / 2 + timedelta(seconds=server.offset_s)
        offset_s = (local - server.now).total_seconds()
        self.clock_offset_s = offset_s
        bound = self.options.max_clock_offset_s
        self.clock_ok = abs(offset_s) <= bound
        network = f"network clock ({format_utc(server.now)}, {_clock_words(server)})"
        if not self.clock_ok:
            message = (f"the system clock is {offset_s:+.3f} s off the server's {network}, more than the {bound:g} s "
                       "allowed; contacts are not executed until the clock is synchronised "
                       "(check NTP: timedatectl / chronyc tracking)")
            if strict:
                raise ClockOffsetError(message)
            self.log(f"error: {message}")
        elif abs(offset_s) > self.options.warn_clock_offset_s:
            self.log(f"warning: the system clock is {offset_s:+.3f} s off the server's {network}; check NTP")
        return offset_s

    def _adopt(self, server: ServerClock) -> None:
        """Run on the network's clock from now on (a ``NetworkClock`` takes its offset); keep it in the journal."""
        previous = self.server_clock
        self.server_clock = server
        self.journal.save_clock(server.to_json())
        changed = previous is None or (previous.mode, previous.offset_s) != (server.mode, server.offset_s)
        if isinstance(self.clock, NetworkClock):
            self.clock.adopt(server.offset_s)
            if changed and (server.mode == "shifted" or previous is not None):
                self.log(f"the network's clock is {_clock_words(server)}: the agent runs on it (now "
                         f"{format_utc(self.clock.now())}){': ' + server.message if server.message else ''}")
        elif changed and server.mode == "shifted" and isinstance(self.clock, WallClock):
            self.log(f"warning: the network's clock is {_clock_words(server)} but this agent runs on the wall clock; "
                     "its contacts will not run at their booked times")

    def _clock_from_journal(self) -> None:
        """Adopt the network's clock the journal last saw, when the server's is not known yet."""
        saved = self.journal.clock()
        if self.server_clock is not None or saved is None:
            return
        try:
            server = ServerClock.from_json(saved)
        except ApiResponseError:
            return
        self.server_clock = server
        if isinstance(self.clock, NetworkClock):
            self.clock.adopt(server.offset_s)
            if server.mode == "shifted":
                self.log(f"warning: running on the network's clock as last seen ({_clock_words(server)}, saved in "
                         f"the journal at {format_utc(server.wall_clock)})")

    # The schedule and the reports.

    def sync(self) -> bool:
        """Pull the schedule into the journal; return False when it could not be had (the journal is kept).

        Reads the network's clock first, so the look-ahead starts at the network's now.
        """
        self._synced = time.monotonic()
        if self.api is None or self.station is None:
            return False
        self.check_clock()
        start = self.clock.now()
        end = start + timedelta(seconds=self.options.lookahead_s)
        try:
            schedule = AgentSchedule.from_json(self.api.schedule(self.station["id"], start, end))
        except (ApiResponseError, ScheduleError) as exc:
            reason = f"the API's schedule of station {self.station_name} was refused: {exc}"
            self.last_sync = SyncResult(start, end, error=reason)
            self.log(f"error: {reason}; executing from the journal")
            return False
        except ApiUnreachableError as exc:
            self.last_sync = SyncResult(start, end, error=f"the API could not be reached ({exc})")
            self.log(f"warning: schedule not refreshed ({exc}); executing from the journal")
            return False
        self.journal.save_station({**self.station, **schedule.station})
        listed = {contact.contact_id for contact in schedule.contacts}
        for error in schedule.rejected:
            self._reject(error, listed)
        new, dropped = self.journal.merge_schedule([c.to_json() for c in schedule.contacts], start, end)
        if new or dropped:
            self.log(f"schedule: {new} new contact(s), {dropped} no longer booked")
            self._idle_said = False
        self.last_sync = SyncResult(start, end, listed=len(schedule.contacts) + len(schedule.rejected))
        return True

    def _reject(self, error: ContactError, listed: set[int]) -> None:
        """Report a malformed contact failed with the reason (once); log one the agent cannot name."""
        contact_id = error.contact_id
        if contact_id is None or contact_id in listed:
            self._say_once(f"error: the API's schedule holds an entry the agent cannot use or report: {error}")
            return
        if not self.journal.reject(contact_id, error.body):
            return
        run = Execution(contact_id, clock_offset_s=self.clock_offset_s)
        run.fatal = f"not executed: the API's schedule lists it malformed: {error}"
        run.started_at = run.finished_at = self.clock.now()
        self.journal.queue_report(contact_id, "outcome", run.outcome(self.agent_id))
        self.log(f"error: contact {contact_id} is reported failed: the API's schedule lists it malformed: {error}")

    def _say_once(self, line: str) -> None:
        if line not in self._said and len(self._said) < 1000:
            self._said.add(line)
            self.log(line)

    def flush_reports(self) -> int:
        """Send the journal's unsent reports in order; stop at the first outage. Return how many were taken."""
        if self.api is None:
            return 0
        taken = 0
        for seq, contact_id, kind, body in self.journal.unsent_reports():
            try:
                self.api.report(contact_id, kind, body)
            except ApiUnreachableError as exc:
                self.journal.report_failed(seq, str(exc))
                self.log(f"warning: {kind} report of contact {contact_id} kept for later ({exc})")
                return taken
            except ApiRefusedError as exc:
                # Refused for good (cancelled meanwhile, or already in another state): keep the reason, move on.
                self.journal.report_failed(seq, str(exc), give_up=True)
                self.log(f"error: {kind} report of contact {contact_id} refused: {exc}")
                continue
            self.journal.report_sent(seq)
            taken += 1
        return taken

    # Running.

    def run(self, *, until: datetime | None = None, once: bool = False) -> int:
        """Execute contacts as they come until ``until`` (or after one contact with ``once``); return how many."""
        executed = 0
        while True:
            now = self.clock.now()
            if until is not None and now >= until:
                break
            if time.monotonic() - self._synced >= self.options.sync_interval_s:
                self.sync()
                self.flush_reports()
                self.renew_lease()
            upcoming = self.journal.pending(after=now)
            if not upcoming:
                if once or not self._idle_said:
                    self.log(self.idle_reason(now))
                    self._idle_said = True
                if once:
                    break
                self._sleep_until(now + timedelta(seconds=self.options.sync_interval_s), until)
                continue
            self._idle_said = False
            contact = upcoming[0]
            begin = parse_utc(contact["start"], "start") - timedelta(seconds=self.lead_s(contact))
            if begin > now + timedelta(seconds=self.options.sync_interval_s):
                self._sleep_until(min(begin, now + timedelta(seconds=self.options.sync_interval_s)), until)
                continue
            self.execute(contact)
            executed += 1
            self.flush_reports()
            if once:
                break
        return executed

    def idle_reason(self, now: datetime) -> str:
        """Return why there is nothing to execute at ``now``: the window asked for, by which clock, and what next."""
        name = self.station_name
        clock = _clock_words(self.server_clock) if self.server_clock is not None else "the network's clock unknown"
        sync = self.last_sync
        if sync is None or sync.error is not None:
            why = sync.error if sync is not None else "the agent runs without the API"
            return (f"nothing to do: the journal holds no pending contact of station {name} after {format_utc(now)} "
                    f"(network clock, {clock}); the schedule was not refreshed: {why}")
        window = f"between {format_utc(sync.start)} and {format_utc(sync.end)} (network clock, {clock})"
        if sync.listed == 0:
            reason = (f"nothing to do: no contacts booked on station {name} {window}: the API's schedule for that "
                      "window is empty")
        else:
            reason = (f"nothing to do: the API lists {sync.listed} contact(s) on station {name} {window}, none left to "
                      "execute here (already executed, or refused as malformed)")
        return f"{reason}; {self.next_booked(sync.end)}"

    def next_booked(self, after: datetime) -> str:
        """Return a sentence naming the first contact booked on the station after ``after`` (within 14 days)."""
        if self.api is None or self.station is None:
            return "the next booked contact is unknown (no API)"
        end = after + timedelta(seconds=NEXT_CONTACT_SEARCH_S)
        try:
            schedule = AgentSchedule.from_json(self.api.schedule(self.station["id"], after, end))
        except (ApiUnreachableError, ApiRefusedError, ScheduleError) as exc:
            return f"the next booked contact is unknown ({exc})"
        if not schedule.contacts:
            return f"none booked in the {NEXT_CONTACT_SEARCH_S / 86_400:g} days after either (until {format_utc(end)})"
        first = schedule.contacts[0]
        what = first.satellite_name or (f"NORAD {first.norad_id}" if first.norad_id else "satellite unnamed")
        return (f"the next booked contact is {first.contact_id} ({what}) from {format_utc(first.start)} to "
                f"{format_utc(first.end)}")

    def _sleep_until(self, when: datetime, until: datetime | None) -> None:
        self.clock.sleep_until(when if until is None else min(when, until))

    def lead_s(self, contact: dict[str, Any]) -> float:
        """Seconds before AOS the agent wakes for ``contact``."""
        return self.executor().lead_s(contact)

    def executor(self) -> PassExecutor:
        return PassExecutor(self.station or {}, rotator=self.rotator, rig=self.rig, clock=self.clock,
                            options=self.options, log=self.log, on_sample=self.renew_lease)

    def execute(self, contact: dict[str, Any]) -> Execution:
        """Run one contact (see the module docstring) and queue its reports; return what happened."""
        contact_id = int(contact["contact_id"])
        if not self.clock_ok:
            run = Execution(contact_id, clock_offset_s=self.clock_offset_s)
            run.fatal = (f"not executed: the system clock is {self.clock_offset_s:+.3f} s off the server's, more "
                         f"than the {self.options.max_clock_offset_s:g} s allowed")
            run.started_at = run.finished_at = self.clock.now()  # an outcome without a start: allowed
        else:
            def started(when: datetime) -> None:
                self.journal.queue_report(contact_id, "start", {"started_at": format_utc(when)})
                self.flush_reports()

            try:
                run = self.executor().run(contact, on_start=started)
            except GroundshareError as exc:  # a contact the executor cannot use fails alone, with the reason
                run = Execution(contact_id, fatal=f"not executed: {exc}")
                run.started_at = run.finished_at = self.clock.now()
            run.clock_offset_s = self.clock_offset_s
        if run.fatal:
            self.log(f"contact {contact_id} failed: {run.fatal}")
        self.journal.queue_report(contact_id, "outcome", run.outcome(self.agent_id))
        self.journal.mark(contact_id, "done")
        return run


class PassExecutor:
    """Executes one pass on a station's rotator and radio by the clock; knows nothing of the API or journal."""

    def __init__(self, station: dict[str, Any], *, rotator: Rotator | None, rig: Rig | None, clock: Clock,
                 options: AgentOptions, log: Callable[[str], None] = print,
                 on_sample: Callable[[], None] = lambda: None) -> None:
        self.station = station
        self.rotator = rotator
        self.rig = rig
        self.clock = clock
        self.options = options
        self.log = log
        self.on_sample = on_sample

    def lead_s(self, contact: dict[str, Any]) -> float:
        """Seconds before AOS to start moving: the worst-case slew at the antenna's rates, plus a margin."""
        antenna = contact.get("antenna") or {}
        worst_s = slew_time_s(0.0, 90.0, 180.0, 0.0, az_rate_deg_s=antenna.get("az_slew_deg_s"),
                              el_rate_deg_s=antenna.get("el_slew_deg_s"))
        return worst_s + self.options.pre_position_margin_s

    def prepare(self, contact: dict[str, Any], elements: ElementSet | None = None
                ) -> tuple[PointingTable, AzimuthPath]:
        """Return the pointing and Doppler tables of ``contact`` and the rotator's path through them.

        The element set is the one the contact was planned with (its ``element_set``
        text) unless ``elements`` is given.
        """
        if elements is None:
            element_set = contact.get("element_set")
            if not element_set or not element_set.get("text"):
                raise GroundshareError(f"contact {contact['contact_id']} carries no element set to point with")
            elements = parse_elements(element_set["text"], source=f"contact {contact['contact_id']}",
                                      on_error="raise").elements[0]
        station = self.station
        site = Site(station["name"], lat_deg=station["lat_deg"], lon_deg=station["lon_deg"], alt_m=station["alt_m"],
                    min_elevation_deg=station.get("min_elevation_deg") or 0.0,
                    horizon_mask=station.get("horizon_mask"))
        satellite = contact.get("satellite") or {}
        table = pointing_table(elements, site, parse_utc(contact["start"], "start"), parse_utc(contact["end"], "end"),
                               step_s=self.options.step_s, downlink_hz=satellite.get("downlink_frequency_hz"),
                               uplink_hz=satellite.get("uplink_frequency_hz"))
        limits = DEFAULT_LIMITS
        if self.rotator is not None:
            try:
                limits = self.rotator.limits()
            except HamlibError as exc:
                self.log(f"warning: rotator limits unknown ({exc}); assuming {DEFAULT_LIMITS}")
        return table, plan_azimuth_path(table.az_deg, table.el_deg, limits)

    def run(self, contact: dict[str, Any], *, elements: ElementSet | None = None,
            on_start: Callable[[datetime], None] = lambda when: None) -> Execution:
        """Prepare, pre-position, track and park for ``contact``; return what happened."""
        contact_id = int(contact["contact_id"])
        run = Execution(contact_id)
        start, end = parse_utc(contact["start"], "start"), parse_utc(contact["end"], "end")
        try:
            table, path = self.prepare(contact, elements)
        except GroundshareError as exc:
            run.fatal = f"not executed: {exc}"
            run.started_at = run.finished_at = self.clock.now()
            return run
        if path.note:
            run.notes.append(path.note)
        self.log(f"contact {contact_id}: {len(table)} pointing samples from {format_utc(start)} to {format_utc(end)}"
                 f"{' (flip mode)' if path.flipped else ''}")
        self._pre_position(contact, path, start, run)
        self.clock.sleep_until(start)
        run.started_at = self.clock.now()
        on_start(run.started_at)
        self._track(table, path, run)
        self._park(run)
        run.finished_at = self.clock.now()
        if run.fatal is None and self.rotator is not None and run.positions_sent == 0:
            run.fatal = "the rotator accepted no position during the pass: " + "; ".join(run.failures or ["no reason"])
        return run

    def _pre_position(self, contact: dict[str, Any], path: AzimuthPath, start: datetime, run: Execution) -> None:
        """Command the AOS position early enough for the slew from where the antenna is."""
        if self.rotator is None:
            return
        az0, el0 = float(path.az_cmd_deg[0]), float(path.el_cmd_deg[0])
        antenna = contact.get("antenna") or {}
        try:
            here_az, here_el = self.rotator.get_position()
            slew_s = slew_time_s(here_az, here_el, az0, el0, az_rate_deg_s=antenna.get("az_slew_deg_s"),
                                 el_rate_deg_s=antenna.get("el_slew_deg_s"))
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
        """Send each sample's position and frequencies at its time; read the position back."""
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
        if rotator_down:
            run.fatal = f"the rotator never came back before LOS: {rotator_down}"
        elif rig_down:
            run.fatal = f"the radio never came back before LOS: {rig_down}"

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


def _clock_words(server: ServerClock) -> str:
    """Return ``live`` or ``shifted N days behind the wall clock`` (with the reason the server gives)."""
    if server.mode != "shifted":
        return "live"
    offset_s = server.offset_s
    days = abs(offset_s) / 86_400.0
    amount = f"{days:.1f} days" if days >= 1 else f"{abs(offset_s):.0f} s"
    return f"shifted {amount} {'behind' if offset_s < 0 else 'ahead of'} the wall clock"


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


def run_agent(station_name: str, *, api: AgentApi, journal: Journal, rotator: Rotator | None, rig: Rig | None,
              clock: Clock | None = None, options: AgentOptions | None = None, once: bool = False,
              until: datetime | None = None, log: Callable[[str], None] = print) -> int:
    """Start an agent for ``station_name``, run it, release its lease; return the contacts executed."""
    agent = StationAgent(station_name, journal, api=api, rotator=rotator, rig=rig, clock=clock, options=options,
                         log=log)
    agent.start()
    try:
        return agent.run(once=once, until=until)
    finally:
        agent.flush_reports()
        agent.stop()
