"""Real parts for the agent tests: Hamlib's ``rotctld -m 1`` and ``rigctld -m 1`` on loopback, Dire Wolf on the air.

See ``tests/support/hamlib.py`` and ``tests/support/direwolf.py``: without the binaries
the tests are skipped with the reason, except in CI, where they fail.  The uplink tests
share a served demo network per module (``uplink_network``) and take a transmitting Dire
Wolf with a second one decoding its audio (``air``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.direwolf import DirewolfTransmitter, KissListener
from tests.support.hamlib import Daemon, daemon
from tests.support.live_uplink import on_the_air
from tests.support.served import ServedApi, serve_demo


@pytest.fixture(scope="module")
def uplink_network(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServedApi, dict[str, str]]]:
    """A served demo network with nothing planned (its tokens by organisation), for one test module."""
    with serve_demo(tmp_path_factory.mktemp("uplink"), plan_days=0) as served:
        yield served


@pytest.fixture
def air(tmp_path: Path) -> Iterator[tuple[DirewolfTransmitter, KissListener]]:
    """A transmitting Dire Wolf, and what a second one decodes of its audio."""
    with on_the_air(tmp_path) as pair:
        yield pair


@pytest.fixture
def rotctld() -> Iterator[Daemon]:
    """A dummy rotator with Hamlib's default travel (az -180..450, el 0..90 in Hamlib 4.5)."""
    with daemon("rotctld") as running:
        yield running


@pytest.fixture
def rotctld_flip() -> Iterator[Daemon]:
    """A dummy rotator configured as a 0..360 azimuth, 0..180 elevation (flip-capable) one."""
    with daemon("rotctld", ["-C", "min_az=0,max_az=360,min_el=0,max_el=180"]) as running:
        yield running


@pytest.fixture
def rigctld() -> Iterator[Daemon]:
    """A dummy radio."""
    with daemon("rigctld") as running:
        yield running
