"""Stations and window starts shared by the pass-engine tests (fixtures live in tests/conftest.py)."""

from __future__ import annotations

from datetime import UTC, datetime

from groundshare.passes import Site

# The cubesat snapshot's epochs run to 2025-11-06 08:12 UTC; a window just after stays near them.
CUBESAT_START = datetime(2025, 11, 7, tzinfo=UTC)
ACTIVE_START = datetime(2026, 3, 19, tzinfo=UTC)


DAEJEON = Site("daejeon", lat_deg=36.3725, lon_deg=127.359, alt_m=80.0, min_elevation_deg=5.0)
CORDOBA = Site("cordoba", lat_deg=-31.52, lon_deg=-64.46, alt_m=730.0)
MEXICO_MASKED = Site("mexico-city", lat_deg=19.43, lon_deg=-99.13, alt_m=2240.0, min_elevation_deg=3.0,
                     horizon_mask=[(0.0, 4.0), (60.0, 10.0), (110.0, 18.0), (150.0, 9.0), (250.0, 6.0)])
