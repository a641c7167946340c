"""Shared fixtures for the pass engine: shipped element sets, stations, Skyfield."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from groundshare.data import data_path
from groundshare.orbits import ElementCatalog, load_elements
from groundshare.passes import Site

# The cubesat snapshot's epochs run to 2025-11-06 08:12 UTC; a window just after stays near them.
CUBESAT_START = datetime(2025, 11, 7, tzinfo=UTC)
ACTIVE_START = datetime(2026, 3, 19, tzinfo=UTC)


@pytest.fixture(scope="session")
def cubesats() -> ElementCatalog:
    return load_elements(data_path("celestrak_cubesat_2025-11-06.tle"))


@pytest.fixture(scope="session")
def active() -> ElementCatalog:
    return load_elements(data_path("celestrak_active_2026-03-19.tle"))


@pytest.fixture(scope="session")
def ts():
    skyfield_api = pytest.importorskip("skyfield.api")
    return skyfield_api.load.timescale(builtin=True)


DAEJEON = Site("daejeon", lat_deg=36.3725, lon_deg=127.359, alt_m=80.0, min_elevation_deg=5.0)
CORDOBA = Site("cordoba", lat_deg=-31.52, lon_deg=-64.46, alt_m=730.0)
MEXICO_MASKED = Site("mexico-city", lat_deg=19.43, lon_deg=-99.13, alt_m=2240.0, min_elevation_deg=3.0,
                     horizon_mask=[(0.0, 4.0), (60.0, 10.0), (110.0, 18.0), (150.0, 9.0), (250.0, 6.0)])
