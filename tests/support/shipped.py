"""The shipped data the tests run on: element sets, demo stations, window starts and stations near them."""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from pathlib import Path

from groundshare.data import data_path
from groundshare.orbits import ElementCatalog, load_elements
from groundshare.passes import Site

#: 99 CubeSats of CelesTrak's catalogue of 2025-11-06 (epochs to 2025-11-06 08:12 UTC).
CUBESATS = data_path("celestrak_cubesat_2025-11-06.tle")
#: CelesTrak's active catalogue of 2026-03-19.
ACTIVE = data_path("celestrak_active_2026-03-19.tle")
DEMO_STATIONS = data_path("demo_stations.toml")

# The cubesat snapshot's epochs run to 2025-11-06 08:12 UTC; a window just after stays near them.
CUBESAT_START = datetime(2025, 11, 7, tzinfo=UTC)
CUBESAT_START_Z = "2025-11-07T00:00:00Z"  # as the API's time parameters take it
ACTIVE_START = datetime(2026, 3, 19, tzinfo=UTC)

DAEJEON = Site("daejeon", lat_deg=36.3725, lon_deg=127.359, alt_m=80.0, min_elevation_deg=5.0)
CORDOBA = Site("cordoba", lat_deg=-31.52, lon_deg=-64.46, alt_m=730.0)
MEXICO_MASKED = Site("mexico-city", lat_deg=19.43, lon_deg=-99.13, alt_m=2240.0, min_elevation_deg=3.0,
                     horizon_mask=[(0.0, 4.0), (60.0, 10.0), (110.0, 18.0), (150.0, 9.0), (250.0, 6.0)])

# CelesTrak active set of 2026-03-19 (src/groundshare/data/celestrak_active_2026-03-19.tle, line 8152).
NEXUS_TLE = """CUTE
1 49263U 21088D   26078.19307595  .00034398  00000+0  31638-3 0  9995
2 49263  97.4221 170.9320 0003085 268.3088  91.7819 15.67609853248362
"""


@functools.cache
def shipped_catalogue(path: Path) -> ElementCatalog:
    """Return the shipped element file at ``path``, parsed once per test process (the active one has 14,710 sets)."""
    return load_elements(path)
