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
2. ``sync``: ``GET /agent/schedule`` over the look-ahead from the network's now (the window
   aligned to ``SCHEDULE_STEP_S``, so an unchanged schedule is a 304 that reuses the last one) into the
   journal, read through ``agent.schedule.AgentSchedule``: a schedule of more than
   ``MAX_SCHEDULE_CONTACTS`` contacts (5,000), or an answer larger than
   ``client.MAX_RESPONSE_BYTES``, is refused whole and the agent carries on from its
   journal; a malformed contact is reported failed with the field at fault, and the others
   are taken (an outage is logged and the agent carries on from the journal);
   ``flush_reports`` sends what the journal holds, in order.
3. ``execute``: one contact on the hardware, by ``agent.execution.PassExecutor`` (pointing
   and Doppler tables before AOS, positions and frequencies by the clock, park at LOS);
   with ``CaptureOptions``, frames from the station's TNC over KISS TCP go to the journal
   from AOS minus the lead to LOS plus the tail, and the capture command runs from AOS
   (``agent.capture``, ``agent.recording``); a launch-and-early-orbit contact searches
   until the capture's first frame (``agent.search``); its outcome (times, pointing error,
   commands, frames and bytes received, failures with reasons) goes to the journal,
   then to the API.
4. Captured data goes up in the background (``agent.capture.DataUploader``): frames in
   batches during and after the pass, then the capture command's files, resumably;
   whatever an outage or a restart left in the journal is sent once the API answers.

With nothing to execute the agent says why (``idle_reason``): the window it asked for
and by which clock, whether the API's schedule for it was empty or could not be had, and
the next contact booked after it.

Contacts are typed from the API's answer on (``contact.ScheduledContact``, read once by
``AgentApi.schedule``), through the journal, to the executor.  The clock is injected
(``agent.clock``), so a 10-minute pass can run in seconds against the real daemons.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from groundshare.agent.capture import CaptureOptions, ContactCapture, DataUploader
from groundshare.agent.client import (
    AgentApi,
    ApiRefusedError,
    ApiResponseError,
    ApiUnreachableError,
    ServerClock,
    plain_http_warning,
)
from groundshare.agent.clock import Clock, NetworkClock, WallClock
from groundshare.agent.execution import AgentOptions, Execution, PassExecutor, contact_lead_s
from groundshare.agent.hamlib import Rig, Rotator
from groundshare.agent.identity import default_agent_id
from groundshare.agent.journal import Journal
from groundshare.agent.schedule import ScheduleError
from groundshare.agent.uplink import UplinkOptions, UplinkRelay, report_uplink
from groundshare.contact import ContactError, ScheduledContact, StationSnapshot
from groundshare.errors import GroundshareError
from groundshare.timeutil import format_utc
from groundshare.units import DAY_S

#: How far past its look-ahead an idle agent looks for the next booked contact (seconds): the longest window
#: ``GET /agent/schedule`` serves.
NEXT_CONTACT_SEARCH_S = 14 * DAY_S
#: The schedule's window moves by this step (seconds): ``sync`` asks from its now floored to the step to the
#: look-ahead plus one step after that, so successive polls ask the same window and the API can answer
#: "not modified" (304, ``api.etag``) until something in it changes.  The window always covers [now, now +
#: look-ahead]; what it holds before now (contacts that ended in the last step) the journal has already run or
#: will not run (``Journal.pending`` takes only contacts that end after now).
SCHEDULE_STEP_S = 600.0
#: The longest window ``GET /agent/schedule`` serves.
MAX_SCHEDULE_WINDOW_S = 14 * DAY_S


def schedule_window(now: datetime, lookahead_s: float, step_s: float = SCHEDULE_STEP_S) -> tuple[datetime, datetime]:
    """Return the window ``sync`` asks at ``now``: from ``now`` floored to ``step_s``, ``lookahead_s`` + a step long.

    >>> start, end = schedule_window(datetime(2025, 11, 7, 3, 17, 42, tzinfo=UTC), 48 * 3600)
    >>> format_utc(start), format_utc(end)
    ('2025-11-07T03:10:00.000Z', '2025-11-09T03:20:00.000Z')
    """
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    start = epoch + timedelta(seconds=(now - epoch).total_seconds() // step_s * step_s)
    return start, start + timedelta(seconds=min(lookahead_s + step_s, MAX_SCHEDULE_WINDOW_S))


class ClockOffsetError(GroundshareError):
    """The station's clock is too far from the server's to execute contacts on time."""


@dataclass(frozen=True)
class SyncResult:
    """What the last ``sync`` asked for (``[start, end)`` by the agent's clock) and got: a count, or why not."""

    start: datetime
    end: datetime
    listed: int = 0
    error: str | None = None


class StationAgent:
    """Runs one station's contacts (see the module docstring)."""

    def __init__(self, station_name: str, journal: Journal, *, api: AgentApi | None, rotator: Rotator | None,
                 rig: Rig | None, clock: Clock | None = None, options: AgentOptions | None = None,
                 agent_id: str | None = None, system_now: Callable[[], datetime] | None = None,
                 log: Callable[[str], None] = print, capture: CaptureOptions | None = None,
                 uplink: UplinkOptions | None = None) -> None:
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
        self.station: StationSnapshot | None = None
        self.clock_offset_s: float | None = None
        self.clock_ok = True
        self.server_clock: ServerClock | None = None
        self.last_sync: SyncResult | None = None
        self.lease_held = False
        self._lease_renewed = -math.inf
        self._synced = -math.inf
        self._said: set[str] = set()
        self._idle_said = False
        #: The uplink relays of the contacts executed (the last one's figures are the tests' and benchmarks').
        self.relays: list[UplinkRelay] = []
        self.capture = capture or CaptureOptions()
        self.uplink = uplink or UplinkOptions()
        self.uploader = DataUploader(journal, lambda: self.api, log=log, interval_s=self.capture.upload_interval_s)

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
            if self.station is None or self.station.name != self.station_name:
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
        if self.api is not None and (self.capture.enabled or self.journal.unsent_frame_count()
                                     or self.journal.artifacts(pending=True)):
            self.uploader.start()  # it sends at once what a previous run left in the journal

    def stop(self) -> None:
        """Stop the data uploader (sending the frames left, best effort) and release the station's lease."""
        self.uploader.stop()
        try:
            self.uploader.flush_frames()
        except GroundshareError as exc:
            self.log(f"warning: captured frames kept for the next run: {exc}")
        if self.api is not None and self.station is not None:
            try:
                self.api.release_lease(self.station.id, self.agent_id)
            except GroundshareError as exc:
                self.log(f"warning: could not release the lease: {exc}")

    def renew_lease(self, *, force: bool = False) -> None:
        """Take or renew the lease every third of its life; ``ConflictError`` if another agent holds it."""
        if self.api is None or self.station is None:
            return
        if not force and time.monotonic() - self._lease_renewed < self.options.lease_ttl_s / 3:
            return
        try:
            self.api.acquire_lease(self.station.id, self.agent_id, self.options.lease_ttl_s)
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
        network = f"network clock ({format_utc(server.now)}, {server.describe()})"
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
        self.journal.save_clock(server)
        changed = previous is None or (previous.mode, previous.offset_s) != (server.mode, server.offset_s)
        if isinstance(self.clock, NetworkClock):
            self.clock.adopt(server.offset_s)
            if changed and (server.mode == "shifted" or previous is not None):
                self.log(f"the network's clock is {server.describe()}: the agent runs on it (now "
                         f"{format_utc(self.clock.now())}){': ' + server.message if server.message else ''}")
        elif changed and server.mode == "shifted" and isinstance(self.clock, WallClock):
            self.log(f"warning: the network's clock is {server.describe()} but this agent runs on the wall clock; "
                     "its contacts will not run at their booked times")

    def _clock_from_journal(self) -> None:
        """Adopt the network's clock the journal last saw, when the server's is not known yet."""
        server = self.journal.clock()
        if self.server_clock is not None or server is None:
            return
        self.server_clock = server
        if isinstance(self.clock, NetworkClock):
            self.clock.adopt(server.offset_s)
            if server.mode == "shifted":
                self.log(f"warning: running on the network's clock as last seen ({server.describe()}, saved in "
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
        start, end = schedule_window(self.clock.now(), self.options.lookahead_s)
        try:
            schedule = self.api.schedule(self.station.id, start, end)
        except (ApiResponseError, ScheduleError) as exc:
            reason = f"the API's schedule of station {self.station_name} was refused: {exc}"
            self.last_sync = SyncResult(start, end, error=reason)
            self.log(f"error: {reason}; executing from the journal")
            return False
        except ApiUnreachableError as exc:
            self.last_sync = SyncResult(start, end, error=f"the API could not be reached ({exc})")
            self.log(f"warning: schedule not refreshed ({exc}); executing from the journal")
            return False
        self.journal.save_station(schedule.station)
        listed = {contact.contact_id for contact in schedule.contacts}
        for error in schedule.rejected:
            self._reject(error, listed)
        new, dropped = self.journal.merge_schedule(schedule.contacts, start, end)
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
        run = Execution.not_executed(contact_id, f"the API's schedule lists it malformed: {error}", at=self.clock.now(),
                                     clock_offset_s=self.clock_offset_s)
        self.journal.queue_report(contact_id, "outcome", run.outcome(self.agent_id))
        self.log(f"error: contact {contact_id} is reported failed: the API's schedule lists it malformed: {error}")

    def _say_once(self, line: str) -> None:
        if line not in self._said and len(self._said) < 1000:
            self._said.add(line)
            self.log(line)

    def flush_reports(self) -> int:
        """Send the journal's unsent reports in order; stop at the first outage. Return how many were taken.

        Uplink outcomes a relay could not report go first (``agent.uplink.report_uplink``).
        """
        if self.api is None:
            return 0
        if self.station is not None:
            try:
                report_uplink(self.journal, self.api, self.station.id, log=self.log)
            except ApiUnreachableError as exc:
                self.log(f"warning: uplink outcomes kept for later ({exc})")
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
            begin = contact.start - timedelta(seconds=self.lead_s(contact))
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
        clock = self.server_clock.describe() if self.server_clock is not None else "the network's clock unknown"
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
            schedule = self.api.schedule(self.station.id, after, end)
        except (ApiUnreachableError, ApiRefusedError, ScheduleError) as exc:
            return f"the next booked contact is unknown ({exc})"
        if not schedule.contacts:
            return f"none booked in the {NEXT_CONTACT_SEARCH_S / DAY_S:g} days after either (until {format_utc(end)})"
        first = schedule.contacts[0]
        what = first.satellite_name or (f"NORAD {first.norad_id}" if first.norad_id else "satellite unnamed")
        return (f"the next booked contact is {first.contact_id} ({what}) from {format_utc(first.start)} to "
                f"{format_utc(first.end)}")

    def _sleep_until(self, when: datetime, until: datetime | None) -> None:
        self.clock.sleep_until(when if until is None else min(when, until))

    def lead_s(self, contact: ScheduledContact) -> float:
        """Seconds before AOS the agent wakes for ``contact``."""
        return contact_lead_s(contact, margin_s=self.options.pre_position_margin_s)

    def executor(self) -> PassExecutor:
        """Return the pass executor of the agent's station (``GroundshareError`` before ``start`` has found it)."""
        if self.station is None:
            raise GroundshareError(f"station {self.station_name!r} is not known yet: start the agent first")
        return PassExecutor(self.station, rotator=self.rotator, rig=self.rig, clock=self.clock,
                            options=self.options, log=self.log, on_sample=self.renew_lease)

    def execute(self, contact: ScheduledContact) -> Execution:
        """Run one contact (see the module docstring) and queue its reports; return what happened."""
        contact_id = contact.contact_id
        if not self.clock_ok:
            run = Execution.not_executed(
                contact_id, f"the system clock is {self.clock_offset_s:+.3f} s off the server's, more than the "
                            f"{self.options.max_clock_offset_s:g} s allowed", at=self.clock.now(),
                clock_offset_s=self.clock_offset_s)
        else:
            capture = (ContactCapture(contact, self.capture, journal=self.journal, clock=self.clock,
                                      lead_s=self.lead_s(contact), log=self.log, on_frames=self.uploader.wake)
                       if self.capture.enabled else None)
            at_aos: list[datetime] = []

            def started(when: datetime) -> None:
                at_aos.append(when)
                if capture is not None:
                    capture.at_aos()  # the capture command first: a report must not delay the recording
                self.journal.queue_report(contact_id, "start", {"started_at": format_utc(when)})
                self.flush_reports()

            if capture is not None:
                capture.begin()
            relay = self._relay(contact, capture)
            try:
                run = self.executor().run(contact, on_start=started,
                                          heard=capture.first_frame if capture is not None else None)
            except GroundshareError as exc:  # a contact the executor cannot use fails alone, with the reason
                run = Execution.not_executed(contact_id, str(exc), at=self.clock.now())
            finally:
                if capture is not None and not at_aos:
                    capture.finish(Execution(contact_id), wait=False)  # never began: stop listening at once
            if relay is not None and at_aos:
                self.clock.sleep_until(contact.end)  # the relay transmits until LOS, on the open connection
            if relay is not None:
                relay.stop()
                run.notes.append(relay.summary())
                for reason in relay.failures:
                    run.fail(reason)
            if capture is not None and at_aos:
                capture.finish(run)
            run.clock_offset_s = self.clock_offset_s
        if run.fatal:
            self.log(f"contact {contact_id} failed: {run.fatal}")
        self.journal.queue_report(contact_id, "outcome", run.outcome(self.agent_id))
        self.journal.mark(contact_id, "done")
        self.uploader.wake()
        return run

    def _relay(self, contact: ScheduledContact, capture: ContactCapture | None) -> UplinkRelay | None:
        """Start relaying the operator's frames to the TNC for an uplink contact (None: receive only)."""
        if not contact.uplink or self.api is None or self.station is None:
            return None
        relay = UplinkRelay(contact, self.station.id, api=lambda: self.api, journal=self.journal, clock=self.clock,
                            tnc=capture.frames if capture is not None else None, options=self.uplink, log=self.log)
        self.relays.append(relay)
        return relay.start()

    def flush_data(self) -> tuple[int, int]:
        """Send every captured frame, then every capture file, now; return (frames taken, files stored)."""
        return self.uploader.flush()


def run_agent(station_name: str, *, api: AgentApi, journal: Journal, rotator: Rotator | None, rig: Rig | None,
              clock: Clock | None = None, options: AgentOptions | None = None, once: bool = False,
              until: datetime | None = None, log: Callable[[str], None] = print,
              capture: CaptureOptions | None = None, uplink: UplinkOptions | None = None) -> int:
    """Start an agent for ``station_name``, run it, release its lease; return the contacts executed.

    With ``once``, the files of the contact's capture command are uploaded before it returns.
    """
    agent = StationAgent(station_name, journal, api=api, rotator=rotator, rig=rig, clock=clock, options=options,
                         log=log, capture=capture, uplink=uplink)
    agent.start()
    try:
        done = agent.run(once=once, until=until)
        if once:
            agent.flush_data()
        return done
    finally:
        agent.flush_reports()
        agent.stop()
