"""``groundshare`` run as the tests run it: in a subprocess against a database, or in-process with Typer's runner."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner, Result

from .shipped import CUBESATS, DEMO_STATIONS

#: The start of the command-line tests' windows: just after the shipped cubesat elements' newest epoch.
CLI_START = "2025-11-07T00:00Z"


def cli(*args: str, database_url: str) -> str:
    """Run ``groundshare <args> --database-url URL`` and return its stdout; raise with stderr if it fails."""
    command = [sys.executable, "-m", "groundshare.cli", *args, "--database-url", database_url]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command[2:])} exited with {done.returncode}:\n{done.stderr}")
    return done.stdout.strip()


def run_passes(runner: CliRunner, *args: str | Path, elements: Path = CUBESATS, stations: Path = DEMO_STATIONS,
               start: str = CLI_START, days: str = "0.25") -> Result:
    """Invoke ``groundshare passes`` in-process over a short window (``--workers 1``), with more ``args``."""
    from groundshare.cli import app  # here, so that importing this module (as bench/api.py does) stays cheap

    argv = ["passes", "--elements", str(elements), "--stations", str(stations), "--start", start,
            "--days", days, "--workers", "1", *map(str, args)]
    return runner.invoke(app, argv)
