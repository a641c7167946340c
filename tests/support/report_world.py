"""The demo network after a planned and simulated month, made once per test run and copied per test module.

``groundshare db upgrade`` and ``groundshare demo load`` (no ``--plan-days``: the simulation
plans every day itself), then ``store.demo_sim.simulate`` over ``REPORT_DAYS`` days with
``REPORT_SEED``: the clock runs from 2025-11-07T00:00Z to 2025-12-07T00:00Z, contacts are
booked one day ahead (to 2025-12-08), executed by the simulated agent (most completed with
frames, some failed with one of ``demo_sim.FAILURE_REASONS``), and weekly requests are filed.

Fixtures (import both into a test module or conftest:
``from tests.support.report_world import report_world, report_world_template  # noqa: F401``):

- ``report_world_template`` (session): the folder where the month is simulated once for the
  whole run, shared by the pytest-xdist workers (a lock file makes the others wait);
- ``report_world`` (module): a ``ReportWorld``, the module's own copy (SQLite's backup) with its
  clock set back to the simulation's end (``restart_clock``), the demo organisations' admin
  tokens (``tokens``: organisation name -> token) and the simulation's summary.

Simulating the month takes some tens of seconds, once per run.
"""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from groundshare.store import create_engine_for, make_session_factory, session_scope
from groundshare.timeutil import parse_utc

from .commands import cli
from .dashboard import ORG_A, ORG_B, restart_clock

#: The simulated span and its seed.
REPORT_DAYS = 30.0
REPORT_SEED = 0
#: The demo's organisations most tests read (KARI, AEM), as ``tests.support.dashboard`` names them.
KARI, AEM = ORG_A, ORG_B
DATABASE = "report-world.db"


@dataclass
class ReportWorld:
    """A copy of the simulated demo network: its SQLite URL, the organisations' admin tokens, what was simulated."""

    folder: Path
    tokens: dict[str, str]
    simulation: dict[str, Any]  # SimulationReport.to_dict(): start, end, contacts_completed, failures, ...
    _engine: Engine | None = field(default=None, repr=False)

    @property
    def path(self) -> Path:
        return self.folder / DATABASE

    @property
    def url(self) -> str:
        return f"sqlite:///{self.path}"

    @property
    def start(self) -> datetime:
        """Where the simulation began (the network's clock then)."""
        return parse_utc(self.simulation["start"], "start")

    @property
    def end(self) -> datetime:
        """Where it ended: the network's clock now (booked contacts run one day past it)."""
        return parse_utc(self.simulation["end"], "end")

    @property
    def factory(self) -> sessionmaker[Session]:
        """A session factory on the copy (one engine per world, disposed by ``close``)."""
        if self._engine is None:
            self._engine = create_engine_for(self.url)
        return make_session_factory(self._engine)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """One unit of work on the copy, committed at the end."""
        with session_scope(self.factory) as session:
            yield session

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None


def simulate_world(folder: Path) -> tuple[dict[str, str], dict[str, Any]]:
    """Load the demo network into ``folder`` and simulate ``REPORT_DAYS`` of it; return the tokens and summary."""
    from groundshare.store.demo_sim import simulate

    url = f"sqlite:///{folder / DATABASE}"
    cli("db", "upgrade", database_url=url)
    tokens = dict(line.split("\t") for line in cli("demo", "load", "--tokens-file", str(folder / "tokens.toml"),
                                                    database_url=url).splitlines())
    engine = create_engine_for(url)
    try:
        report = simulate(make_session_factory(engine), days=REPORT_DAYS, seed=REPORT_SEED)
    finally:
        engine.dispose()
    return tokens, report.to_dict()


def shared_report_world(shared: Path, folder: Path) -> ReportWorld:
    """Copy into ``folder`` the simulated month made once in ``shared`` (by whichever test process comes first)."""
    shared.mkdir(parents=True, exist_ok=True)
    folder.mkdir(parents=True, exist_ok=True)
    with (shared / "lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        made = shared / "world.json"
        if not made.exists():
            tokens, simulation = simulate_world(shared)
            made.write_text(json.dumps({"tokens": tokens, "simulation": simulation}), encoding="utf-8")
        world = json.loads(made.read_text(encoding="utf-8"))
        with closing(sqlite3.connect(shared / DATABASE)) as source, \
                closing(sqlite3.connect(folder / DATABASE)) as copy:
            source.backup(copy)
    restart_clock(f"sqlite:///{folder / DATABASE}")
    return ReportWorld(folder=folder, tokens=world["tokens"], simulation=world["simulation"])


@pytest.fixture(scope="session")
def report_world_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the month is simulated once for this test run, shared by the pytest-xdist workers of the run."""
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID")
    if run is None:  # one process: its own temporary folder
        return tmp_path_factory.mktemp("report-world-template")
    return tmp_path_factory.getbasetemp().parent / f"report-world-{run}"


@pytest.fixture(scope="module")
def report_world(tmp_path_factory: pytest.TempPathFactory, report_world_template: Path) -> Iterator[ReportWorld]:
    """The simulated month for one test module, from its own copy (its changes reach no other module's)."""
    world = shared_report_world(report_world_template, tmp_path_factory.mktemp("report-world"))
    try:
        yield world
    finally:
        world.close()
