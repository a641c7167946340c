"""Real Hamlib daemons: ``rotctld -m 1`` and ``rigctld -m 1`` on loopback.

Model 1 is Hamlib's dummy: the rotator really moves toward a commanded position (both
axes at 6 deg/s, measured on Hamlib 4.5.4) and refuses positions outside its limits;
the rig stores what it is told.  Each daemon listens on a free port of 127.0.0.1.
Without the binaries (Debian's ``libhamlib-utils``) the tests are skipped with the
reason, except in CI, where they fail: CI must run them (``.ci/run`` installs them).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager

from .environment import free_port, stop_process, unavailable

START_TIMEOUT_S = 10.0


def require(binary: str) -> str:
    """Return the path of the Hamlib program ``binary``; skip (fail under CI) without it."""
    path = shutil.which(binary)
    if path is None:
        unavailable(f"{binary} not found: install Debian's libhamlib-utils "
                    "(apt-get install --no-install-recommends libhamlib-utils) to run the Hamlib tests",
                    what="the Hamlib tests")
    return path


class Daemon:
    """One Hamlib daemon process on 127.0.0.1:``port``; ``stop()`` and ``start()`` keep the port."""

    def __init__(self, binary: str, port: int, extra: list[str]) -> None:
        self.binary, self.port, self.extra = binary, port, extra
        self.process: subprocess.Popen | None = None

    @property
    def host(self) -> str:
        return "127.0.0.1"

    def start(self) -> None:
        self.process = subprocess.Popen([self.binary, "-m", "1", "-T", "127.0.0.1", "-t", str(self.port), *self.extra],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.binary} on port {self.port} exited with {self.process.returncode}")
            try:
                with socket.create_connection((self.host, self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"{self.binary} did not accept connections on port {self.port} in {START_TIMEOUT_S:g} s")

    def stop(self) -> None:
        stop_process(self.process)
        self.process = None


@contextmanager
def daemon(binary: str, extra: list[str] | None = None) -> Iterator[Daemon]:
    """Yield a started dummy ``binary`` (``rotctld`` or ``rigctld``) with ``extra`` options on a free port."""
    running = Daemon(require(binary), free_port(), extra or [])
    running.start()
    try:
        yield running
    finally:
        running.stop()
