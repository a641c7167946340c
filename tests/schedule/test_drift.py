"""Drift: booked windows against the passes of a new element set (kept, drifted, shrunk, vanished, decayed)."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from groundshare.data import data_path
from groundshare.errors import InvalidInputError
from groundshare.orbits import ElementSet, load_elements
from groundshare.passes import Site, find_passes
from groundshare.passes.window import covering_pass
from groundshare.schedule.drift import BookedWindow, DriftKind, check_drift

MUNICH = Site("munich", lat_deg=48.15, lon_deg=11.57, alt_m=520.0, min_elevation_deg=5.0)
SVALBARD = Site("svalbard", lat_deg=78.23, lon_deg=15.39, alt_m=450.0, min_elevation_deg=5.0)


@pytest.fixture(scope="module")
def cute() -> ElementSet:
    return load_elements(data_path("celestrak_cubesat_2025-11-06.tle"))[0]  # CUTE-1, 14.24 rev/day


def moved(elements: ElementSet, mean_anomaly_deg: float) -> ElementSet:
    """Return the orbit with the satellite ``mean_anomaly_deg`` further along (a pass moves ~15.5 s per degree)."""
    return dataclasses.replace(elements, line1=None, line2=None,
                               mean_anomaly_deg=(elements.mean_anomaly_deg + mean_anomaly_deg) % 360.0)


def booked(elements: ElementSet, sites=(MUNICH, SVALBARD), hours: float = 24.0, **kwargs) -> list[BookedWindow]:
    table = find_passes([elements], list(sites), start=elements.epoch + timedelta(hours=2), duration_s=hours * 3600,
                        workers=1)
    by_name = {s.name: s for s in sites}
    return [BookedWindow(k, by_name[p.station], p.aos, p.los, **kwargs) for k, p in enumerate(table)
            if not p.clipped]


def test_the_same_orbit_keeps_every_contact(cute):
    windows = booked(cute)
    assert len(windows) > 10
    drifts = check_drift(windows, cute)
    assert [d.id for d in drifts] == [w.id for w in windows]
    assert {d.kind for d in drifts} == {DriftKind.KEPT}
    for d, w in zip(drifts, windows, strict=True):
        assert abs(d.aos_shift_s) < 0.01 and abs(d.los_shift_s) < 0.01
        assert abs((d.clipped_start - w.start).total_seconds()) < 0.01
        assert abs((d.clipped_end - w.end).total_seconds()) < 0.01
        assert not d.needs_repair


def test_a_pass_moved_past_the_threshold_has_drifted(cute):
    windows = booked(cute)
    later = check_drift(windows, moved(cute, -1.0))  # about 16 s later
    assert {d.kind for d in later} == {DriftKind.DRIFTED}
    for d, w in zip(later, windows, strict=True):
        assert d.aos_shift_s > 10.0 and d.los_shift_s < -10.0  # starts later, ends later
        assert d.clipped_start == d.aos and d.clipped_end == w.end
        assert "outside it (threshold 5 s)" in d.reason
        # the new window is a real pass of the new orbit
        fit = covering_pass(moved(cute, -1.0), w.site, d.aos + timedelta(seconds=0.01),
                            d.los - timedelta(seconds=0.01))
        assert fit.covering is not None


def test_a_move_inside_the_threshold_is_kept_and_the_threshold_is_a_parameter(cute):
    windows = booked(cute)
    drifts = check_drift(windows, moved(cute, -0.2))  # about 3 s
    assert {d.kind for d in drifts} == {DriftKind.KEPT}
    assert max(max(d.aos_shift_s, d.los_shift_s) for d in drifts) > 1.0
    assert {d.kind for d in check_drift(windows, moved(cute, -0.2), threshold_s=1.0)} == {DriftKind.DRIFTED}


def test_a_window_inside_its_pass_is_kept_however_far_the_pass_moved(cute):
    p = max(booked(cute, sites=(MUNICH,)), key=lambda w: w.end - w.start)
    middle = p.start + (p.end - p.start) / 2
    window = dataclasses.replace(p, start=middle - timedelta(seconds=60), end=middle + timedelta(seconds=60))
    drift = check_drift([window], moved(cute, -2.0))[0]  # about 30 s later
    assert drift.kind is DriftKind.KEPT
    assert drift.aos_shift_s < -60.0 and drift.los_shift_s < -60.0


def test_a_pass_shorter_than_the_minimum_has_shrunk(cute):
    windows = booked(cute, sites=(MUNICH,))
    longest = max(w.end - w.start for w in windows).total_seconds()
    drifts = check_drift([dataclasses.replace(w, min_duration_s=longest + 1.0) for w in windows], moved(cute, -1.0))
    assert {d.kind for d in drifts} == {DriftKind.SHRUNK}
    assert "shorter than the contact's minimum" in drifts[0].reason
    # the request's window bounds the usable part
    w = windows[0]
    cut = dataclasses.replace(w, min_duration_s=60.0, not_after=w.start + timedelta(seconds=70))
    assert check_drift([cut], moved(cute, -1.0))[0].kind is DriftKind.SHRUNK  # 70 s less the 16 s shift
    high = dataclasses.replace(w, min_elevation_deg=89.5)
    drift = check_drift([high], moved(cute, -1.0))[0]
    assert drift.kind is DriftKind.SHRUNK and "culminating at" in drift.reason


def test_no_pass_over_the_window_has_vanished(cute):
    windows = booked(cute, sites=(MUNICH,))
    gap = dataclasses.replace(windows[0], start=windows[0].end + timedelta(minutes=30),
                              end=windows[0].end + timedelta(minutes=35))
    drifts = check_drift([windows[0], gap], cute)
    assert [d.kind for d in drifts] == [DriftKind.KEPT, DriftKind.VANISHED]
    assert drifts[1].aos is None and drifts[1].clipped_start is None
    assert "no pass over the station" in drifts[1].reason
    # half an orbit along: the passes are elsewhere
    assert DriftKind.VANISHED in {d.kind for d in check_drift(windows, moved(cute, 180.0))}


def test_a_decaying_orbit_cancels_every_window_after_the_decay(cute):
    falling = dataclasses.replace(cute, line1=None, line2=None, mean_motion_rev_day=16.3, bstar=0.05)
    site = MUNICH
    windows = [BookedWindow(days, site, cute.epoch + timedelta(days=days), cute.epoch + timedelta(days=days, minutes=5))
               for days in (2, 20, 60)]
    drifts = check_drift(windows, falling)
    assert {d.kind for d in drifts} == {DriftKind.DECAYED}
    # SGP4 gives numbers again months later; a decay is for good all the same
    assert all("decayed" in d.reason and "SGP4 error 6" in d.reason for d in drifts)
    assert drifts[2].aos is None


def test_windows_over_a_masked_site_and_ids_of_any_kind(cute):
    masked = Site("masked", lat_deg=48.15, lon_deg=11.57, alt_m=520.0, min_elevation_deg=5.0,
                  horizon_mask=[(0.0, 5.0), (90.0, 25.0), (180.0, 5.0), (270.0, 5.0)])
    windows = booked(cute, sites=(MUNICH, masked))
    windows = [dataclasses.replace(w, id=f"c{w.id}") for w in windows]
    drifts = check_drift(windows, cute)
    assert {d.kind for d in drifts} == {DriftKind.KEPT}
    assert [d.id for d in drifts] == [w.id for w in windows]


def test_bad_input_is_refused_naming_the_field(cute):
    assert check_drift([], cute) == []
    w = booked(cute, sites=(MUNICH,))[0]
    with pytest.raises(InvalidInputError, match=r"window 0: end .* must be after start"):
        check_drift([dataclasses.replace(w, end=w.start)], cute)
    with pytest.raises(InvalidInputError, match="threshold_s"):
        check_drift([w], cute, threshold_s=-1.0)
    with pytest.raises(InvalidInputError, match="start"):
        check_drift([dataclasses.replace(w, start=w.start.replace(tzinfo=None))], cute)
