"""Invariants of the pass engine, exactness against SGP4 itself, and edge cases."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from groundshare.errors import InvalidInputError
from groundshare.orbits import ElementSet
from groundshare.orbits.frames import gmst82_rad, teme_to_itrs
from groundshare.passes import Site, find_passes
from groundshare.passes.look import topocentric
from groundshare.passes.site import sites_to_arrays
from groundshare.timeutil import jd_fr
from groundshare.units import DAY_S, HOUR_S
from tests.support.shipped import ACTIVE_START, CORDOBA, CUBESAT_START, DAEJEON, MEXICO_MASKED

ten_milliseconds_s = 0.010


def exact_look(element_set, site, start, t_s):
    """Return sin(el), its rate and azimuth straight from SGP4 (no interpolation)."""
    t_s = np.atleast_1d(np.asarray(t_s, dtype=float))
    jd, fr = jd_fr(start, t_s)
    _, r, v = element_set.to_satrec().sgp4_array(jd, fr)
    theta, theta_dot = gmst82_rad(jd, fr)
    re, ve = teme_to_itrs(r, v, theta, theta_dot)
    sin_el, dsin_el, az, *_ = topocentric(re, ve, sites_to_arrays([site]), np.zeros(t_s.size, dtype=int))
    return sin_el, dsin_el, az


@pytest.fixture(scope="module")
def two_days(cubesats):
    sites = [DAEJEON, CORDOBA, MEXICO_MASKED]
    return sites, find_passes(cubesats, sites, start=CUBESAT_START, duration_s=2 * DAY_S, workers=1)


def test_invariants_hold_for_every_pass(two_days):
    sites, table = two_days
    assert len(table) > 1000
    for column in ("max_elevation_deg", "aos_azimuth_deg", "los_azimuth_deg", "tca_azimuth_deg"):
        assert np.isfinite(table.columns[column]).all()
    assert ((table.aos_azimuth_deg >= 0) & (table.aos_azimuth_deg < 360)).all()
    assert (table.aos <= table.tca).all() and (table.tca <= table.los).all()
    # Without a mask every whole pass culminates strictly inside it; behind a mask the highest
    # visible point may be where the satellite clears or meets the mask.
    whole = table[~table.clipped & (table.site_index < 2)]
    assert (whole.aos < whole.tca).all() and (whole.tca < whole.los).all()
    for site_index, site in enumerate(sites):
        here = table[table.site_index == site_index]
        assert (here.max_elevation_deg > site.min_elevation_deg).all()
    assert (np.diff(table.aos.astype("int64")) >= 0).all(), "sorted by AOS"


def test_elevation_rises_at_aos_and_falls_at_los(two_days, cubesats):
    sites, table = two_days
    for p_index in range(0, len(table), 37):
        p = table[p_index]
        if p.clipped:
            continue
        e = cubesats.by_norad_id(p.norad_id)
        site = sites[[s.name for s in sites].index(p.station)]
        t_aos = (p.aos - CUBESAT_START).total_seconds()
        t_los = (p.los - CUBESAT_START).total_seconds()
        t_tca = (p.tca - CUBESAT_START).total_seconds()
        sin_el, _, _ = exact_look(e, site, CUBESAT_START, [t_aos - 1, t_aos + 1, t_los - 1, t_los + 1,
                                                           t_tca - 5, t_tca, t_tca + 5])
        assert sin_el[0] < sin_el[1], "rising through AOS"
        assert sin_el[2] > sin_el[3], "setting through LOS"
        assert sin_el[5] >= max(sin_el[4], sin_el[6]), "TCA is a maximum"


def test_event_times_are_roots_of_exact_sgp4_to_10_ms(two_days, cubesats):
    sites, table = two_days
    checked = 0
    for site_index, site in enumerate(sites[:2]):          # unmasked: threshold = min elevation
        here = table[(table.site_index == site_index) & ~table.clipped]
        threshold = np.sin(np.radians(site.min_elevation_deg))
        for p in here[::5]:
            e = cubesats.by_norad_id(p.norad_id)
            t = np.array([(x - CUBESAT_START).total_seconds() for x in (p.aos, p.los, p.tca)])
            sin_el, dsin_el, _ = exact_look(e, site, CUBESAT_START, t)
            aos_error_s, los_error_s = (sin_el[:2] - threshold) / dsin_el[:2]
            assert abs(aos_error_s) < ten_milliseconds_s and abs(los_error_s) < ten_milliseconds_s
            # At TCA the elevation rate is zero: its slope gives the time error.
            _, rate_pair, _ = exact_look(e, site, CUBESAT_START, [t[2] - 0.5, t[2] + 0.5])
            assert abs(dsin_el[2] / (rate_pair[1] - rate_pair[0])) < ten_milliseconds_s
            checked += 1
    assert checked > 100


@pytest.mark.slow
def test_short_high_passes_are_all_found(cubesats):
    """Above 60 deg most passes last under two minutes and many fall between grid points."""
    high = [Site(s.name, lat_deg=s.lat_deg, lon_deg=s.lon_deg, alt_m=s.alt_m, min_elevation_deg=60.0)
            for s in (DAEJEON, CORDOBA)]
    elements = cubesats[:40]
    table = find_passes(elements, high, start=CUBESAT_START, duration_s=DAY_S, workers=1)
    t = np.arange(0.0, DAY_S, 1.0)
    brute_force = 0
    for site_index, site in enumerate(high):
        for i, e in enumerate(elements):
            sin_el, _, _ = exact_look(e, site, CUBESAT_START, t)
            above = sin_el > np.sin(np.radians(60.0))
            runs = np.flatnonzero(np.diff(above.astype(int)) == 1)
            ours = table[(table.sat_index == i) & (table.site_index == site_index)]
            assert len(ours) == len(runs), (e.name, site.name)
            for k, p in zip(runs, ours, strict=True):
                assert abs((p.aos - CUBESAT_START).total_seconds() - (k + 0.5)) <= 0.5 + 1e-3
            brute_force += len(runs)
    assert brute_force > 10
    assert (table.duration_s < 120).sum() > 5, "the case needs passes shorter than the grid step"


def test_geostationary_satellite_never_sets_or_never_rises(active):
    abs6 = active.by_norad_id(25924)                       # ABS-6, geostationary near 159 E
    sin_el, _, _ = exact_look(abs6, Site("probe", lat_deg=0.0, lon_deg=159.0, alt_m=0.0), ACTIVE_START, [0.0])
    assert sin_el[0] > 0.9
    under = Site("under", lat_deg=10.0, lon_deg=150.0, alt_m=0.0, min_elevation_deg=5.0)
    opposite = Site("opposite", lat_deg=0.0, lon_deg=-21.0, alt_m=0.0)
    table = find_passes([abs6], [under, opposite], start=ACTIVE_START, duration_s=3 * DAY_S, workers=1)
    assert len(table) == 1
    p = table[0]
    assert p.station == "under" and p.clipped_aos and p.clipped_los
    assert p.aos == ACTIVE_START and p.los == ACTIVE_START + timedelta(days=3)
    assert 60.0 < p.max_elevation_deg < 90.0 and ACTIVE_START <= p.tca <= p.los
    assert table.warnings == []


def test_failing_satellites_are_reported_not_crashed(cubesats):
    base = cubesats[0]
    common = {"epoch": base.epoch, "inclination_deg": 51.6, "raan_deg": 10.0, "arg_perigee_deg": 0.0,
              "mean_anomaly_deg": 0.0}
    # Heavy drag: SGP4's mean eccentricity leaves [0, 1) about 32 h into the window (error 1).
    decaying = ElementSet(norad_id=99001, name="DECAYING", mean_motion_rev_day=16.3, eccentricity=0.0005,
                          bstar=0.002, **common)
    # Perigee below the surface: SGP4 reports the decay (error 6) near every perigee.
    buried = ElementSet(norad_id=99002, name="BURIED", mean_motion_rev_day=15.5, eccentricity=0.08,
                        bstar=0.0001, **common)
    table = find_passes([decaying, buried, base], [DAEJEON, CORDOBA], start=CUBESAT_START,
                        duration_s=3 * DAY_S, workers=1)
    assert len(table.warnings) == 2
    first, second = table.warnings
    assert re.fullmatch(r"NORAD 99001 \(DECAYING\): mean eccentricity is outside the range 0\.0 to 1\.0 "
                        r"\(first at (\S+)Z, from then on\); no passes are reported where SGP4 fails", first)
    assert re.fullmatch(r"NORAD 99002 \(BURIED\): mrt is less than 1\.0 which indicates the satellite has "
                        r"decayed \(first at \S+Z, at \d+ of \d+ grid times\); no passes are reported where "
                        r"SGP4 fails", second)
    # The reported time agrees with SGP4 sampled every minute, to within one grid step (120 s).
    minutes = np.arange(0.0, 3 * DAY_S, 60.0)
    error, _, _ = decaying.to_satrec().sgp4_array(*jd_fr(CUBESAT_START, minutes))
    first_failure = CUBESAT_START + timedelta(seconds=minutes[np.argmax(error != 0)])
    reported = datetime.fromisoformat(re.search(r"first at (\S+)Z", first).group(1)).replace(tzinfo=UTC)
    assert timedelta(0) <= first_failure - reported <= timedelta(seconds=120)
    assert np.isfinite(table.max_elevation_deg).all()
    decaying_passes = table.for_satellite(99001)
    assert len(decaying_passes) > 2
    assert decaying_passes.los.max() <= np.datetime64(first_failure.replace(tzinfo=None))
    assert len(table.for_satellite(base.norad_id)) > 5


def test_pass_in_progress_at_the_start_is_clipped(cubesats):
    first = find_passes(cubesats[:10], [DAEJEON], start=CUBESAT_START, duration_s=DAY_S, workers=1)
    whole = first[~first.clipped][0]
    restart = whole.tca.replace(microsecond=0)
    again = find_passes(cubesats[:10], [DAEJEON], start=restart, duration_s=HOUR_S, workers=1)
    same = again.for_satellite(whole.norad_id)[0]
    assert same.clipped_aos and not same.clipped_los and same.aos == restart
    assert abs((same.los - whole.los).total_seconds()) < 1e-3
    end_cut = find_passes(cubesats[:10], [DAEJEON], start=CUBESAT_START,
                          duration_s=(restart - CUBESAT_START).total_seconds(), workers=1)
    cut = end_cut.for_satellite(whole.norad_id)[-1]
    assert cut.clipped_los and cut.los == restart and abs((cut.aos - whole.aos).total_seconds()) < 1e-3


def test_workers_and_chunks_do_not_change_the_answer(cubesats):
    kwargs = {"start": CUBESAT_START, "duration_s": 43_200.0}
    sites = [DAEJEON, MEXICO_MASKED]
    one = find_passes(cubesats, sites, workers=1, **kwargs)
    many = find_passes(cubesats, sites, workers=2, max_bytes=2**20, **kwargs)
    assert len(one) == len(many)
    for name in ("sat_index", "site_index", "aos", "tca", "los"):
        assert np.array_equal(one.columns[name], many.columns[name]), name


def test_min_elevation_override_applies_to_every_site(cubesats):
    low = find_passes(cubesats[:20], [DAEJEON, CORDOBA], start=CUBESAT_START, duration_s=DAY_S, workers=1)
    high = find_passes(cubesats[:20], [DAEJEON, CORDOBA], start=CUBESAT_START, duration_s=DAY_S,
                       min_elevation_deg=20.0, workers=1)
    assert 0 < len(high) < len(low)
    assert (high.max_elevation_deg > 20.0).all()


def test_progress_reports_every_satellite(cubesats):
    seen = []
    find_passes(cubesats[:30], [DAEJEON], start=CUBESAT_START, duration_s=HOUR_S, workers=1,
                progress=lambda done, total: seen.append((done, total)))
    assert seen[-1] == (30, 30)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"start": datetime(2025, 11, 7)},
         "start has no timezone (2025-11-07T00:00:00); groundshare works in UTC."),
        ({"duration_s": 0.0}, "duration_s is 0.0; expected seconds in (0, 3.456e+07]"),
        ({"duration_s": float("nan")}, "duration_s is nan; expected seconds in (0, 3.456e+07]"),
        ({"sites": []}, "no stations given; pass at least one Site"),
        ({"elements": []}, "no element sets given; load some with load_elements()"),
        ({"elements": ["1 25544U"]}, "elements must be ElementSet objects, got str"),
        ({"sites": [DAEJEON, DAEJEON]}, "station names must be unique; repeated: daejeon"),
    ],
)
def test_bad_arguments_are_named(cubesats, kwargs, message):
    call = {"elements": cubesats[:2], "sites": [DAEJEON], "start": CUBESAT_START, "duration_s": 600.0}
    call.update(kwargs)
    elements, sites = call.pop("elements"), call.pop("sites")
    with pytest.raises(InvalidInputError) as info:
        find_passes(elements, sites, **call)
    assert str(info.value).startswith(message)


def test_table_views_and_exports(two_days):
    _, table = two_days
    assert isinstance(table[0].aos, datetime) and table[0].aos.tzinfo == UTC
    assert table[-1].aos == max(p.aos for p in table[-5:])
    sub = table[table.max_elevation_deg > 45.0]
    assert 0 < len(sub) < len(table) and (sub.max_elevation_deg > 45.0).all()
    assert len(table[:3]) == 3
    assert set(table.for_station("cordoba").site_index) == {1}
    records = json.loads(table[:5].to_json())
    assert list(records[0]) == ["norad_id", "name", "station", "aos", "tca", "los", "max_elevation_deg",
                                "aos_azimuth_deg", "los_azimuth_deg", "duration_s", "clipped"]
    for key in ("aos", "tca", "los"):
        assert records[0][key].endswith("Z") and len(records[0][key]) == len("2025-11-07T00:00:00.000Z")
    csv_lines = table[:5].to_csv().splitlines()
    assert csv_lines[0] == "norad_id,name,station,aos,tca,los,max_elevation_deg,aos_azimuth_deg," \
                           "los_azimuth_deg,duration_s,clipped"
    assert len(csv_lines) == 6
    with pytest.raises(IndexError):
        table[len(table)]
