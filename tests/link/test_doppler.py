"""Doppler along real passes: range rate against range, shift against Skyfield."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest

from groundshare.link.doppler import doppler_shift_hz, received_frequency_hz, uplink_frequency_hz
from groundshare.orbits.propagate import propagate_pairs_itrs
from groundshare.passes import find_passes
from groundshare.passes.look import topocentric
from groundshare.passes.site import sites_to_arrays
from groundshare.passes.track import sample_passes
from groundshare.units import DAY_S
from tests.support.shipped import CUBESAT_START, DAEJEON

one_mm_s_km_s = 1e-6
one_hertz = 1.0
uhf_hz = 437e6


@pytest.fixture(scope="module")
def tracks(cubesats):
    elements = cubesats[:12]
    table = find_passes(elements, [DAEJEON], start=CUBESAT_START, duration_s=DAY_S, workers=1)
    return elements, table, sample_passes(table, elements, [DAEJEON], step_s=5.0)


def _exact_range_km(element_set, t_s):
    _, re, ve = propagate_pairs_itrs([element_set.to_satrec()], np.zeros(t_s.size, dtype=int), CUBESAT_START, t_s)
    return topocentric(re, ve, sites_to_arrays([DAEJEON]), np.zeros(t_s.size, dtype=int))[3]


def test_range_rate_is_the_derivative_of_range(tracks):
    elements, table, track = tracks
    rows = np.arange(0, len(track), 97)
    t_s = (track.time[rows] - np.datetime64(CUBESAT_START.replace(tzinfo=None), "us")) / np.timedelta64(1, "s")
    sat = table.sat_index[track.pass_index[rows]]
    half_step_s = 0.01
    for i, row in enumerate(rows):
        e = elements[int(sat[i])]
        r_minus, r_plus = _exact_range_km(e, np.array([t_s[i] - half_step_s, t_s[i] + half_step_s]))
        assert abs((r_plus - r_minus) / (2 * half_step_s) - track.range_rate_km_s[row]) < one_mm_s_km_s


def test_doppler_matches_skyfield_within_one_hertz(tracks, ts):
    from skyfield.api import EarthSatellite, wgs84

    elements, table, track = tracks
    topos = wgs84.latlon(DAEJEON.lat_deg, DAEJEON.lon_deg, elevation_m=DAEJEON.alt_m)
    checked = 0
    for p_index in range(0, len(table), 3):
        rows = track.of_pass(p_index)
        e = elements[int(table.sat_index[p_index])]
        sat = EarthSatellite(e.line1, e.line2, e.name, ts)
        times = ts.from_datetimes([table[p_index].aos + timedelta(seconds=float(x)) for x in track.offset_s[rows]])
        sky_rate_km_s = (sat - topos).at(times).frame_latlon_and_rates(topos)[5].km_per_s
        ours = doppler_shift_hz(uhf_hz, track.range_rate_km_s[rows])
        theirs = doppler_shift_hz(uhf_hz, sky_rate_km_s)
        assert np.abs(ours - theirs).max() < one_hertz
        checked += rows.stop - rows.start
    assert checked > 100


def test_doppler_signs_and_rate(tracks):
    _, table, track = tracks
    rows = track.of_pass(int(np.argmax(table.max_elevation_deg)))
    shift = doppler_shift_hz(uhf_hz, track.range_rate_km_s[rows])
    assert shift[0] > 8_000.0 and shift[-1] < -8_000.0        # approaching: heard high; receding: low
    assert np.all(received_frequency_hz(uhf_hz, track.range_rate_km_s[rows]) - uhf_hz == pytest.approx(shift))
    assert np.all(uplink_frequency_hz(uhf_hz, track.range_rate_km_s[rows]) - uhf_hz == pytest.approx(-shift))
    # The steepest Doppler slope of a high LEO pass is at culmination, of order 100 Hz/s at UHF.
    slope_hz_s = -uhf_hz * track.range_accel_km_s2[rows] * 1000.0 / 299_792_458.0
    assert -300.0 < slope_hz_s.min() < -30.0
