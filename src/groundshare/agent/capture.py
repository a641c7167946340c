"""Frames from the station's TNC over KISS TCP, into the journal first, then up to the API.

A station's TNC (Dire Wolf, gr-satellites' KISS output, a hardware TNC behind a TCP
bridge) serves the frames it decodes as KISS over TCP (``frames.kiss``).  For each
contact the agent runs a ``FrameCapture`` thread on the endpoint of the station, or of
the contact's satellite where one is set (``CaptureOptions``), from AOS minus the
agent's lead (the pre-positioning lead, ``execution.contact_lead_s``) to LOS plus
``tail_s``, both by the agent's clock:

- it connects, and reconnects after a refusal or a drop with a backoff from
  ``RECONNECT_MIN_S`` doubling to ``RECONNECT_MAX_S`` (real seconds), saying so once
  per outage;
- each data frame read is stamped with the agent's clock (the network's time; one stamp
  per read from the socket, a few milliseconds at most apart from the frame's end) and
  written to the journal *before anything else* happens to it, so that an API outage,
  a crash or a ``kill -9`` after that write loses nothing;
- corrupt KISS (bad escapes, truncated or over-long frames) is dropped and counted;
- the first data frame's stamp is signalled (``first_frame``, an ``agent.search.FirstFrame``):
  a launch-and-early-orbit contact's executor stops searching when it comes.

The capture thread only ever reads the clock (``now``); waiting is done in real time, so
it never moves a test's jumping clock.

A ``DataUploader`` thread sends what the journal holds: frames in batches of
``MAX_FRAMES_PER_BATCH`` during and after the pass (woken by each capture, and every
``interval_s`` in any case), then artifacts (``agent.recording``) in chunks of
``ARTIFACT_CHUNK_BYTES``, resumed where the API says it holds them.  Frames go first:
between two chunks of a large recording it sends any frames captured meanwhile.  An
outage keeps everything for later; a batch the API refuses for good (4xx) is settled
with the reason and stays in the journal.  After a restart the uploader sends what was
left, as the agent does with its reports.
"""

from __future__ import annotations

import contextlib
import socket
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from groundshare.agent.client import (
    MAX_FRAMES_PER_BATCH,
    AgentApi,
    ApiRefusedError,
    ApiUnreachableError,
)
from groundshare.agent.clock import Clock
from groundshare.agent.execution import Execution
from groundshare.agent.hamlib import parse_address
from groundshare.agent.journal import Journal, JournalArtifact
from groundshare.agent.recording import Recording
from groundshare.agent.search import FirstFrame
from groundshare.contact import ScheduledContact
from groundshare.errors import GroundshareError, InvalidInputError
from groundshare.frames.kiss import KissDecoder, kiss_encode

#: Dire Wolf's default KISS TCP port (its KISSPORT).
DEFAULT_KISS_PORT = 8001
#: First wait (real seconds) before reconnecting to a TNC that refused or dropped the connection; it doubles ...
RECONNECT_MIN_S = 0.25
#: ... up to this: a TNC restarted during a pass is found again within seconds.
RECONNECT_MAX_S = 4.0
#: How long (real seconds) a connection to the TNC may take.
CONNECT_TIMEOUT_S = 2.0
#: How long (real seconds) the capture thread waits on the socket before looking at the clock again.
POLL_S = 0.1
#: Size of one artifact chunk (bytes): well under the API's 8 MiB body limit; an interrupted upload repeats less.
ARTIFACT_CHUNK_BYTES = 4 * 1024 * 1024

Address = tuple[str, int]


def parse_kiss_address(text: str, *, option: str = "--kiss") -> Address:
    """Return ``(host, port)`` of a KISS TCP endpoint ``HOST[:PORT]`` (port 8001, Dire Wolf's, if left out)."""
    return parse_address(text, DEFAULT_KISS_PORT, option=option)


def parse_kiss_for(values: list[str]) -> dict[int, Address | None]:
    """Return the per-satellite endpoints of ``--kiss-for NORAD=HOST[:PORT]`` (``NORAD=none``: no capture).

    >>> parse_kiss_for(["43017=10.0.0.7:8002", "25544=none"])
    {43017: ('10.0.0.7', 8002), 25544: None}
    """
    endpoints: dict[int, Address | None] = {}
    for value in values:
        norad_text, sep, address = value.partition("=")
        norad_text = norad_text.strip()
        if not sep or not norad_text.isdigit() or int(norad_text) < 1:
            raise InvalidInputError(f"--kiss-for is {value!r}; expected NORAD=HOST:PORT such as "
                                    "43017=127.0.0.1:8001 (or NORAD=none for no capture of that satellite)",
                                    loc=("option", "--kiss-for"))
        norad_id = int(norad_text)
        if norad_id in endpoints:
            raise InvalidInputError(f"--kiss-for names NORAD {norad_id} twice; give each satellite one endpoint",
                                    loc=("option", "--kiss-for"))
        endpoints[norad_id] = (None if address.strip().lower() == "none"
                               else parse_kiss_address(address, option=f"--kiss-for {norad_id}"))
    return endpoints


@dataclass
class CaptureOptions:
    """What a station captures: KISS endpoints (the station's, per satellite) and a capture command.

    ``kiss_for`` maps a NORAD id to its own endpoint (None: no KISS capture for that
    satellite); ``capture_command`` is a template (``agent.recording``) run from AOS to
    LOS with its files in ``capture_dir/contact-<id>``; ``tail_s`` (seconds, agent's
    clock) is how long after LOS frames are still read and the command left running.
    """

    kiss: Address | None = None
    kiss_for: dict[int, Address | None] = field(default_factory=dict)
    capture_command: str | None = None
    capture_dir: Path = Path("groundshare-captures")
    tail_s: float = 10.0
    upload_interval_s: float = 2.0

    def kiss_address(self, norad_id: int | None) -> Address | None:
        """Return the KISS endpoint for a contact of satellite ``norad_id`` (None: no frame capture)."""
        if norad_id is not None and norad_id in self.kiss_for:
            return self.kiss_for[norad_id]
        return self.kiss

    @property
    def enabled(self) -> bool:
        return self.kiss is not None or any(self.kiss_for.values()) or self.capture_command is not None


class FrameCapture:
    """One contact's capture thread: KISS TCP frames from ``start_at`` to ``stop_at`` into the journal."""

    def __init__(self, contact_id: int, address: Address, *, journal: Journal, clock: Clock, start_at: datetime,
                 stop_at: datetime, log: Callable[[str], None] = print,
                 on_frames: Callable[[], None] = lambda: None) -> None:
        self.contact_id = contact_id
        self.address = address
        self.journal = journal
        self.clock = clock
        self.start_at = start_at
        self.stop_at = stop_at
        self.log = log
        self.on_frames = on_frames
        self.frames = 0
        self.bytes = 0
        self.connections = 0
        self.bad_escapes = self.over_long = self.truncated = self.empty = 0
        self.failures: list[str] = []
        #: When the first data frame was read (the agent's clock); the pass executor reads it from its thread.
        self.first_frame = FirstFrame()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"kiss-capture-{contact_id}", daemon=True)
        self._sock: socket.socket | None = None  # the live connection, which an uplink relay also writes to
        self._write_lock = threading.Lock()

    @property
    def where(self) -> str:
        host, port = self.address
        return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"

    @property
    def reconnects(self) -> int:
        return max(0, self.connections - 1)

    @property
    def dropped(self) -> int:
        """How many corrupt KISS frames were dropped."""
        return self.bad_escapes + self.over_long + self.truncated + self.empty

    def start(self) -> FrameCapture:
        self._thread.start()
        return self

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop reading (what was read is in the journal when this returns)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout_s)

    def summary(self) -> str:
        """Return one sentence for the outcome's notes: what was captured from where, and what went wrong."""
        text = f"{self.frames} frame(s) ({self.bytes} bytes) captured from KISS {self.where}"
        if self.connections == 0:
            text += " (never connected)"
        elif self.reconnects:
            text += f" over {self.connections} connections"
        if self.dropped:
            kinds = ", ".join(f"{n} {what}" for what, n in (("bad escape", self.bad_escapes), ("over the bound",
                              self.over_long), ("truncated", self.truncated), ("empty", self.empty)) if n)
            text += f"; {self.dropped} corrupt KISS frame(s) dropped ({kinds})"
        return text

    def _run(self) -> None:
        wait_s = RECONNECT_MIN_S
        outage: str | None = None
        while not self._stop.is_set():
            now = self.clock.now()
            if now >= self.stop_at:
                return
            if now < self.start_at:
                self._stop.wait(0.05)
                continue
            try:
                sock = socket.create_connection(self.address, timeout=CONNECT_TIMEOUT_S)
            except OSError as exc:
                reason = f"cannot connect to the TNC's KISS TCP at {self.where}: {exc}"
                if outage is None:
                    self.log(f"warning: contact {self.contact_id}: {reason}; retrying until LOS")
                    self._fail(reason)
                outage = reason
                self._stop.wait(wait_s)
                wait_s = min(RECONNECT_MAX_S, 2 * wait_s)
                continue
            self.connections += 1
            self.log(f"contact {self.contact_id}: capturing frames from KISS {self.where}"
                     f"{' again' if self.connections > 1 else ''}")
            outage = None
            wait_s = RECONNECT_MIN_S
            reason = self._read(sock)
            if reason is not None and not self._stop.is_set() and self.clock.now() < self.stop_at:
                self.log(f"warning: contact {self.contact_id}: the KISS connection to {self.where} {reason}; "
                         "reconnecting")
                self._fail(f"the KISS connection to {self.where} {reason}")
                outage = reason
                self._stop.wait(wait_s)

    def transmit(self, payload: bytes) -> None:
        """Write ``payload`` to the TNC as one KISS data frame, on the connection frames are read from.

        ``OSError`` when there is no connection (the TNC is unreachable) or the write fails.
        """
        with self._write_lock:
            sock = self._sock
            if sock is None:
                raise OSError(f"not connected to the TNC's KISS TCP at {self.where}")
            sock.sendall(kiss_encode(payload))

    def _read(self, sock: socket.socket) -> str | None:
        """Read frames until stopped, LOS + tail, or the connection ends; return why it ended (None: stopped)."""
        decoder = KissDecoder()
        with self._write_lock:
            self._sock = sock
        try:
            sock.settimeout(POLL_S)
            while not self._stop.is_set() and self.clock.now() < self.stop_at:
                try:
                    data = sock.recv(65536)
                except TimeoutError:
                    continue
                except OSError as exc:
                    return f"failed ({exc})"
                if not data:
                    return "was closed by the TNC"
                frames = [frame for frame in decoder.feed(data) if frame.is_data]
                if frames:
                    self._keep([frame.payload for frame in frames])
            return None
        finally:
            decoder.end()
            for name in ("bad_escapes", "over_long", "truncated", "empty"):
                setattr(self, name, getattr(self, name) + getattr(decoder, name))
            with self._write_lock:
                self._sock = None
                with contextlib.suppress(OSError):
                    sock.close()

    def _keep(self, payloads: list[bytes]) -> None:
        """Write frames to the journal, stamped now by the agent's clock, then wake the uploader."""
        when = self.clock.now()
        self.first_frame.set(when)  # heard, whether or not the journal can keep it
        try:
            self.journal.add_frames(self.contact_id, [(when, payload) for payload in payloads])
        except sqlite3.Error as exc:  # a full disk: say so loudly; the frames could not be kept
            self.log(f"error: contact {self.contact_id}: {len(payloads)} frame(s) could not be written to the "
                     f"journal ({exc}); they are lost")
            self._fail(f"journal write failed: {exc}")
            return
        self.frames += len(payloads)
        self.bytes += sum(len(payload) for payload in payloads)
        self.on_frames()

    def _fail(self, reason: str) -> None:
        if reason not in self.failures and len(self.failures) < 10:
            self.failures.append(reason[:500])


class DataUploader:
    """Sends the journal's frames and artifacts to the API (see the module docstring); a thread or called directly.

    ``api`` is a callable returning the agent's current ``AgentApi`` (tests swap it).
    """

    def __init__(self, journal: Journal, api: Callable[[], AgentApi | None], *, log: Callable[[str], None] = print,
                 interval_s: float = 2.0, chunk_bytes: int = ARTIFACT_CHUNK_BYTES) -> None:
        self.journal = journal
        self.api = api
        self.log = log
        self.interval_s = interval_s
        self.chunk_bytes = chunk_bytes
        self.frames_sent = 0
        self._busy = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._outage = False
        self._asked: set[tuple[int, str]] = set()  # artifacts whose upload state was asked of the API in this run

    # The thread.

    def start(self) -> DataUploader:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="data-uploader", daemon=True)
            self._thread.start()
        return self

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout_s: float = 30.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None
        self._stop.clear()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.flush_frames()
                if not self._stop.is_set():
                    self.upload_artifacts(max_chunks=1)  # one chunk, then frames again
            except (GroundshareError, sqlite3.Error, OSError) as exc:
                self.log(f"error: uploading captured data: {exc}")
            if self._more_artifacts() and not self._outage:
                continue
            self._wake.wait(self.interval_s)
            self._wake.clear()

    def _more_artifacts(self) -> bool:
        return not self._stop.is_set() and bool(self.journal.artifacts(pending=True))

    # Frames.

    def flush_frames(self) -> int:
        """Send the journal's unsent frames in batches; stop at the first outage. Return how many were taken."""
        api = self.api()
        if api is None:
            return 0
        taken = 0
        with self._busy:
            while batch := self.journal.unsent_frames(MAX_FRAMES_PER_BATCH):
                contact_id = batch[0].contact_id
                seqs = [frame.seq for frame in batch]
                try:
                    api.upload_frames(contact_id, [(frame.received_at, frame.payload) for frame in batch])
                except ApiUnreachableError as exc:
                    if not self._outage:
                        self.log(f"warning: {self.journal.unsent_frame_count()} captured frame(s) kept in the journal "
                                 f"for later: {exc}")
                    self._outage = True
                    return taken
                except ApiRefusedError as exc:
                    self.journal.frames_uploaded(seqs, error=str(exc))
                    self.log(f"error: {len(seqs)} frame(s) of contact {contact_id} refused by the API (kept in the "
                             f"journal): {exc}")
                    continue
                if self._outage:
                    self.log("the API is back: sending the captured frames kept meanwhile")
                    self._outage = False
                self.journal.frames_uploaded(seqs)
                taken += len(seqs)
        self.frames_sent += taken
        return taken

    # Artifacts.

    def upload_artifacts(self, *, max_chunks: int | None = None) -> int:
        """Upload the journal's pending artifacts, resumably; return how many were stored by the API.

        With ``max_chunks``, stop after that many chunks (the thread sends frames in between).
        An outage stops the round (``ApiUnreachableError`` is not raised: it is tried again).
        """
        api = self.api()
        if api is None:
            return 0
        stored = 0
        budget = [max_chunks if max_chunks is not None else -1]
        with self._busy:
            for artifact in self.journal.artifacts(pending=True):
                try:
                    if self._upload(api, artifact, budget):
                        stored += 1
                except ApiRefusedError as exc:
                    self._give_up(artifact, f"artifact {artifact.name} of contact {artifact.contact_id} refused by "
                                            f"the API: {exc}")
                except ApiUnreachableError as exc:
                    if not self._outage:
                        self.log(f"warning: artifact uploads wait for the API: {exc}")
                    self._outage = True
                    break
                if budget[0] == 0:
                    break
        return stored

    def _upload(self, api: AgentApi, artifact: JournalArtifact, budget: list[int]) -> bool:
        """Upload one artifact from where the API holds it, within ``budget[0]`` chunks; return True once stored."""
        contact_id, name, size = artifact.contact_id, artifact.name, artifact.size
        what = f"artifact {name} of contact {contact_id}"
        path = Path(artifact.path)
        try:
            found = path.stat().st_size
        except OSError as exc:
            return self._give_up(artifact, f"{what}: its file {path} cannot be read any more ({exc})")
        if found != size:
            return self._give_up(artifact, f"{what}: its file {path} changed after LOS ({size} bytes then, "
                                           f"{found} now); it is not uploaded")
        offset = artifact.uploaded_bytes
        if (contact_id, name) not in self._asked:
            offset = self._resume_offset(api, artifact)
            self._asked.add((contact_id, name))
            if offset is None:
                self.journal.artifact_progress(contact_id, name, size, done=1)
                return True
        conflicts = 0
        with path.open("rb") as stream:
            while budget[0] != 0:
                stream.seek(offset)
                data = stream.read(self.chunk_bytes)
                try:
                    progress = api.upload_artifact_chunk(contact_id, name, sha256=artifact.sha256, data=data,
                                                         offset=offset, total_bytes=size)
                except ApiRefusedError as exc:
                    if exc.status == 409 and conflicts < 3:  # the API holds another part: ask where to go on
                        conflicts += 1
                        resume = self._resume_offset(api, artifact)
                        if resume is None:
                            self.journal.artifact_progress(contact_id, name, size, done=1)
                            return True
                        offset = resume
                        continue
                    return self._give_up(artifact, f"{what} refused by the API: {exc}")
                budget[0] -= 1
                if progress.complete:
                    self.journal.artifact_progress(contact_id, name, size, done=1)
                    self.log(f"{what} uploaded ({size} bytes, SHA-256 {artifact.sha256[:12]}...)")
                    return True
                if progress.received_bytes <= offset or progress.received_bytes > size:
                    return self._give_up(artifact, f"{what}: the API took {offset}..{progress.received_bytes} of "
                                                   f"{size} bytes; not a resumable upload")
                offset = progress.received_bytes
                self.journal.artifact_progress(contact_id, name, offset)
        return False

    def _resume_offset(self, api: AgentApi, artifact: JournalArtifact) -> int | None:
        """Return where to resume an artifact's upload (None: the API has it whole already)."""
        try:
            state = api.artifact_upload_state(artifact.contact_id, artifact.name, artifact.sha256)
        except ApiRefusedError as exc:
            if exc.status == 404:
                return 0  # nothing of it there yet
            raise
        if state.complete:
            return None
        return state.received_bytes if 0 <= state.received_bytes <= artifact.size else 0

    def _give_up(self, artifact: JournalArtifact, reason: str) -> bool:
        self.journal.artifact_progress(artifact.contact_id, artifact.name, artifact.uploaded_bytes, done=-1,
                                       error=reason)
        self.log(f"error: {reason}")
        return False

    def flush(self) -> tuple[int, int]:
        """Send every frame, then every artifact, now; return (frames taken, artifacts stored)."""
        return self.flush_frames(), self.upload_artifacts()


class ContactCapture:
    """What one contact captures: frames from its KISS endpoint and its capture command's files.

    ``begin`` (when the agent takes the contact up, before pre-positioning) starts the
    frame capture thread, which connects at ``start - lead_s``; ``at_aos`` starts the
    capture command; ``finish`` waits (on the agent's clock, in the agent's thread) until
    LOS plus the tail, stops both, registers the command's files and writes the counts
    and what went wrong into the contact's ``Execution``.
    """

    def __init__(self, contact: ScheduledContact, options: CaptureOptions, *, journal: Journal, clock: Clock,
                 lead_s: float, log: Callable[[str], None] = print,
                 on_frames: Callable[[], None] = lambda: None) -> None:
        self.contact = contact
        self.options = options
        self.journal = journal
        self.clock = clock
        self.stop_at = contact.end + timedelta(seconds=options.tail_s)
        address = options.kiss_address(contact.satellite.norad_id)
        self.frames = None if address is None else FrameCapture(
            contact.contact_id, address, journal=journal, clock=clock,
            start_at=contact.start - timedelta(seconds=lead_s), stop_at=self.stop_at, log=log, on_frames=on_frames)
        self.recording = None if options.capture_command is None else Recording(
            options.capture_command, contact, options.capture_dir, log=log)

    @property
    def first_frame(self) -> FirstFrame | None:
        """The first-frame signal of the contact's frame capture (None without KISS capture)."""
        return self.frames.first_frame if self.frames is not None else None

    def begin(self) -> None:
        if self.frames is not None:
            self.frames.start()

    def at_aos(self) -> None:
        if self.recording is not None:
            self.recording.start()

    def finish(self, run: Execution, *, wait: bool = True) -> None:
        """Stop capturing (at LOS + tail with ``wait``, else now) and account for it in ``run``."""
        if wait:
            self.clock.sleep_until(self.stop_at)
        contact_id = self.contact.contact_id
        if self.frames is not None:
            self.frames.stop()
            run.notes.append(self.frames.summary())
            for reason in self.frames.failures:
                run.fail(reason)
        if self.recording is not None:
            self.recording.stop()
            run.notes += self.recording.notes
            run.notes += self.recording.collect(self.journal)
            if self.recording.failure:
                run.fail(self.recording.failure)
        frames, frame_bytes = self.journal.frame_counts(contact_id)
        files, file_bytes = self.journal.artifact_counts(contact_id)
        run.frames_received = frames if self.frames is not None else None
        run.bytes_received = frame_bytes + file_bytes
        if files:
            run.notes.append(f"{files} file(s) of the capture command ({file_bytes} bytes) to upload")
