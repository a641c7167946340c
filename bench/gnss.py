"""GNSS DOP over a day at one-minute steps, GPS + Galileo, one site: best of 3 wall time.

Target: 0.5 s.  Run with ``python bench/gnss.py``; prints n_sats, n_times and seconds.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from groundshare.data import data_path
from groundshare.gnss import dop_series
from groundshare.orbits import load_elements
from groundshare.passes import Site
from groundshare.units import DAY_S

TARGET_S = 0.5


def main() -> None:
    elements = [*load_elements(data_path("celestrak_gps-ops_2026-03-09.tle")),
                *load_elements(data_path("celestrak_galileo_2026-03-09.tle"))]
    site = Site("daejeon", lat_deg=36.37, lon_deg=127.36, alt_m=80.0)
    start = datetime(2026, 3, 9, tzinfo=UTC)
    best = float("inf")
    for _ in range(3):
        began = time.perf_counter()
        series = dop_series(elements, site, start=start, duration_s=DAY_S, step_s=60.0, mask_deg=5.0)
        best = min(best, time.perf_counter() - began)
    print(f"n_sats={len(elements)} n_times={len(series.times)} seconds={best:.3f} "
          f"(target {TARGET_S} s; PDOP<=6 share {series.share_pdop_below(6.0):.3f})")


if __name__ == "__main__":
    main()
