"""The two kernels of the pass search, numba and numpy, give the same tables.

Both do the same arithmetic in the same order (``passes.kernel``); what can differ is the
last bit of ``sin``/``cos`` from another maths library, which moves a converged event by
far less than a nanosecond.  Event times are stored to the microsecond, so a time that
falls on a rounding boundary may differ by one microsecond: that is the tolerance here.
Angles are held to 1e-9 deg (the differences seen are about 1e-11 deg).
"""

from __future__ import annotations

import sys
import types
from datetime import timedelta

import numpy as np
import pytest

import groundshare.passes
from groundshare.errors import InvalidInputError
from groundshare.orbits import ElementSet
from groundshare.passes import Site, find_passes
from groundshare.passes import kernel as kernel_module
from groundshare.passes.kernel import KERNEL_ENV, NumbaKernel, NumpyKernel, pass_kernel
from groundshare.units import DAY_S, HOUR_S
from tests.support.shipped import CORDOBA, CUBESAT_START, DAEJEON, MEXICO_MASKED

one_microsecond = np.timedelta64(1, "us")
angle_tolerance_deg = 1e-9
SVALBARD = Site("svalbard", lat_deg=78.23, lon_deg=15.39, alt_m=500.0, min_elevation_deg=5.0)
# A station that takes everything above -2 deg: negative thresholds skip the screen.
LOW = Site("low-horizon", lat_deg=-23.76, lon_deg=133.88, alt_m=550.0, min_elevation_deg=-2.0)


def _failing(base: ElementSet) -> list[ElementSet]:
    """Return two element sets SGP4 fails on inside the window (as in test_search)."""
    common = {"epoch": base.epoch, "inclination_deg": 51.6, "raan_deg": 10.0, "arg_perigee_deg": 0.0,
              "mean_anomaly_deg": 0.0}
    return [ElementSet(norad_id=99001, name="DECAYING", mean_motion_rev_day=16.3, eccentricity=0.0005,
                       bstar=0.002, **common),
            ElementSet(norad_id=99002, name="BURIED", mean_motion_rev_day=15.5, eccentricity=0.08,
                       bstar=0.0001, **common)]


def _both_ways(monkeypatch, elements, sites, **kwargs):
    tables = {}
    for name in ("numpy", "numba"):
        monkeypatch.setenv(KERNEL_ENV, name)
        assert pass_kernel().name == name
        tables[name] = find_passes(elements, sites, workers=1, **kwargs)
    return tables["numpy"], tables["numba"]


def _assert_same(a, b) -> None:
    assert len(a) == len(b) and a.warnings == b.warnings
    for name in ("sat_index", "site_index", "clipped_aos", "clipped_los"):
        np.testing.assert_array_equal(a.columns[name], b.columns[name], err_msg=name)
    for name in ("aos", "tca", "los"):
        assert np.abs(a.columns[name] - b.columns[name]).max() <= one_microsecond, name
    np.testing.assert_allclose(a.max_elevation_deg, b.max_elevation_deg, rtol=0, atol=angle_tolerance_deg)
    for name in ("aos_azimuth_deg", "tca_azimuth_deg", "los_azimuth_deg"):
        turn = (a.columns[name] - b.columns[name] + 180.0) % 360.0 - 180.0
        assert np.abs(turn).max() <= angle_tolerance_deg, name


def test_numba_and_numpy_give_the_same_passes(monkeypatch, cubesats, active):
    """Shipped CubeSats, a geostationary satellite and two SGP4 failures over five stations (one masked)."""
    elements = [*cubesats[::3], active.by_norad_id(25924), *_failing(cubesats[0])]
    sites = [DAEJEON, CORDOBA, MEXICO_MASKED, SVALBARD, LOW]
    # The window starts and ends inside passes: some are clipped at both edges.
    start = CUBESAT_START + timedelta(minutes=17, seconds=3.25)
    a, b = _both_ways(monkeypatch, elements, sites, start=start, duration_s=2 * DAY_S)
    _assert_same(a, b)
    assert len(a) > 1500 and len(a.warnings) == 2
    assert a.clipped_aos.sum() >= 3 and a.clipped_los.sum() >= 3
    assert len(a.for_station("mexico-city")) > 100
    geo = a.for_satellite(25924)
    assert len(geo) >= 1 and geo.clipped_aos.all() and geo.clipped_los.all(), "in view throughout"
    assert (a.duration_s < 60.0).sum() >= 5, "short passes"


def test_short_passes_the_same_both_ways(monkeypatch, cubesats):
    """Above 60 deg many passes last under a grid step: the hidden-pass search, both ways."""
    high = [s.with_min_elevation(60.0) for s in (DAEJEON, CORDOBA)]
    a, b = _both_ways(monkeypatch, cubesats[:30], high, start=CUBESAT_START, duration_s=6 * HOUR_S)
    _assert_same(a, b)
    assert (a.duration_s < 120.0).sum() > 2


def test_the_environment_picks_the_kernel(monkeypatch, cubesats):
    monkeypatch.setenv(KERNEL_ENV, "numpy")
    assert isinstance(pass_kernel(), NumpyKernel)
    monkeypatch.setenv(KERNEL_ENV, " NUMBA ")
    assert isinstance(pass_kernel(), NumbaKernel)
    monkeypatch.delenv(KERNEL_ENV)
    assert pass_kernel().name == "numba"          # installed here (the test extra holds the fast extra)
    monkeypatch.setenv(KERNEL_ENV, "fortran")
    with pytest.raises(InvalidInputError, match=r"GROUNDSHARE_PASS_KERNEL is 'fortran'; expected one of auto, "
                                                r"numba, numpy"):
        pass_kernel()
    with pytest.raises(InvalidInputError, match="GROUNDSHARE_PASS_KERNEL is 'fortran'"):
        find_passes(cubesats[:1], [DAEJEON], start=CUBESAT_START, duration_s=HOUR_S, workers=1)


def test_without_numba_auto_falls_back_to_numpy_and_numba_is_refused(monkeypatch):
    monkeypatch.setitem(sys.modules, "numba", None)            # as if numba were not installed
    monkeypatch.delitem(sys.modules, "groundshare.passes.compiled", raising=False)
    monkeypatch.delattr(groundshare.passes, "compiled", raising=False)
    kernel_module._kernel.cache_clear()
    try:
        monkeypatch.setenv(KERNEL_ENV, "auto")
        assert isinstance(pass_kernel(), NumpyKernel)
        monkeypatch.setenv(KERNEL_ENV, "numba")
        with pytest.raises(InvalidInputError, match=r"GROUNDSHARE_PASS_KERNEL=numba but numba is not installed: "
                                                    r"pip install 'groundshare\[fast\]'"):
            pass_kernel()
    finally:
        kernel_module._kernel.cache_clear()


def test_numba_that_cannot_cache_falls_back_with_a_warning(monkeypatch):
    """numba refuses ``cache=True`` where no folder is writable: auto warns and runs numpy."""
    def njit(**_options):
        raise RuntimeError("cannot cache function: no locator available")

    monkeypatch.setitem(sys.modules, "numba", types.SimpleNamespace(njit=njit))
    monkeypatch.delitem(sys.modules, "groundshare.passes.compiled", raising=False)
    monkeypatch.delattr(groundshare.passes, "compiled", raising=False)
    kernel_module._kernel.cache_clear()
    try:
        monkeypatch.setenv(KERNEL_ENV, "auto")
        with pytest.warns(RuntimeWarning, match="set NUMBA_CACHE_DIR to a writable folder"):
            assert isinstance(pass_kernel(), NumpyKernel)
        kernel_module._kernel.cache_clear()
        monkeypatch.setenv(KERNEL_ENV, "numba")
        with pytest.raises(InvalidInputError, match=r"numba cannot compile the kernel \(cannot cache function"):
            pass_kernel()
    finally:
        kernel_module._kernel.cache_clear()
