"""The real satnogs-client (PyPI, 2.1.4) as a SatNOGS station runs it, against a groundshare server.

- ``client_python()``: the Python of a virtual environment that holds ``satnogs-client``,
  made once with Debian's Python (``/usr/bin/python3 -m venv --system-site-packages``, so
  that it sees Debian's ``python3-hamlib`` and ``python3-gps``, which the client imports and
  PyPI does not carry) and ``pip install satnogs-client==2.1.4`` (its own pins, apart from
  ours), kept under ``build/satnogs-client-2.1.4/``.  Without Debian's packages, or when the
  install fails, the test is skipped with the reason, and fails under CI (``.ci/run``
  installs the packages; pip needs the package index).
- ``SatnogsClient``: ``python -m satnogsclient`` as a subprocess with its settings in its
  environment (the station, the network API under ``/satnogs/api/``, the poll and upload
  intervals, a networked Hamlib rotator and rig, output folders of its own), its log kept in
  a file; ``wait_for`` waits for a line of it.
- The SDR flowgraph is replaced: the client runs ``flowgraph_dispatcher`` from its PATH, a
  GNU Radio script of gr-satnogs that needs an SDR and is not packaged here, so a folder put
  first on the client's PATH holds a ``flowgraph_dispatcher`` that runs
  ``tests/support/satnogs_flowgraph.py``, which writes the files the real one writes, under
  its names.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from .environment import unavailable

CLIENT_VERSION = "2.1.4"
#: The program the client starts for every observation (satnogsclient/radio/flowgraphs.py, 2.1.4).
FLOWGRAPH_PROGRAM = "flowgraph_dispatcher"
DEBIAN_PYTHON = Path("/usr/bin/python3")
ROOT = Path(__file__).resolve().parents[2]
CLIENT_DIR = ROOT / "build" / f"satnogs-client-{CLIENT_VERSION}"
FLOWGRAPH_SCRIPT = Path(__file__).with_name("satnogs_flowgraph.py")
INSTALL_TIMEOUT_S = 600.0
STOP_TIMEOUT_S = 10.0
WHAT = "the satnogs-client tests"


def _debian_packages_missing() -> str | None:
    """Return why Debian's Python cannot give the client Hamlib and gps, or None when it can."""
    if not DEBIAN_PYTHON.exists():
        return f"{DEBIAN_PYTHON} not found: satnogs-client runs on Debian's Python 3 with its Hamlib and gps modules"
    done = subprocess.run([str(DEBIAN_PYTHON), "-c", "import Hamlib, gps"], capture_output=True, text=True,
                          timeout=60)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
        return (f"Debian's Python cannot import Hamlib and gps ({last}): install python3-hamlib and python3-gps "
                "(apt-get install --no-install-recommends python3-hamlib python3-gps) to run satnogs-client")
    return None


def _installed(folder: Path) -> bool:
    python = folder / "bin" / "python"
    if not (folder / ".installed").exists() or not python.exists():
        return False
    check = ("import importlib.metadata as m, Hamlib, gps, ephem; "
             f"assert m.version('satnogs-client') == {CLIENT_VERSION!r}")
    return subprocess.run([str(python), "-c", check], capture_output=True, timeout=60).returncode == 0


def client_python() -> Path:
    """Return the Python of the client's virtual environment, making it on first use (see the module docstring)."""
    if _installed(CLIENT_DIR):
        return CLIENT_DIR / "bin" / "python"
    reason = _debian_packages_missing()
    if reason is not None:
        unavailable(reason, what=WHAT)
    building = CLIENT_DIR.with_name(f"{CLIENT_DIR.name}.building-{os.getpid()}")
    shutil.rmtree(building, ignore_errors=True)
    building.parent.mkdir(parents=True, exist_ok=True)
    steps = [[str(DEBIAN_PYTHON), "-m", "venv", "--system-site-packages", str(building)],
             [str(building / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
              f"satnogs-client=={CLIENT_VERSION}"]]
    for step in steps:
        try:
            done = subprocess.run(step, capture_output=True, text=True, timeout=INSTALL_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            shutil.rmtree(building, ignore_errors=True)
            unavailable(f"{' '.join(step[-3:])} took over {INSTALL_TIMEOUT_S:g} s", what=WHAT)
        if done.returncode != 0:
            shutil.rmtree(building, ignore_errors=True)
            unavailable(f"could not install satnogs-client {CLIENT_VERSION} ({' '.join(step[-3:])} exited with "
                        f"{done.returncode}):\n{done.stderr[-2000:]}", what=WHAT)
    (building / ".installed").write_text(f"satnogs-client=={CLIENT_VERSION}\n")
    shutil.rmtree(CLIENT_DIR, ignore_errors=True)
    building.rename(CLIENT_DIR)  # the venv is run as bin/python -m ..., which works from a renamed folder
    if not _installed(CLIENT_DIR):
        unavailable(f"satnogs-client {CLIENT_VERSION} installed in {CLIENT_DIR} but does not import", what=WHAT)
    return CLIENT_DIR / "bin" / "python"


def fake_flowgraph_folder(folder: Path, python: Path) -> Path:
    """Make ``folder`` hold a ``flowgraph_dispatcher`` that runs the stand-in flowgraph with ``python``."""
    folder.mkdir(parents=True, exist_ok=True)
    program = folder / FLOWGRAPH_PROGRAM
    program.write_text(f"#!/bin/sh\nexec '{python}' '{FLOWGRAPH_SCRIPT}' \"$@\"\n")
    program.chmod(0o755)
    return folder


@dataclass
class SatnogsClient:
    """``python -m satnogsclient`` for one station; ``start()``, ``wait_for()``, ``stop()``.

    ``folder`` holds its working directory, its output folders (``data``: files waiting for
    upload; ``complete``: files uploaded, kept by ``SATNOGS_COMPLETE_OUTPUT_PATH``;
    ``incomplete``: files the network refused with 404), the fake flowgraph and ``client.log``.
    """

    python: Path
    folder: Path
    api_url: str  # the network API, ending in /satnogs/api/
    token: str
    station_id: int
    lat_deg: float
    lon_deg: float
    alt_m: float
    rotctld_port: int
    rigctld_port: int
    interval_s: int = 1  # both the job poll and the upload loop
    extra_env: Mapping[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None

    @property
    def log_path(self) -> Path:
        return self.folder / "client.log"

    @property
    def data_path(self) -> Path:
        return self.folder / "satnogs" / "data"

    @property
    def complete_path(self) -> Path:
        return self.folder / "satnogs" / "complete"

    @property
    def incomplete_path(self) -> Path:
        return self.data_path / "incomplete"

    def environment(self) -> dict[str, str]:
        """Return the client's environment: its settings (satnogsclient/settings.py) and a PATH with the fake."""
        fakes = fake_flowgraph_folder(self.folder / "bin", self.python)
        app = self.folder / "satnogs"
        env = {
            "PATH": os.pathsep.join([str(fakes), str(self.python.parent), "/usr/bin", "/bin"]),
            "HOME": str(self.folder),
            "LANG": "C.UTF-8",
            "PYTHONUNBUFFERED": "1",
            "MPLBACKEND": "Agg",
            "MPLCONFIGDIR": str(CLIENT_DIR / "matplotlib"),  # its font cache is made once
            "SATNOGS_API_TOKEN": self.token,
            "SATNOGS_STATION_ID": str(self.station_id),
            "SATNOGS_STATION_LAT": repr(self.lat_deg),
            "SATNOGS_STATION_LON": repr(self.lon_deg),
            "SATNOGS_STATION_ELEV": repr(self.alt_m),
            "SATNOGS_NETWORK_API_URL": self.api_url,
            "SATNOGS_NETWORK_API_QUERY_INTERVAL": str(self.interval_s),
            "SATNOGS_NETWORK_API_POST_INTERVAL": str(self.interval_s),
            "SATNOGS_ROT_ENABLED": "True",
            "SATNOGS_ROT_MODEL": "ROT_MODEL_NETROTCTL",
            "SATNOGS_ROT_PORT": f"127.0.0.1:{self.rotctld_port}",
            "SATNOGS_RIG_IP": "127.0.0.1",
            "SATNOGS_RIG_PORT": str(self.rigctld_port),
            "SATNOGS_SOAPY_RX_DEVICE": "driver=groundshare-fake",
            "SATNOGS_RX_SAMP_RATE": "48000",
            "SATNOGS_ANTENNA": "RX",
            "SATNOGS_APP_PATH": str(app),
            "SATNOGS_OUTPUT_PATH": str(self.data_path),
            "SATNOGS_INCOMPLETE_OUTPUT_PATH": str(self.incomplete_path),
            "SATNOGS_COMPLETE_OUTPUT_PATH": str(self.complete_path),
            "SATNOGS_ARTIFACTS_OUTPUT_PATH": str(app / "artifacts"),
            "SATNOGS_LOG_LEVEL": "INFO",
            "SENTRY_ENABLED": "False",
        }
        env.update(self.extra_env)
        return env

    def start(self) -> SatnogsClient:
        """Start the client in its own process group (its flowgraphs are its children)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        env = self.environment()
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen([str(self.python), "-m", "satnogsclient"], cwd=self.folder, env=env,
                                            stdout=log, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True)
        return self

    def log(self) -> str:
        """Return what the client (and its flowgraphs) wrote so far."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def wait_for(self, pattern: str, timeout_s: float) -> re.Match[str]:
        """Return the first match of the regular expression ``pattern`` in the log, waiting up to ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        while True:
            found = re.search(pattern, self.log(), re.MULTILINE)
            if found:
                return found
            if self.process is not None and self.process.poll() is not None:
                raise AssertionError(f"satnogs-client exited with {self.process.returncode} before logging "
                                     f"{pattern!r}; its log:\n{self.log()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"satnogs-client did not log {pattern!r} in {timeout_s:g} s; its log:\n"
                                     f"{self.log()}")
            time.sleep(0.2)

    def stop(self) -> None:
        """Stop the client and any flowgraph it runs (SIGTERM to its process group, then SIGKILL)."""
        if self.process is None:
            return
        group = self.process.pid  # start_new_session: the client leads its own group
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(group, sig)
            except ProcessLookupError:
                break
            try:
                self.process.wait(timeout=STOP_TIMEOUT_S)
                break
            except subprocess.TimeoutExpired:
                continue
        with contextlib.suppress(ProcessLookupError):  # a flowgraph left behind by a client killed mid-observation
            os.killpg(group, signal.SIGKILL)
        self.process = None


@contextmanager
def satnogs_client(**settings: object) -> Iterator[SatnogsClient]:
    """Yield a started ``SatnogsClient`` (``settings``: its fields but ``python``); stop it at the end."""
    client = SatnogsClient(python=client_python(), **settings).start()  # type: ignore[arg-type]
    try:
        yield client
    finally:
        client.stop()
