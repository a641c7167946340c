"""Real Hamlib daemons for the agent tests: ``rotctld -m 1`` and ``rigctld -m 1`` on loopback.

See ``tests/support/hamlib.py``: without the binaries the tests are skipped with the
reason, except in CI, where they fail.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.hamlib import Daemon, daemon


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
