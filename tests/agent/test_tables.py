"""Pointing and Doppler tables against Skyfield, and azimuth-path planning on synthetic and real passes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from groundshare.agent.hamlib import RotatorLimits
from groundshare.agent.tables import (
    DEFAULT_AZ_RATE_DEG_S,
    DEFAULT_EL_RATE_DEG_S,
    PRE_POSITION_MARGIN_S,
    AzimuthPath,
    PointingTable,
    plan_azimuth_path,
    pointing_table,
    pre_position_lead_s,
    slew_time_s,
)
from groundshare.errors import InvalidInputError
from groundshare.orbits import ElementCatalog, ElementSet
from groundshare.passes import Pass, Site, find_passes
from groundshare.units import DAY_S

# The cubesat snapshot's epochs run to 2025-11-06 08:12 UTC; a day just after stays near them.
CUBESAT_START = datetime(2025, 11, 7, tzinfo=UTC)
DAEJEON = Site("daejeon", lat_deg=36.3725, lon_deg=127.359, alt_m=80.0, min_elevation_deg=5.0)
NOMINAL_DOWNLINK_HZ = 437_500_000.0
NOMINAL_UPLINK_HZ = 145_900_000.0

look_angle_tolerance_deg = 0.05
one_hertz = 1.0

ROTATOR_540 = RotatorLimits(-180.0, 540.0, 0.0, 90.0)
ROTATOR_360 = RotatorLimits(0.0, 360.0, 0.0, 90.0)
ROTATOR_FLIP = RotatorLimits(0.0, 360.0, 0.0, 180.0)
ROTATOR_180 = RotatorLimits(-180.0, 180.0, 0.0, 90.0)
ROTATOR_450 = RotatorLimits(0.0, 450.0, 0.0, 90.0)


@pytest.fixture(scope="module")
def daejeon_passes(cubesats: ElementCatalog) -> list[tuple[ElementSet, Pass]]:
    """The unclipped passes of the first 20 cubesats over Daejeon on 2025-11-07, in AOS order."""
    elements = list(cubesats)[:20]
    table = find_passes(elements, [DAEJEON], start=CUBESAT_START, duration_s=DAY_S, workers=1)
    return [(elements[int(table.sat_index[i])], p) for i, p in enumerate(table) if not p.clipped]


def _table(element_set: ElementSet, p: Pass) -> PointingTable:
    return pointing_table(element_set, DAEJEON, p.aos, p.los, downlink_hz=NOMINAL_DOWNLINK_HZ,
                          uplink_hz=NOMINAL_UPLINK_HZ)


def _crosses_north(table: PointingTable) -> bool:
    return bool(np.any(np.abs(np.diff(table.az_deg)) > 180.0))


@pytest.fixture(scope="module")
def north_pass(daejeon_passes: list[tuple[ElementSet, Pass]]) -> PointingTable:
    """NORAD 39270 at 06:50 UTC: rises at az 356, crosses north at once, sets at 164 deg; max 66 deg."""
    element_set, p = next((e, p) for e, p in daejeon_passes if e.norad_id == 39270 and p.max_elevation_deg > 60.0)
    table = _table(element_set, p)
    assert _crosses_north(table) and 355.0 < table.az_deg[0] < 357.0 and 163.0 < table.az_deg[-1] < 165.0
    return table


@pytest.fixture(scope="module")
def overhead_pass(daejeon_passes: list[tuple[ElementSet, Pass]]) -> PointingTable:
    """The first pass above 85 deg (NORAD 35932 at 14:42 UTC, max 88.1 deg)."""
    element_set, p = next((e, p) for e, p in daejeon_passes if p.max_elevation_deg > 85.0)
    return _table(element_set, p)


def _assert_inside(path: AzimuthPath, limits: RotatorLimits) -> None:
    assert np.all(limits.contains(path.az_cmd_deg, path.el_cmd_deg))


def _max_step_deg(path: AzimuthPath) -> float:
    return float(np.abs(np.diff(path.az_cmd_deg)).max())


# -- pointing_table --------------------------------------------------------------------------


def test_pointing_table_against_skyfield(ts, cubesats: ElementCatalog,
                                         daejeon_passes: list[tuple[ElementSet, Pass]]) -> None:
    from skyfield.api import EarthSatellite, wgs84

    element_set, p = next((e, p) for e, p in daejeon_passes if p.max_elevation_deg > 40.0)
    table = _table(element_set, p)
    sat = EarthSatellite(element_set.line1, element_set.line2, element_set.name, ts)
    topos = wgs84.latlon(DAEJEON.lat_deg, DAEJEON.lon_deg, elevation_m=DAEJEON.alt_m)
    times = ts.from_datetimes([table.time_at(i) for i in range(len(table))])
    alt, az, distance = (sat - topos).at(times).altaz()
    assert np.abs(table.el_deg - alt.degrees).max() < look_angle_tolerance_deg
    # Azimuth differences shrink by cos(el) on the sky; compare them where that is not tiny.
    daz = (table.az_deg - az.degrees + 180.0) % 360.0 - 180.0
    low = table.el_deg < 80.0
    assert np.abs(daz[low]).max() < look_angle_tolerance_deg
    assert np.abs(table.range_km - distance.km).max() < 0.1


def test_pointing_table_samples_and_doppler(north_pass: PointingTable) -> None:
    table = north_pass
    duration_s = table.offset_s[-1]
    assert len(table) == int(np.ceil(duration_s)) + 1
    assert table.offset_s[0] == 0.0 and np.all(np.diff(table.offset_s) <= 1.0)
    assert table.time_at(1) - table.time_at(0) == timedelta(seconds=1)
    assert table.start.tzinfo == UTC and not table.notes
    # Approaching at AOS: heard high; receding at LOS: heard low.  The uplink is the mirror.
    assert table.downlink_hz[0] > NOMINAL_DOWNLINK_HZ > table.downlink_hz[-1]
    assert table.uplink_hz[0] < NOMINAL_UPLINK_HZ < table.uplink_hz[-1]
    down_shift = table.downlink_hz - NOMINAL_DOWNLINK_HZ
    up_shift = table.uplink_hz - NOMINAL_UPLINK_HZ
    np.testing.assert_allclose(up_shift, -down_shift * NOMINAL_UPLINK_HZ / NOMINAL_DOWNLINK_HZ, atol=one_hertz)
    # 437.5 MHz in LEO: a shift of up to about 10 kHz.
    assert 5_000.0 < np.abs(down_shift).max() < 12_000.0


def test_pointing_table_window_and_errors(cubesats: ElementCatalog) -> None:
    start = CUBESAT_START
    table = pointing_table(cubesats[0], DAEJEON, start, start + timedelta(seconds=10.5), step_s=2.0)
    assert table.offset_s.tolist() == [0.0, 2.0, 4.0, 6.0, 8.0, 10.0, 10.5]
    assert table.downlink_hz is None and table.uplink_hz is None
    assert table.time_at(6) == start + timedelta(seconds=10.5)
    with pytest.raises(InvalidInputError, match=r"^start has no timezone"):
        pointing_table(cubesats[0], DAEJEON, start.replace(tzinfo=None), start + timedelta(seconds=10))
    with pytest.raises(InvalidInputError, match="is not after start"):
        pointing_table(cubesats[0], DAEJEON, start, start)
    with pytest.raises(InvalidInputError, match=r"^step_s is 0"):
        pointing_table(cubesats[0], DAEJEON, start, start + timedelta(seconds=10), step_s=0)


# -- plan_azimuth_path, synthetic ------------------------------------------------------------

# A low pass crossing north: azimuth 350 -> 10 deg, up to 40 deg.
NORTH_AZ_DEG = np.linspace(350.0, 370.0, 21) % 360.0
NORTH_EL_DEG = np.concatenate([np.linspace(5.0, 40.0, 11), np.linspace(36.5, 5.0, 10)])


def test_north_crossing_on_a_wide_rotator_stays_continuous() -> None:
    path = plan_azimuth_path(NORTH_AZ_DEG, NORTH_EL_DEG, ROTATOR_540)
    assert not path.flipped and not path.crosses_stop and path.note == ""
    np.testing.assert_allclose(path.az_cmd_deg, np.linspace(350.0, 370.0, 21))
    np.testing.assert_allclose(path.el_cmd_deg, NORTH_EL_DEG)
    _assert_inside(path, ROTATOR_540)
    # -180..180 and 0..450 also hold it continuously, in their own frames.
    np.testing.assert_allclose(plan_azimuth_path(NORTH_AZ_DEG, NORTH_EL_DEG, ROTATOR_180).az_cmd_deg,
                               np.linspace(-10.0, 10.0, 21))
    np.testing.assert_allclose(plan_azimuth_path(NORTH_AZ_DEG, NORTH_EL_DEG, ROTATOR_450).az_cmd_deg,
                               np.linspace(350.0, 370.0, 21))


def test_north_crossing_on_a_360_rotator_must_unwind() -> None:
    path = plan_azimuth_path(NORTH_AZ_DEG, NORTH_EL_DEG, ROTATOR_360, offset_s=np.arange(21.0))
    assert path.crosses_stop and not path.flipped
    _assert_inside(path, ROTATOR_360)
    # The higher part (the first half, up to 40 deg) is followed continuously: 350 -> 360.
    np.testing.assert_allclose(path.az_cmd_deg[:11], np.linspace(350.0, 360.0, 11))
    np.testing.assert_allclose(path.az_cmd_deg[11:], np.linspace(1.0, 10.0, 10))
    assert path.note == (
        "the pass spans azimuths the rotator's 0..360 deg travel cannot follow continuously and it cannot flip; "
        "the antenna must unwind at sample 11 (+11 s): az 360.0 -> 1.0 deg, losing the signal while it turns")


def test_north_crossing_on_a_flip_rotator_flips() -> None:
    path = plan_azimuth_path(NORTH_AZ_DEG, NORTH_EL_DEG, ROTATOR_FLIP)
    assert path.flipped and not path.crosses_stop and path.note == "flip mode"
    np.testing.assert_allclose(path.az_cmd_deg, np.linspace(170.0, 190.0, 21))
    np.testing.assert_allclose(path.el_cmd_deg, 180.0 - NORTH_EL_DEG)
    _assert_inside(path, ROTATOR_FLIP)


def test_southern_pass_needs_nothing() -> None:
    az = np.linspace(100.0, 250.0, 31)
    el = 5.0 + 60.0 * np.sin(np.linspace(0.0, np.pi, 31))
    for limits in (ROTATOR_360, ROTATOR_540, ROTATOR_FLIP, ROTATOR_450):
        path = plan_azimuth_path(az, el, limits)
        assert not path.flipped and not path.crosses_stop
        np.testing.assert_allclose(path.az_cmd_deg, az)
    # On -180..180 the pass crosses the stop at 180 (south) and is shifted by -360 only where that fits.
    path = plan_azimuth_path(az, el, ROTATOR_180)
    assert path.crosses_stop and "unwind" in path.note
    _assert_inside(path, ROTATOR_180)


def test_elevation_commands_are_clipped() -> None:
    az = np.array([90.0, 100.0, 110.0])
    el = np.array([-0.5, 30.0, -0.2])          # a window a little wider than the pass
    path = plan_azimuth_path(az, el, ROTATOR_360)
    assert path.el_cmd_deg.tolist() == [0.0, 30.0, 0.0]
    flip = plan_azimuth_path(np.array([350.0, 0.0, 10.0]), el, ROTATOR_FLIP)
    assert flip.flipped and flip.el_cmd_deg.tolist() == [180.0, 150.0, 180.0]


# -- plan_azimuth_path, real passes ----------------------------------------------------------


@pytest.mark.parametrize(("limits", "outcome"), [
    (ROTATOR_540, "continuous"),      # 356 -> 524 deg fits -180..540 as it is
    (ROTATOR_180, "continuous"),      # -4 -> 164 deg
    (ROTATOR_FLIP, "flipped"),        # flip mode: 176 -> 344 deg
    (ROTATOR_360, "unwind"),
    (ROTATOR_450, "unwind"),          # 356 -> 524 is past 450, -4 -> 164 below 0
], ids=["-180..540", "-180..180", "0..360 flip", "0..360", "0..450"])
def test_real_north_crossing_pass(north_pass: PointingTable, limits: RotatorLimits, outcome: str) -> None:
    path = plan_azimuth_path(north_pass.az_deg, north_pass.el_deg, limits, offset_s=north_pass.offset_s)
    _assert_inside(path, limits)
    assert path.az_cmd_deg.shape == north_pass.az_deg.shape
    if outcome == "unwind":
        assert path.crosses_stop and "must unwind at sample" in path.note
        assert _max_step_deg(path) > 180.0
    else:
        assert not path.crosses_stop
        assert path.flipped == (outcome == "flipped")
        assert _max_step_deg(path) < 5.0       # 1 Hz tracking, never a jump
    # Every command points where the satellite is.
    az_true = path.az_cmd_deg - 180.0 * path.flipped
    el_true = 180.0 - path.el_cmd_deg if path.flipped else path.el_cmd_deg
    on_track = ~np.isin(np.arange(len(north_pass)), np.flatnonzero(np.abs(np.diff(path.az_cmd_deg)) > 180) + 1)
    if not path.crosses_stop:
        np.testing.assert_allclose(((az_true - north_pass.az_deg + 180.0) % 360.0 - 180.0)[on_track], 0.0, atol=1e-9)
    np.testing.assert_allclose(el_true, np.clip(north_pass.el_deg, 0.0, 90.0), atol=1e-9)


def test_real_overhead_pass_prefers_flip(overhead_pass: PointingTable) -> None:
    # 13 -> 194 deg, max 88 deg: flip mode (193 -> 374 deg) where the travel holds it ...
    wide_flip = RotatorLimits(-180.0, 540.0, 0.0, 180.0)
    path = plan_azimuth_path(overhead_pass.az_deg, overhead_pass.el_deg, wide_flip)
    assert path.flipped and not path.crosses_stop
    _assert_inside(path, wide_flip)
    # ... the plain frame where flip mode would cross the stop (0..360) ...
    path = plan_azimuth_path(overhead_pass.az_deg, overhead_pass.el_deg, ROTATOR_FLIP)
    assert not path.flipped and not path.crosses_stop
    _assert_inside(path, ROTATOR_FLIP)
    # ... and never on a rotator that cannot flip.
    plain = plan_azimuth_path(overhead_pass.az_deg, overhead_pass.el_deg, ROTATOR_540)
    assert not plain.flipped and not plain.crosses_stop
    _assert_inside(plain, ROTATOR_540)


# -- slew times ------------------------------------------------------------------------------


def test_slew_time() -> None:
    # Both axes move at once: the slower axis decides.
    assert slew_time_s(0.0, 0.0, 90.0, 10.0, az_rate_deg_s=6.0, el_rate_deg_s=6.0) == 15.0
    assert slew_time_s(0.0, 0.0, 10.0, 90.0, az_rate_deg_s=6.0, el_rate_deg_s=3.0) == 30.0
    # Commands are not wrapped: 350 -> 370 is 20 deg, 350 -> 10 is 340 deg.
    assert slew_time_s(350.0, 10.0, 370.0, 10.0, az_rate_deg_s=2.0, el_rate_deg_s=1.0) == 10.0
    assert slew_time_s(350.0, 10.0, 10.0, 10.0, az_rate_deg_s=2.0, el_rate_deg_s=1.0) == 170.0
    assert slew_time_s(0.0, 90.0, 180.0, 0.0) == max(180.0 / DEFAULT_AZ_RATE_DEG_S, 90.0 / DEFAULT_EL_RATE_DEG_S)
    with pytest.raises(InvalidInputError, match="must be positive"):
        slew_time_s(0.0, 0.0, 1.0, 1.0, az_rate_deg_s=0.0)


def test_pre_position_lead() -> None:
    path = plan_azimuth_path(NORTH_AZ_DEG, NORTH_EL_DEG, ROTATOR_540)
    lead_s = pre_position_lead_s(80.0, 45.0, path, az_rate_deg_s=6.0, el_rate_deg_s=2.0)
    assert lead_s == max(270.0 / 6.0, 40.0 / 2.0) + PRE_POSITION_MARGIN_S
    assert pre_position_lead_s(350.0, 5.0, path, margin_s=3.0) == 3.0
