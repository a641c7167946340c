"""The operator's commands on air: the station agent's relay of uplink frames to its TNC.

During an uplink contact (``ScheduledContact.uplink``) the agent keeps an outbound long
poll on the API (``GET /agent/stations/{id}/uplink``: stations sit behind firewalls and
NAT, the API never connects to them) and writes each frame it is given to the TNC over
KISS, on the same connection the contact's frames are read from
(``capture.FrameCapture.transmit``).  Three threads:

- the *poller* takes the frames of this contact (oldest first) and whether the station
  is inhibited; an outage is retried with a backoff;
- the *transmitter* writes them, one at a time, between AOS and LOS by the agent's clock.
  It paces the TNC: the next frame is written only once the previous one's air time
  (``airtime_s``: TXDELAY, then the frame bit-stuffed at ``bit_rate``) is over, so the
  TNC never holds a queue that an inhibit could not stop.  Before each write it checks
  the window, the API's transmit inhibit and the station's local one (a file beside the
  journal, ``groundshare agent inhibit``); inhibited, it writes nothing more and every
  frame still held is settled not sent.  Each frame is journaled *before* it is written
  (``writing``, then ``on_air``), so an agent restarted mid-pass never transmits a frame
  twice (a command repeated can do harm; one lost is sent again by its operator); one
  a crash left mid-write is reported not sent, saying it may have gone out;
- the *reporter* sends the journal's outcomes (``POST .../uplink/outcomes``), and records
  a local inhibit with the API (``POST /stations/{id}/transmit-inhibit``) once it
  appears, so that it is on record and the whole network stops queueing frames.

``on_air_at`` is when the frame was written to the TNC (the network's time); the TNC keys
the transmitter TXDELAY later.  KISS has no acknowledgement of transmission: nothing
later than the write is known to the agent.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from groundshare.agent.client import AgentApi, ApiRefusedError, ApiUnreachableError, UplinkFrameOrder
from groundshare.agent.clock import Clock
from groundshare.agent.journal import Journal
from groundshare.contact import ScheduledContact
from groundshare.errors import GroundshareError
from groundshare.timeutil import format_utc

#: Dire Wolf's default TXDELAY (30 x 10 ms): carrier and flags before a frame's first bit, seconds.
DEFAULT_TXDELAY_S = 0.3
#: The uplink's bit rate when the station does not say (AFSK 1200, the usual CubeSat UHF uplink).
DEFAULT_BIT_RATE = 1200.0
#: How long one poll of the API waits for a frame, seconds.
LONG_POLL_S = 10.0
#: How often (real seconds) the transmitter looks at the local inhibit while it waits.
INHIBIT_CHECK_S = 0.05
#: First wait after the API could not be reached (real seconds); it doubles up to ``RETRY_MAX_S``.
RETRY_MIN_S = 0.25
RETRY_MAX_S = 4.0
#: Outcomes sent in one report at most.
REPORT_BATCH = 100


def airtime_s(length_bytes: int, *, bit_rate: float = DEFAULT_BIT_RATE, txdelay_s: float = DEFAULT_TXDELAY_S) -> float:
    """Return how long a frame of ``length_bytes`` keys the transmitter: TXDELAY, then the frame on air.

    The frame goes with its 2-byte FCS between two flags, and HDLC bit stuffing adds at
    most one bit in five (hence the 1.2).

    >>> round(airtime_s(100), 3)
    1.132
    """
    return txdelay_s + (length_bytes + 4) * 8 * 1.2 / bit_rate


@dataclass(frozen=True)
class UplinkOptions:
    """How the station's transmitter runs: its bit rate and TXDELAY (seconds), for pacing the TNC."""

    bit_rate: float = DEFAULT_BIT_RATE
    txdelay_s: float = DEFAULT_TXDELAY_S


# The station's local transmit inhibit: a file beside the journal.

def inhibit_path(journal_path: Path) -> Path:
    """Return where the station's local transmit inhibit is kept for the journal at ``journal_path``."""
    return journal_path.with_name(journal_path.name + ".inhibit")


def raise_local_inhibit(journal_path: Path, reason: str, *, at: datetime) -> Path:
    """Stop all transmission from this station now: write the inhibit file (atomically); return its path."""
    path = inhibit_path(journal_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    staged = path.with_name(path.name + f".{os.getpid()}.tmp")
    staged.write_text(json.dumps({"raised_at": format_utc(at), "reason": reason, "pid": os.getpid()}))
    os.replace(staged, path)
    return path


def lift_local_inhibit(journal_path: Path) -> bool:
    """Remove the station's local inhibit; return whether there was one."""
    try:
        inhibit_path(journal_path).unlink()
    except FileNotFoundError:
        return False
    return True


def local_inhibit(journal_path: Path) -> dict[str, Any] | None:
    """Return the station's local inhibit (``raised_at``, ``reason``), or None when transmission is allowed."""
    path = inhibit_path(journal_path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        return None
    except OSError as exc:  # unreadable: inhibited all the same, saying why
        return {"raised_at": None, "reason": f"the inhibit file {path} cannot be read ({exc})"}
    try:
        body = json.loads(text)
    except ValueError:
        body = None
    return body if isinstance(body, dict) else {"raised_at": None, "reason": text.strip()[:500]}


class Transmitter(Protocol):
    """Where frames go on air: the contact's KISS connection (``capture.FrameCapture``)."""

    def transmit(self, payload: bytes) -> None:
        """Write one frame to the TNC; ``OSError`` when it cannot."""


class UplinkRelay:
    """One uplink contact's relay (see the module docstring)."""

    def __init__(self, contact: ScheduledContact, station_id: int, *, api: Callable[[], AgentApi | None],
                 journal: Journal, clock: Clock, tnc: Transmitter | None, options: UplinkOptions | None = None,
                 log: Callable[[str], None] = print) -> None:
        self.contact = contact
        self.station_id = station_id
        self.api = api
        self.journal = journal
        self.clock = clock
        self.tnc = tnc
        self.options = options or UplinkOptions()
        self.log = log
        self.written = 0
        self.not_sent = 0
        self.failures: list[str] = []
        #: Each write to the TNC: (frame id, ``time.monotonic()`` of the write, the agent's clock then).
        self.writes: list[tuple[int, float, datetime]] = []
        #: When (``time.monotonic()``) the transmitter first saw each inhibit, by its reason.
        self.inhibit_seen: dict[str, float] = {}
        self._queue: deque[UplinkFrameOrder] = deque()
        self._cond = threading.Condition()
        self._remote_inhibit: str | None = None
        self._recorded_local: str | None = None
        self._stop = threading.Event()
        self._report = threading.Event()
        self._busy_until = 0.0
        name = f"uplink-{contact.contact_id}"
        self._threads = [threading.Thread(target=self._poll, name=f"{name}-poll", daemon=True),
                         threading.Thread(target=self._transmit, name=f"{name}-tx", daemon=True),
                         threading.Thread(target=self._reporter, name=f"{name}-report", daemon=True)]

    # Life.

    def start(self) -> UplinkRelay:
        for thread in self._threads:
            thread.start()
        return self

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop relaying; frames still held are settled not sent; outcomes are reported (best effort)."""
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        self._report.set()
        deadline = time.monotonic() + timeout_s
        for thread in self._threads[1:]:  # the poller may sit in a long poll: it ends by itself
            thread.join(max(0.0, deadline - time.monotonic()))
        with self._cond:
            left = list(self._queue)
            self._queue.clear()
        for frame in left:
            self._settle(frame, "the contact's relay stopped (LOS) before the frame could be transmitted")
        with contextlib.suppress(GroundshareError):
            self.flush_reports()

    def summary(self) -> str:
        text = f"uplink: {self.written} frame(s) written to the TNC"
        if self.not_sent:
            text += f", {self.not_sent} not sent"
        return text

    # The poller.

    def _poll(self) -> None:
        after_id = 0
        wait_s = RETRY_MIN_S
        outage = False
        while not self._stop.is_set() and self.clock.now() < self.contact.end:
            api = self.api()
            if api is None:
                self._stop.wait(1.0)
                continue
            try:
                batch = api.uplink(self.station_id, after_id=after_id, wait_s=LONG_POLL_S,
                                   inhibited=self._remote_inhibit is not None)
            except (ApiUnreachableError, ApiRefusedError) as exc:
                if not outage:
                    self.log(f"warning: contact {self.contact.contact_id}: the uplink relay cannot poll the API "
                             f"({exc}); retrying")
                    self._fail(f"uplink relay: {exc}")
                outage = True
                self._stop.wait(wait_s)
                wait_s = min(RETRY_MAX_S, 2 * wait_s)
                continue
            outage, wait_s = False, RETRY_MIN_S
            with self._cond:
                self._remote_inhibit = (batch.inhibit_reason or "raised through the API") if batch.inhibited else None
                for frame in batch.frames:
                    after_id = max(after_id, frame.id)
                    if frame.contact_id == self.contact.contact_id:
                        self._queue.append(frame)
                self._cond.notify_all()

    # The transmitter.

    def inhibited(self) -> str | None:
        """Return why transmission is inhibited now (the API's inhibit or the station's own), or None."""
        local = local_inhibit(self.journal.path)
        if local is not None:
            return f"the station's local transmit inhibit ({local.get('reason') or 'no reason given'})"
        remote = self._remote_inhibit
        return f"the station's transmit inhibit ({remote})" if remote is not None else None

    def _transmit(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._stop.is_set():
                    self._cond.wait(INHIBIT_CHECK_S)
                    self._note_inhibit()
                if self._stop.is_set():
                    return
                frame = self._queue.popleft()
            self._send(frame)

    def _note_inhibit(self) -> str | None:
        reason = self.inhibited()
        if reason is not None and reason not in self.inhibit_seen:
            self.inhibit_seen[reason] = time.monotonic()
            self.log(f"contact {self.contact.contact_id}: transmission stopped: {reason}")
            self._report.set()
        return reason

    def _send(self, frame: UplinkFrameOrder) -> None:
        """Write one frame to the TNC if every rule allows it now; journal what became of it."""
        if self.journal.uplink_outcome(frame.id) is not None:
            # Given again (a restart mid-pass, an outcome whose answer was lost): never transmitted twice; its
            # outcome as journaled is reported again.
            self.journal.report_uplink_again(frame.id)
            self._report.set()
            return
        if hashlib.sha256(frame.payload).hexdigest() != frame.sha256:
            self._settle(frame, "the frame's bytes do not match its SHA-256 as the API gave it; not transmitted")
            return
        # Pace the TNC: wait for the previous frame's air time to end, watching for an inhibit.
        while (left_s := self._busy_until - time.monotonic()) > 0:
            if self._note_inhibit() is not None or self._stop.is_set():
                break
            time.sleep(min(INHIBIT_CHECK_S, left_s))
        now = self.clock.now()
        reason = self._note_inhibit()
        if reason is None and now < self.contact.start:
            reason = f"before AOS at the station ({format_utc(now)}, AOS {format_utc(self.contact.start)})"
        elif reason is None and now >= self.contact.end:
            reason = f"after LOS at the station ({format_utc(now)}, LOS {format_utc(self.contact.end)})"
        elif reason is None and self._stop.is_set():
            reason = "the contact's relay stopped before the frame could be transmitted"
        elif reason is None and self.tnc is None:
            reason = "the station has no KISS TNC for this satellite (start the agent with --kiss)"
        if reason is not None:
            self._settle(frame, reason)
            return
        if not self.journal.record_uplink(frame.id, self.contact.contact_id, frame.sha256, at=now):
            return
        try:
            self.tnc.transmit(frame.payload)
        except OSError as exc:
            why = f"could not be written to the TNC: {exc}"
            self.journal.uplink_not_written(frame.id, why)
            self.not_sent += 1
            self._fail(f"uplink: {why}")
        else:
            written = time.monotonic()
            self.journal.uplink_written(frame.id)
            self.writes.append((frame.id, written, now))
            self.written += 1
            self._busy_until = written + airtime_s(len(frame.payload), bit_rate=self.options.bit_rate,
                                                   txdelay_s=self.options.txdelay_s)
        self._report.set()

    def _settle(self, frame: UplinkFrameOrder, reason: str) -> None:
        if self.journal.record_uplink(frame.id, self.contact.contact_id, frame.sha256, reason=reason):
            self.not_sent += 1
        self._report.set()

    # The reporter.

    def _reporter(self) -> None:
        while not self._stop.is_set():
            self._report.wait(INHIBIT_CHECK_S * 2)
            self._report.clear()
            self._note_inhibit()
            try:
                self._record_local_inhibit()
                self.flush_reports()
            except ApiUnreachableError as exc:
                self._fail(f"uplink report: {exc}")
                self._stop.wait(RETRY_MIN_S)

    def _record_local_inhibit(self) -> None:
        """Put a local inhibit on record with the API, once (it then stops the network queueing frames too)."""
        local = local_inhibit(self.journal.path)
        reason = None if local is None else str(local.get("reason") or "")
        if local is None or reason == self._recorded_local:
            return
        api = self.api()
        if api is None:
            return
        try:
            api.raise_inhibit(self.station_id, f"raised at the station: {reason}" if reason
                              else "raised at the station")
        except ApiRefusedError as exc:
            self._fail(f"the local transmit inhibit could not be recorded with the API: {exc}")
        self._recorded_local = reason

    def flush_reports(self) -> int:
        """Send the journal's unreported uplink outcomes; return how many the API took."""
        return report_uplink(self.journal, self.api(), self.station_id, log=self.log)

    def _fail(self, reason: str) -> None:
        if reason not in self.failures and len(self.failures) < 10:
            self.failures.append(reason[:500])


def report_uplink(journal: Journal, api: AgentApi | None, station_id: int, *,
                  log: Callable[[str], None] = print) -> int:
    """Send the journal's unreported uplink outcomes in batches; ``ApiUnreachableError`` stops (kept for later)."""
    if api is None:
        return 0
    taken = 0
    while batch := journal.unreported_uplink(REPORT_BATCH):
        ids = [entry.frame_id for entry in batch]
        try:
            taken += api.report_uplink(station_id, [entry.outcome() for entry in batch])
        except ApiRefusedError as exc:  # refused for good (a frame of another station, settled otherwise)
            journal.uplink_reported(ids, error=str(exc))
            log(f"error: uplink outcomes of frames {ids[0]}..{ids[-1]} refused: {exc}")
            continue
        journal.uplink_reported(ids)
    return taken
