"""``leop.identify``: which object of a real launch cluster (2026-052, shipped catalogue) is ours."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from groundshare.errors import InvalidInputError
from groundshare.leop.identify import (
    DopplerSeries,
    Receptions,
    check_same_launch,
    identify,
    launch_designator,
    launch_members,
    parse_doppler,
    parse_receptions,
    synthetic_evidence,
)
from groundshare.stations import load_stations
from tests.support.shipped import DEMO_STATIONS

LAUNCH = "2026-052"
TRUTH = "2026-052B"
# The cluster's members drift apart by ~320 km a day; they were closest on 2026-03-16.
DEPLOYED = datetime(2026, 3, 16, 6, tzinfo=UTC)
STATIONS = ("daejeon", "jeju", "mexico-city", "cordoba", "buenos-aires", "natal")


@pytest.fixture(scope="module")
def cluster(active):
    return launch_members(active, LAUNCH)


@pytest.fixture(scope="module")
def sites():
    return load_stations(DEMO_STATIONS)


@pytest.fixture(scope="module")
def truth(cluster):
    return next(e for e in cluster if e.object_id == TRUTH)


@pytest.fixture(scope="module")
def evidence(truth, sites):
    return synthetic_evidence(truth, sites, datetime(2026, 3, 19, 12, tzinfo=UTC), 43_200.0,
                              rng=np.random.default_rng(20))


def test_launch_designator_and_members(active, cluster):
    assert launch_designator("2026-052B") == LAUNCH
    assert launch_designator("1998-067ABC") == "1998-067"
    assert launch_designator("") == ""
    assert sorted(e.object_id for e in cluster) == [f"2026-052{c}" for c in "ABCDEFG"]
    assert check_same_launch(cluster) == LAUNCH
    with pytest.raises(InvalidInputError, match="2026-999"):
        launch_members(active, "2026-999")


def test_candidates_from_another_launch_are_refused_by_name(active, cluster):
    stranger = next(e for e in active if e.object_id.startswith("2026-027"))
    with pytest.raises(InvalidInputError, match=rf"most are from {LAUNCH}.*{stranger.name} \({stranger.norad_id}"):
        check_same_launch([*cluster, stranger])
    with pytest.raises(InvalidInputError, match="--launch"):
        identify([*cluster, stranger], [], Receptions.empty())


def test_parse_receptions_names_bad_lines():
    got = parse_receptions("station,received_at\n# comment\njeju,2026-03-19T12:00:01Z\ndaejeon,2026-03-19T11:59:00Z\n",
                           source="rx.csv", stations=STATIONS)
    assert got.station.tolist() == ["daejeon", "jeju"]  # sorted by time
    assert len(parse_receptions("station,received_at\n", source="rx.csv")) == 0
    assert len(parse_receptions("", source="rx.csv")) == 0
    with pytest.raises(InvalidInputError, match=r"rx\.csv line 2: station 'tokyo' is not in the station file"):
        parse_receptions("station,received_at\ntokyo,2026-03-19T12:00:00Z\n", source="rx.csv", stations=STATIONS)
    with pytest.raises(InvalidInputError, match=r"rx\.csv line 3: received_at 'yesterday'"):
        parse_receptions("station,received_at\njeju,2026-03-19T12:00:00Z\njeju,yesterday\n", source="rx.csv")
    with pytest.raises(InvalidInputError, match=r"rx\.csv line 1: .*needs the columns station,received_at"):
        parse_receptions("time,site\n", source="rx.csv")


def test_parse_doppler_strf_and_csv():
    strf = "# rffit output\n61118.50000000 437501234.5 12.3 4171\n61118.50005787 437501100.0 11.0 4171\n"
    series = parse_doppler(strf, source="obs.dat", stations=STATIONS, strf_sites={4171: "jeju"})
    assert series.station.tolist() == ["jeju", "jeju"]
    assert series.received_at[0] == np.datetime64("2026-03-19T12:00:00", "us")
    # 8 decimals of a day are 0.9 ms.
    assert abs(series.received_at[1] - np.datetime64("2026-03-19T12:00:05", "us")) < np.timedelta64(1, "ms")
    assert series.frequency_hz.tolist() == [437501234.5, 437501100.0]
    assert parse_doppler(strf, source="obs.dat", stations=["daejeon"]).station.tolist() == ["daejeon"] * 2
    with pytest.raises(InvalidInputError, match=r"obs\.dat line 2: STRF site 4171 .*--strf-site 4171=STATION"):
        parse_doppler(strf, source="obs.dat", stations=STATIONS)
    with pytest.raises(InvalidInputError, match=r"obs\.dat line 1: .*neither STRF"):
        parse_doppler("61118.5 437501234.5\n", source="obs.dat")
    with pytest.raises(InvalidInputError, match=r"obs\.dat line 1: frequency 'nan'"):
        parse_doppler("61118.5 nan 1 4171\n", source="obs.dat")
    csv_text = "station,received_at,frequency_hz\nnatal,2026-03-19T12:00:00Z,437499000\n"
    series = parse_doppler(csv_text, source="d.csv", stations=STATIONS)
    assert series.station.tolist() == ["natal"] and series.frequency_hz.tolist() == [437499000.0]
    with pytest.raises(InvalidInputError, match=r"d\.csv line 2: frequency '-5'"):
        parse_doppler("station,received_at,frequency_hz\nnatal,2026-03-19T12:00:00Z,-5\n", source="d.csv")


def test_identifies_the_truth_with_doppler_and_reports_outliers(cluster, sites, evidence):
    receptions, doppler = evidence
    assert doppler.gaps > 0  # the synthetic series has gaps
    result = identify(cluster, sites, receptions, doppler)
    best = result.best
    assert best is not None and best.object_id == TRUTH and result.confidence == "clear"
    assert best.consistent == best.receptions == len(receptions) > 100
    assert 40.0 < best.doppler_rms_hz < 60.0  # the synthetic noise is 50 Hz
    assert abs(best.rest_frequency_hz - 437.5e6) < 20.0
    assert result.ranking[1].doppler_rms_hz > 5 * best.doppler_rms_hz
    assert len(result.outliers) > 5 and all(abs(o.residual_hz) > 250 for o in result.outliers)
    assert result.verdict.startswith(f"{TRUTH} ({best.norad_id}) explains {len(receptions)} of {len(receptions)} "
                                     f"receptions and fits Doppler to")
    record = result.ranking[0].to_dict()
    assert set(record) >= {"norad_id", "name", "consistent", "receptions", "doppler_rms_hz"}
    json.dumps(result.to_dict())


def test_no_receptions_says_so(cluster, sites):
    result = identify(cluster, sites, Receptions.empty())
    assert result.confidence == "none" and "no receptions yet" in result.verdict
    assert all(c.doppler_rms_hz is None and c.receptions == 0 for c in result.ranking)


def test_receptions_only_one_day_after_deployment(cluster, sites, truth):
    """A day after deployment the cluster spans ~330 km (45 s): a few passes of receptions already single B out."""
    receptions, _ = synthetic_evidence(truth, sites, DEPLOYED + timedelta(days=1), 43_200.0,
                                       rng=np.random.default_rng(3), jitter_s=0.2)
    number = receptions.pass_numbers()
    for k in range(1, number.max() + 2):
        take = number < k
        result = identify(cluster, sites, Receptions(receptions.station[take], receptions.received_at[take]),
                          tolerance_s=2.0)
        if result.confidence == "clear":
            break
    assert result.best.object_id == TRUTH and result.confidence == "clear"
    assert k <= 6


def test_empty_doppler_series_is_no_doppler(cluster, sites, evidence):
    receptions, _ = evidence
    empty = DopplerSeries.concat([])
    result = identify(cluster, sites, receptions, empty)
    assert result.doppler_samples == 0 and result.best.doppler_rms_hz is None
