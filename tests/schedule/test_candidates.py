"""Candidates from a real pass table: a few shipped CubeSats over two demo stations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from groundshare.data import data_path
from groundshare.errors import InvalidInputError
from groundshare.passes import find_passes
from groundshare.schedule import AntennaSpec, Problem, SatelliteSpec
from groundshare.schedule.candidates import candidates_from_passes, pass_ids, problem_from_network
from groundshare.stations import load_stations
from groundshare.units import HOUR_S

START = datetime(2025, 11, 7, tzinfo=UTC)
DURATION_S = 6 * HOUR_S
END = START + timedelta(seconds=DURATION_S)
one_millisecond_s = 1e-3  # candidate times are cut to whole milliseconds, the JSON form's resolution


@pytest.fixture(scope="module")
def small(cubesats):
    elements = list(cubesats)[:12]
    sites = [s for s in load_stations(data_path("demo_stations.toml")) if s.name in ("daejeon", "cordoba")]
    table = find_passes(elements, sites, start=START, duration_s=DURATION_S, workers=1)
    antennas = {"daejeon": AntennaSpec("daejeon/uhf", "KARI", setup_s=30.0, teardown_s=60.0),
                "cordoba": AntennaSpec("cordoba/uhf", "ALCE", setup_s=45.0, teardown_s=30.0)}
    satellites = [SatelliteSpec(str(e.norad_id), "AEM", max_contacts_per_day=4) for e in elements]
    return elements, sites, table, antennas, satellites


def test_one_candidate_per_pass_from_aos_to_los(small):
    _, _, table, antennas, satellites = small
    assert len(table) > 10  # enough passes for the test to mean something
    problem = candidates_from_passes(table, start=START, end=END, antennas=antennas, satellites=satellites)
    assert len(problem.passes) == len(table)
    by_id = {p.id: p for p in problem.passes}
    for pass_id, row in zip(pass_ids(table), table, strict=True):
        c = by_id[pass_id]
        assert timedelta(0) <= row.aos - c.start < timedelta(milliseconds=1)
        assert timedelta(0) <= row.los - c.end < timedelta(milliseconds=1)
        assert c.start.microsecond % 1000 == 0 and c.end.microsecond % 1000 == 0
        assert c.satellite == str(row.norad_id)
        assert c.antenna == antennas[row.station].id
        assert abs(c.value - row.duration_s) <= one_millisecond_s
        assert c.value == (c.end - c.start).total_seconds()
        assert c.aos_azimuth_deg == row.aos_azimuth_deg
        assert c.los_azimuth_deg == row.los_azimuth_deg
    assert all(p.priority == 1.0 for p in problem.passes)


def test_ids_are_unique_and_stable(small):
    elements, sites, table, _, _ = small
    ids = pass_ids(table)
    assert len(set(ids)) == len(ids)
    again = find_passes(elements, sites, start=START, duration_s=DURATION_S, workers=1)
    assert pass_ids(again) == ids
    # The k in "norad@station#k" counts each pair's passes from 0 in AOS order.
    first = table[table.aos == table.aos.min()][0]
    assert ids[0] == f"{first.norad_id}@{first.station}#0"
    for norad_id in np.unique(table.norad_id):
        for station in table.site_names:
            pair = table.for_satellite(int(norad_id)).for_station(station)
            expected = [f"{norad_id}@{station}#{k}" for k in range(len(pair))]
            assert sorted(pass_ids(pair)) == sorted(expected)
            assert [i for i in ids if i.startswith(f"{norad_id}@{station}#")] == expected


def test_min_duration_priorities_and_volume(small):
    _, _, table, antennas, satellites = small
    median_s = float(np.median(table.duration_s))
    problem = candidates_from_passes(table, start=START, end=END, antennas=antennas, satellites=satellites,
                                     min_duration_s=median_s)
    assert all(p.value >= median_s for p in problem.passes)
    assert abs(len(problem.passes) - int((table.duration_s >= median_s).sum())) <= 1  # a pass within 1 ms of it
    volumes = np.arange(len(table), dtype=float) * 1000.0
    problem = candidates_from_passes(table, start=START, end=END, antennas=antennas, satellites=satellites,
                                     value="volume", volumes=volumes, priorities={satellites[0].id: 3.0})
    ids = pass_ids(table)
    by_id = {p.id: p for p in problem.passes}
    for i, pass_id in enumerate(ids):
        if not table.clipped[i]:
            assert by_id[pass_id].value == volumes[i]
        assert by_id[pass_id].priority == (3.0 if by_id[pass_id].satellite == satellites[0].id else 1.0)


def test_window_clips_passes(small):
    _, _, table, antennas, satellites = small
    mid = START + timedelta(hours=3)
    problem = candidates_from_passes(table, start=mid, end=END, antennas=antennas, satellites=satellites)
    assert all(mid <= p.start < p.end <= END for p in problem.passes)
    assert len(problem.passes) == int((table.los > np.datetime64(mid.replace(tzinfo=None), "us")).sum())


def test_problem_round_trips_through_json(small):
    _, _, table, antennas, satellites = small
    problem = candidates_from_passes(table, start=START, end=END, antennas=antennas, satellites=satellites)
    again = Problem.from_json(problem.to_json())
    assert again.to_dict() == problem.to_dict()
    assert again.passes == problem.passes
    assert np.array_equal(again.start_s, problem.start_s)


def test_problem_from_network_matches(small):
    elements, sites, table, antennas, satellites = small
    problem, found = problem_from_network(elements, sites, start=START, duration_s=DURATION_S, antennas=antennas,
                                          satellites=satellites, workers=1)
    assert len(found) == len(table)
    assert problem.to_dict() == candidates_from_passes(table, start=START, end=END, antennas=antennas,
                                                       satellites=satellites).to_dict()


def test_missing_antenna_or_satellite_is_named(small):
    _, _, table, antennas, satellites = small
    with pytest.raises(InvalidInputError, match="no antenna given for station"):
        candidates_from_passes(table, start=START, end=END, antennas={"daejeon": antennas["daejeon"]},
                               satellites=satellites)
    with pytest.raises(InvalidInputError, match="no SatelliteSpec for NORAD id"):
        candidates_from_passes(table, start=START, end=END, antennas=antennas,
                               satellites=[s for s in satellites if s.id != str(table[0].norad_id)])
    with pytest.raises(InvalidInputError, match="value='volume' needs data volumes"):
        candidates_from_passes(table, start=START, end=END, antennas=antennas, satellites=satellites,
                               value="volume")
