"""Catalogue passes as a Parquet dataset written by the workers: the same passes, its layout, reading it back."""

from __future__ import annotations

import json
import logging
import re
from datetime import timedelta

import numpy as np
import pytest

from groundshare.data import data_path
from groundshare.errors import InvalidInputError
from groundshare.orbits import load_elements
from groundshare.passes import PassTable, Site, find_passes
from groundshare.passes.dataset import (
    MANIFEST_NAME,
    WORKER_BASE_BYTES,
    pass_table_from_dataset,
    plan_tasks,
    read_manifest,
    write_pass_dataset,
)
from groundshare.passes.search import coarse_step_s
from groundshare.schedule.candidates import candidates_from_passes, problem_from_dataset
from groundshare.schedule.problem import AntennaSpec, SatelliteSpec
from groundshare.stations import load_stations
from groundshare.units import DAY_S
from tests.support.pass_tables import assert_same_table
from tests.support.shipped import ACTIVE, ACTIVE_START, DEMO_STATIONS

pa = pytest.importorskip("pyarrow")
ds = pytest.importorskip("pyarrow.dataset")
DURATION_S = DAY_S
PART = re.compile(r"station_group=(\d{3})/day=(\d{4}-\d\d-\d\d)/part-(\d{5})\.parquet")


@pytest.fixture(scope="module")
def network() -> tuple[list, list[Site]]:
    """Satellites of every coarse step of the active catalogue (GEO included), demo stations with a mask, and more."""
    every = load_elements(ACTIVE).elements
    high = [e for e in every[60:] if coarse_step_s(e) >= 300.0][:12]
    elements = every[:60] + high
    sites = load_stations(DEMO_STATIONS) + [Site(f"grid-{k}", lat_deg=-50.0 + 20.0 * k, lon_deg=37.0 * k, alt_m=0.0,
                                                 min_elevation_deg=5.0) for k in range(6)]
    return elements, sites


@pytest.fixture(scope="module")
def expected(network) -> PassTable:
    elements, sites = network
    return find_passes(elements, sites, start=ACTIVE_START, duration_s=DURATION_S, workers=1)


@pytest.fixture(scope="module")
def written(network, tmp_path_factory):
    elements, sites = network
    path = tmp_path_factory.mktemp("passes") / "dataset"
    summary = write_pass_dataset(elements, sites, path, start=ACTIVE_START, duration_s=DURATION_S, workers=1)
    return path, summary


def test_dataset_holds_the_passes_of_the_in_process_search(written, expected):
    path, summary = written
    assert len(expected) > 500
    assert summary.rows == len(expected)
    assert_same_table(pass_table_from_dataset(path), expected)


def test_layout_is_hive_partitioned_by_station_group_and_aos_day(written, network):
    path, summary = written
    _, sites = network
    files = sorted(p.relative_to(path).as_posix() for p in path.rglob("*.parquet"))
    assert files and all(PART.fullmatch(f) for f in files), files[:3]
    assert sorted(p for part in summary.parts for p in part.paths) == files
    assert not list(path.rglob(".*"))                         # no temporary files left
    # Plain pyarrow reads it: the hive keys come back as columns, times as UTC timestamps.
    table = ds.dataset(path, format="parquet", partitioning="hive").to_table()
    assert table.num_rows == summary.rows
    assert table.schema.field("aos").type == pa.timestamp("us", tz="UTC")
    assert {"norad_id", "satellite", "station", "station_group", "day"} <= set(table.column_names)
    for f in files[:5]:
        group, day, _ = PART.fullmatch(f).groups()
        part = pa.parquet.read_table(path / f)
        aos_days = {str(t.date()) for t in part.column("aos").to_pylist()}
        assert aos_days == {day}
        stations = set(part.column("station").to_pylist())
        assert stations <= {s.name for k, s in enumerate(sites) if k // summary.stations_per_group == int(group)}


def test_manifest_says_what_the_dataset_is(written, network, expected):
    path, summary = written
    elements, sites = network
    body = json.loads((path / MANIFEST_NAME).read_text())
    assert body["format"] == "groundshare pass dataset"
    assert body["parameters"]["start"] == "2026-03-19T00:00:00.000Z"
    assert body["parameters"]["duration_s"] == DURATION_S
    assert body["parameters"]["min_elevation_deg"] is None
    assert body["totals"]["passes"] == len(expected) == summary.rows
    assert body["totals"]["files"] == summary.files and body["totals"]["bytes"] == summary.bytes
    assert body["elements"]["count"] == len(elements) and len(body["elements"]["sha256"]) == 64
    assert body["satellites"]["norad_id"] == [e.norad_id for e in elements]
    assert [s["name"] for s in body["stations"]] == [s.name for s in sites]
    assert body["stations"][0]["horizon_mask"] is False and any(s["horizon_mask"] for s in body["stations"])
    assert body["groundshare_version"]
    manifest = read_manifest(path)
    assert manifest.end == ACTIVE_START + timedelta(days=1)
    assert manifest.max_pass_s > 80_000       # a geostationary satellite is seen all day


def test_reading_a_selection_matches_the_selection_of_the_whole(written, expected, network):
    path, _ = written
    elements, sites = network
    norad = [elements[3].norad_id, elements[-1].norad_id]
    names = [sites[2].name, sites[-1].name]
    start, end = ACTIVE_START + timedelta(hours=6), ACTIVE_START + timedelta(hours=9)
    got = pass_table_from_dataset(path, satellites=norad, stations=names, start=start, end=end)
    keep = (np.isin(expected.norad_id, norad) & np.isin(expected.site_index, [2, len(sites) - 1])
            & (expected.los >= np.datetime64(start.replace(tzinfo=None)))
            & (expected.aos <= np.datetime64(end.replace(tzinfo=None))))
    assert 0 < keep.sum() < len(expected)
    want = expected[keep]
    want.warnings = [w for w in expected.warnings if any(str(n) in w for n in norad)]
    assert_same_table(got, want)


def test_a_tight_memory_bound_splits_stations_into_groups_and_gives_the_same_passes(network, expected, tmp_path):
    elements, sites = network
    # The smallest bound (in steps of 100 kB) that still fits one satellite over a station.
    for bound in range(WORKER_BASE_BYTES + 100_000, WORKER_BASE_BYTES + 10**8, 100_000):
        try:
            plan = plan_tasks(elements, sites, start=ACTIVE_START, duration_s=DURATION_S, root=str(tmp_path),
                              max_worker_bytes=bound)
            break
        except InvalidInputError:
            continue
    assert plan.n_groups > 1 and plan.stations_per_group < len(sites)
    summary = write_pass_dataset(elements, sites, tmp_path / "tight", start=ACTIVE_START, duration_s=DURATION_S,
                                 workers=2, max_worker_bytes=bound)
    assert summary.station_groups == plan.n_groups
    groups = {int(PART.fullmatch(p).group(1)) for part in summary.parts for p in part.paths}
    assert groups == set(range(plan.n_groups))
    assert_same_table(pass_table_from_dataset(tmp_path / "tight"), expected)


def test_candidates_from_the_dataset_equal_those_of_the_in_process_table(written, expected, network):
    path, _ = written
    elements, sites = network
    antennas = {s.name: AntennaSpec(id=f"{s.name}-ant", organisation="org") for s in sites[:5]}
    satellites = [SatelliteSpec(id=str(e.norad_id), organisation="org") for e in elements[:40]]
    table = expected[np.isin(expected.site_index, range(5)) & np.isin(expected.sat_index, range(40))]
    for start, end in ((ACTIVE_START, ACTIVE_START + timedelta(days=1)),
                       (ACTIVE_START + timedelta(hours=7), ACTIVE_START + timedelta(hours=13))):
        want = candidates_from_passes(table, start=start, end=end, antennas=antennas, satellites=satellites)
        got, _ = problem_from_dataset(path, start=start, end=end, antennas=antennas, satellites=satellites)
        assert len(want.passes) > 50
        assert got.to_dict() == want.to_dict()


def test_a_non_empty_folder_is_refused_unless_overwrite(network, tmp_path):
    elements, sites = network
    kwargs = {"start": ACTIVE_START, "duration_s": DAY_S / 8, "workers": 1}
    path = tmp_path / "passes"
    first = write_pass_dataset(elements[:10], sites, path, **kwargs)
    with pytest.raises(InvalidInputError, match=r"is not empty.*--overwrite"):
        write_pass_dataset(elements[:10], sites, path, **kwargs)
    again = write_pass_dataset(elements[:5], sites, path, overwrite=True, **kwargs)
    assert again.rows < first.rows == first.rows
    assert read_manifest(path).passes == again.rows
    assert len(pass_table_from_dataset(path)) == again.rows
    # Something that is not a pass dataset is never emptied, even with overwrite.
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("keep me")
    with pytest.raises(InvalidInputError, match=r"notes\.txt.*does not"):
        write_pass_dataset(elements[:5], sites, other, overwrite=True, **kwargs)
    assert (other / "notes.txt").read_text() == "keep me"
    with pytest.raises(InvalidInputError, match="is a file"):
        write_pass_dataset(elements[:5], sites, other / "notes.txt", **kwargs)


def test_a_dataset_without_its_manifest_is_incomplete(network, tmp_path):
    elements, sites = network
    path = tmp_path / "passes"
    write_pass_dataset(elements[:5], sites, path, start=ACTIVE_START, duration_s=DAY_S / 8, workers=1)
    (path / MANIFEST_NAME).unlink()
    with pytest.raises(InvalidInputError, match=r"has no _manifest\.json.*did not finish"):
        pass_table_from_dataset(path)
    with pytest.raises(InvalidInputError, match="does not exist"):
        pass_table_from_dataset(tmp_path / "nowhere")
    (path / MANIFEST_NAME).write_text('{"format": "something else"}')
    with pytest.raises(InvalidInputError, match="not a groundshare pass dataset"):
        read_manifest(path)


def test_bad_inputs_are_named(network, tmp_path, written):
    elements, sites = network
    kwargs = {"start": ACTIVE_START, "duration_s": DAY_S, "workers": 1}
    with pytest.raises(InvalidInputError, match="no element sets"):
        write_pass_dataset([], sites, tmp_path / "a", **kwargs)
    with pytest.raises(InvalidInputError, match="repeated: daejeon"):
        write_pass_dataset(elements, [sites[0], sites[0]], tmp_path / "a", **kwargs)
    with pytest.raises(InvalidInputError, match="duration_s"):
        write_pass_dataset(elements, sites, tmp_path / "a", start=ACTIVE_START, duration_s=-1.0)
    with pytest.raises(InvalidInputError, match=r"max_worker_bytes is 1,000.*at least"):
        write_pass_dataset(elements, sites, tmp_path / "a", max_worker_bytes=1000, **kwargs)
    assert not (tmp_path / "a").exists()              # refused before anything was written
    path, _ = written
    with pytest.raises(InvalidInputError, match=r"station.*nowhere.*not in the dataset"):
        pass_table_from_dataset(path, stations=["nowhere"])
    with pytest.raises(InvalidInputError, match=r"NORAD id.*99999999"):
        pass_table_from_dataset(path, satellites=[99999999])
    with pytest.raises(InvalidInputError, match="not a NORAD id"):
        problem_from_dataset(path, start=ACTIVE_START, end=ACTIVE_START + timedelta(hours=1), antennas={},
                             satellites=[SatelliteSpec(id="cubesat", organisation="org")])


def test_cli_passes_output(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from groundshare import extras
    from groundshare.cli import app

    argv = ["passes", "-e", str(data_path("celestrak_cubesat_2025-11-06.tle")), "-s", str(DEMO_STATIONS),
            "--start", "2025-11-07T00:00:00Z", "--days", "0.25", "-j", "1"]
    runner = CliRunner()
    shown = runner.invoke(app, [*argv, "--format", "csv"])
    out = tmp_path / "passes"
    done = runner.invoke(app, [*argv, "--output", str(out), "--max-worker-bytes", "1G"])
    assert done.exit_code == 0, done.stderr
    assert done.stdout == ""
    n = len(shown.stdout.splitlines()) - 1
    assert f"wrote {n:,} passes of 93 satellites over 6 stations" in done.stderr
    assert len(pass_table_from_dataset(out)) == n
    again = runner.invoke(app, [*argv, "--output", str(out)])
    assert again.exit_code == 1 and "is not empty" in again.stderr and "--overwrite" in again.stderr
    assert runner.invoke(app, [*argv, "--output", str(out), "--overwrite"]).exit_code == 0
    bad = runner.invoke(app, [*argv, "--output", str(tmp_path / "b"), "--max-worker-bytes", "lots"])
    assert bad.exit_code == 1 and "--max-worker-bytes is 'lots'" in bad.stderr
    alone = runner.invoke(app, [*argv, "--overwrite"])
    assert alone.exit_code == 2 and "goes with --output" in alone.stderr
    link = runner.invoke(app, [*argv, "--output", str(tmp_path / "c"), "--link", str(data_path("demo_link_uhf.toml"))])
    assert link.exit_code == 2 and "--link cannot be combined with --output" in link.stderr
    monkeypatch.setitem(extras.EXTRAS, "parquet", ("groundshare_no_such_module",))
    missing = runner.invoke(app, [*argv, "--output", str(tmp_path / "d")])
    assert missing.exit_code == 1
    assert "groundshare passes --output needs the parquet extra: pip install 'groundshare[parquet]'" in missing.stderr
    assert not (tmp_path / "d").exists()


@pytest.mark.slow
def test_dask_workers_write_the_dataset_within_their_memory_bound(tmp_path):
    """Workers of a Dask cluster write the same passes, each task's peak memory under the bound."""
    distributed = pytest.importorskip("distributed")
    from groundshare.parallel import DaskExecutor

    every = load_elements(ACTIVE).elements
    elements = every[:150] + [e for e in every[150:] if coarse_step_s(e) >= 300.0][:40]
    sites = load_stations(DEMO_STATIONS) + [Site(f"lattice-{k}", lat_deg=-60.0 + 1.3 * k, lon_deg=(137.5 * k) % 360
                                                 - 180.0, alt_m=0.0, min_elevation_deg=5.0) for k in range(94)]
    duration_s = 2 * DAY_S
    bound = WORKER_BASE_BYTES + 128 * 2**20  # 128 MiB for the tasks' arrays
    expected = find_passes(elements, sites, start=ACTIVE_START, duration_s=duration_s, workers=2)
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                       silence_logs=logging.CRITICAL)
    with cluster, distributed.Client(cluster, set_as_default=False) as client:
        summary = write_pass_dataset(elements, sites, tmp_path / "passes", start=ACTIVE_START,
                                     duration_s=duration_s, executor=DaskExecutor(client), max_worker_bytes=bound)
    assert summary.tasks > 20                         # the bound, not the balance, sized the chunks
    assert len({p.pid for p in summary.parts}) == 2   # both workers wrote
    assert summary.peak_worker_rss_bytes < bound, f"{summary.peak_worker_rss_bytes:,} >= {bound:,}"
    assert_same_table(pass_table_from_dataset(tmp_path / "passes"), expected)
