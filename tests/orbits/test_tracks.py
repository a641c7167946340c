"""orbits.tracks: ragged ground tracks of several satellites around one instant."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from groundshare.data import data_path
from groundshare.orbits import load_elements
from groundshare.orbits.frames import itrs_to_geodetic
from groundshare.orbits.propagate import propagate_pairs_itrs
from groundshare.orbits.tracks import ground_tracks, track_point_counts
from groundshare.units import DAY_S

CUBESATS = data_path("celestrak_cubesat_2025-11-06.tle")
AT = datetime(2025, 11, 7, tzinfo=UTC)
#: CUTE-1.7+APD II (NORAD 32785) decays in SGP4 (error 6) in mid-May 2034, found by bisection with these elements.
DECAYING_NORAD_ID = 32785
NEAR_DECAY = timedelta(days=3112)
ONE_MICRODEGREE = 1e-6
ONE_MILLIMETRE_KM = 1e-6


@pytest.fixture(scope="module")
def elements():
    return load_elements(CUBESATS, on_error="raise").elements[:3]


def test_counts_default_to_one_period_each_side_and_keep_a_whole_last_step():
    n_before, n_after = track_point_counts([6000.0, 5400.0], step_s=60.0)
    assert n_before.tolist() == [100, 90] and n_after.tolist() == [100, 90]
    n_before, n_after = track_point_counts([6000.0, 5400.0], step_s=60.0, before_s=0.0, after_s=119.9)
    assert n_before.tolist() == [0, 0] and n_after.tolist() == [1, 1]
    assert n_before.dtype == np.int64


def test_tracks_are_ragged_rows_per_satellite_around_at(elements):
    tracks = ground_tracks(elements, AT, step_s=60.0)
    n_before, n_after = track_point_counts([e.period_s for e in elements], step_s=60.0)
    assert np.diff(tracks.starts).tolist() == (n_before + n_after + 1).tolist()
    for i in range(len(elements)):
        offsets = tracks.offset_s[tracks.of_satellite(i)]
        assert offsets[0] == -n_before[i] * 60.0 and offsets[-1] == n_after[i] * 60.0
        assert np.all(np.diff(offsets) == 60.0)
        assert tracks.offset_s[tracks.here[i]] == 0.0
    assert tracks.ok.all() and (tracks.error == 0).all()
    assert ((tracks.lon_deg >= -180.0) & (tracks.lon_deg < 180.0)).all()
    assert ((tracks.alt_km > 300.0) & (tracks.alt_km < 2000.0)).all()  # every one a LEO cubesat


def test_each_point_is_the_satellites_geodetic_position_at_its_time(elements):
    tracks = ground_tracks(elements, AT, step_s=300.0, before_s=600.0, after_s=900.0)
    for i, element_set in enumerate(elements):
        rows = tracks.of_satellite(i)
        offsets = tracks.offset_s[rows]
        _, r_km, _ = propagate_pairs_itrs([element_set.to_satrec()], np.zeros(offsets.size, dtype=int), AT, offsets)
        lat_deg, lon_deg, alt_km = itrs_to_geodetic(r_km)
        assert np.abs(tracks.lat_deg[rows] - lat_deg).max() < ONE_MICRODEGREE
        assert np.abs(tracks.lon_deg[rows] - lon_deg).max() < ONE_MICRODEGREE
        assert np.abs(tracks.alt_km[rows] - alt_km).max() < ONE_MILLIMETRE_KM


def test_no_satellites_no_points():
    tracks = ground_tracks([], AT, step_s=60.0)
    assert tracks.starts.tolist() == [0] and tracks.offset_s.size == 0 and tracks.ok.size == 0


def test_sgp4_failures_are_flagged_not_dropped():
    element_set = load_elements(CUBESATS, on_error="raise").by_norad_id(DECAYING_NORAD_ID)
    at = element_set.epoch + NEAR_DECAY
    tracks = ground_tracks([element_set], at, step_s=600.0, before_s=DAY_S, after_s=DAY_S)
    assert tracks.offset_s.size == 289
    assert tracks.ok[tracks.here[0]] and not tracks.ok.all()
    assert set(tracks.error[~tracks.ok].tolist()) == {6}  # decayed
