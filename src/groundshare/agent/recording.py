"""The station's capture command: a recording from AOS to LOS, its files uploaded as the contact's artifacts.

A station may name a command template (``groundshare agent --capture-command``), for
example ``rtl_fm -f {frequency_hz} -s 48k - | sox -t raw -r 48k -e signed -b 16 -c 1 -
{output_dir}/pass.wav``, or a GNU Radio flowgraph.  For each contact the agent fills in
the placeholders (``PLACEHOLDERS``), each value shell-quoted, and runs the line with
``/bin/sh -c`` in the contact's output folder (``<capture dir>/contact-<id>``), in its
own process group, from AOS:

- at LOS plus the capture tail the group gets ``SIGTERM`` (a command still running
  then is stopped as planned, not failed), and ``SIGKILL`` if it has not exited
  ``TERMINATE_GRACE_S`` later;
- it never blocks tracking: the agent does not wait on it, and its output goes to a
  log file beside the output folder (``contact-<id>.log``), never to a pipe that
  could fill;
- a command that cannot start, exits by itself with a non-zero status, or must be
  killed is reported in the contact's outcome (``execution.failures`` and notes) with
  its exit status and the tail of its output; tracking's own status is unchanged.

After LOS every regular file in the output folder is an artifact of the contact
(``collect_artifacts``): its SHA-256 and size go to the journal, and ``agent.capture``'s
uploader sends it resumably.  Artifact names are the file names with any character
outside ``[A-Za-z0-9._-]`` replaced by ``_`` (and no leading dot), as the API requires.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import os
import re
import shlex
import signal
import string
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from groundshare.agent.journal import Journal
from groundshare.contact import ScheduledContact
from groundshare.errors import InvalidInputError
from groundshare.timeutil import format_utc

#: The placeholders of a capture command, and what each becomes (every value shell-quoted).
PLACEHOLDERS: dict[str, str] = {
    "frequency_hz": "the satellite's downlink frequency in Hz, a whole number (437500000)",
    "duration_s": "the contact's length in seconds, rounded up (AOS to LOS)",
    "output_dir": "the contact's output folder, absolute; every file left there is uploaded after LOS",
    "contact_id": "the contact's id",
    "norad_id": "the satellite's NORAD id",
    "satellite": "the satellite's name",
    "start": "AOS, ISO 8601 UTC (2025-11-07T03:12:00.000Z)",
    "end": "LOS, ISO 8601 UTC",
}
#: Seconds (real time) a command has to exit after SIGTERM before its process group is killed.
TERMINATE_GRACE_S = 5.0
#: Characters of the command's output quoted in the outcome when it fails.
OUTPUT_TAIL_CHARS = 500
ARTIFACT_NAME = re.compile(r"^[A-Za-z0-9._-]{1,200}$")


def check_capture_command(template: str, *, option: str = "--capture-command") -> str:
    """Return ``template`` if its placeholders are all known; ``InvalidInputError`` naming the first unknown one."""
    known = ", ".join("{" + name + "}" for name in PLACEHOLDERS)
    if not template.strip():
        raise InvalidInputError(f"{option} is empty; give a shell command line such as "
                                "'rtl_fm -f {frequency_hz} ... > {output_dir}/pass.raw'", loc=("option", option))
    try:
        fields = [name for _, name, _, _ in string.Formatter().parse(template) if name is not None]
    except ValueError as exc:
        raise InvalidInputError(f"{option} {template!r} is not a valid template ({exc}); write a literal brace as "
                                "{{ or }}", loc=("option", option)) from None
    for name in fields:
        if name not in PLACEHOLDERS:
            raise InvalidInputError(f"{option} uses the placeholder {{{name}}}, which is not one of {known}",
                                    loc=("option", option))
    return template


def render_capture_command(template: str, contact: ScheduledContact, output_dir: Path) -> str:
    """Return the command line for ``contact``: ``template`` with each placeholder's value shell-quoted.

    ``InvalidInputError`` when the template needs a value the contact does not have
    (a downlink frequency, a NORAD id).
    """
    satellite = contact.satellite
    values: dict[str, object | None] = {
        "frequency_hz": (None if satellite.downlink_frequency_hz is None
                         else round(satellite.downlink_frequency_hz)),
        "duration_s": math.ceil((contact.end - contact.start).total_seconds()),
        "output_dir": str(output_dir.resolve()),
        "contact_id": contact.contact_id,
        "norad_id": satellite.norad_id,
        "satellite": satellite.name or "",
        "start": format_utc(contact.start),
        "end": format_utc(contact.end),
    }
    parts: list[str] = []
    for literal, name, spec, conversion in string.Formatter().parse(check_capture_command(template)):
        parts.append(literal)
        if name is None:
            continue
        value = values[name]
        if value is None:
            raise InvalidInputError(f"the capture command uses {{{name}}} but contact {contact.contact_id}'s "
                                    f"satellite has none (set it on the satellite)", loc=("option", name))
        if conversion == "r":
            value = repr(value)
        elif conversion in ("s", "a"):
            value = str(value) if conversion == "s" else ascii(value)
        parts.append(shlex.quote(format(value, spec or "")))
    return "".join(parts)


def artifact_name(file_name: str) -> str:
    """Return the artifact name of a file: characters outside ``[A-Za-z0-9._-]`` as ``_``, no leading dot.

    >>> artifact_name("pass 1 (UHF).wav"), artifact_name(".hidden")
    ('pass_1__UHF_.wav', '_hidden')
    """
    name = re.sub(r"[^A-Za-z0-9._-]", "_", file_name)[:200]
    return "_" + name[1:] if name.startswith(".") else name


def file_sha256(path: Path) -> str:
    """Return the SHA-256 (hex) of the file at ``path``, read in 1 MiB pieces."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while piece := stream.read(1 << 20):
            digest.update(piece)
    return digest.hexdigest()


def collect_artifacts(journal: Journal, contact_id: int, output_dir: Path) -> list[str]:
    """Register every regular file of ``output_dir`` as an artifact of the contact; return notes on files left out.

    A file already registered under its name is left as it was (a contact executed
    again after a restart keeps its first files' records).
    """
    notes: list[str] = []
    if not output_dir.is_dir():
        return notes
    known = {artifact.name: artifact.path for artifact in journal.artifacts(contact_id)}
    for path in sorted(output_dir.iterdir()):
        if path.is_symlink() or not path.is_file():
            notes.append(f"{path.name} in the capture folder is not a regular file; not uploaded")
            continue
        if str(path) in known.values():
            continue
        name = base = artifact_name(path.name)
        stem, dot, suffix = base.rpartition(".")
        n = 1
        while name in known:  # two file names that differ only in replaced characters
            n += 1
            name = f"{stem}-{n}.{suffix}" if dot and stem else f"{base}-{n}"
        journal.add_artifact(contact_id, name, str(path), file_sha256(path), path.stat().st_size)
        known[name] = str(path)
    return notes


class Recording:
    """One run of the capture command for one contact (see the module docstring)."""

    def __init__(self, template: str, contact: ScheduledContact, capture_dir: Path, *,
                 log: Callable[[str], None] = print) -> None:
        self.template = template
        self.contact = contact
        self.output_dir = capture_dir / f"contact-{contact.contact_id}"
        self.log_path = capture_dir / f"contact-{contact.contact_id}.log"
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None
        self.failure: str | None = None
        self.notes: list[str] = []
        self.stopped = False

    def start(self) -> None:
        """Start the command in its own process group (a failure to start is kept as ``failure``)."""
        contact_id = self.contact.contact_id
        try:
            command = render_capture_command(self.template, self.contact, self.output_dir)
            self.output_dir.mkdir(parents=True, exist_ok=True)
            with self.log_path.open("ab") as output:
                self.process = subprocess.Popen(["/bin/sh", "-c", command], cwd=self.output_dir, stdout=output,
                                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                                start_new_session=True)
        except (InvalidInputError, OSError) as exc:
            self.failure = f"capture command not run: {exc}"
            self.log(f"error: contact {contact_id}: {self.failure}")
            return
        self.log(f"contact {contact_id}: capture command started (pid {self.process.pid}): {command}")

    def stop(self, grace_s: float = TERMINATE_GRACE_S) -> None:
        """Stop the command's process group if it still runs (SIGTERM, then SIGKILL); record how it ended."""
        process = self.process
        if process is None or self.stopped:
            return
        self.stopped = True
        code = process.poll()
        if code is None:
            self._signal(signal.SIGTERM)
            try:
                process.wait(grace_s)
            except subprocess.TimeoutExpired:
                self._signal(signal.SIGKILL)
                process.wait()
                self.failure = (f"capture command did not exit within {grace_s:g} s of SIGTERM at LOS and was "
                                f"killed{self._tail()}")
            self.notes.append("capture command stopped at LOS")
        elif code != 0:
            how = f"was killed by signal {-code}" if code < 0 else f"exited with status {code}"
            self.failure = f"capture command {how} before LOS{self._tail()}"
        if self.failure:
            self.log(f"error: contact {self.contact.contact_id}: {self.failure}")

    def _signal(self, sig: int) -> None:
        assert self.process is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, sig)

    def _tail(self) -> str:
        """Return ``: <last lines of output>`` (or nothing when it said nothing)."""
        try:
            with self.log_path.open("rb") as stream:
                stream.seek(max(0, self.log_path.stat().st_size - OUTPUT_TAIL_CHARS))
                text = stream.read().decode(errors="replace").strip()
        except OSError:
            return ""
        return f"; its output ends: {text}" if text else ""

    def collect(self, journal: Journal) -> list[str]:
        """Register the output folder's files as the contact's artifacts; return notes on those left out."""
        started = time.monotonic()
        notes = collect_artifacts(journal, self.contact.contact_id, self.output_dir)
        files, size = journal.artifact_counts(self.contact.contact_id)
        if files:
            self.log(f"contact {self.contact.contact_id}: {files} file(s), {size} bytes, to upload "
                     f"(hashed in {time.monotonic() - started:.1f} s)")
        return notes
