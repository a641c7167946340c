"""The pass engine on a Dask cluster: the same tables as in this process, surviving a lost worker."""

from __future__ import annotations

import dataclasses
import logging
import os
import signal
import subprocess
import sys
from concurrent.futures.process import BrokenProcessPool

import numpy as np
import pytest

from groundshare.data import data_path
from groundshare.link import load_link_config
from groundshare.link.along import link_along_passes
from groundshare.orbits import load_elements
from groundshare.parallel import ClusterError, DaskExecutor, LocalExecutor, make_executor
from groundshare.passes import find_passes
from groundshare.passes.track import sample_passes
from groundshare.schedule.candidates import problem_from_network
from groundshare.schedule.problem import AntennaSpec, SatelliteSpec
from groundshare.stations import load_stations
from groundshare.units import DAY_S
from tests.support.pass_tables import assert_same_table
from tests.support.shipped import ACTIVE_START

distributed = pytest.importorskip("distributed")



@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                       silence_logs=logging.CRITICAL)
    with distributed.Client(cluster, set_as_default=False) as c:
        yield c
    cluster.close()


@pytest.fixture(scope="module")
def network():
    elements = load_elements(data_path("celestrak_active_2026-03-19.tle")).elements[:300]
    sites = load_stations(data_path("demo_stations.toml"))[:4]
    return elements, sites


@pytest.mark.slow
def test_find_passes_on_cluster_matches_in_process(client, network):
    elements, sites = network
    expected = find_passes(elements, sites, start=ACTIVE_START, duration_s=DAY_S, workers=1)
    seen = []
    got = find_passes(elements, sites, start=ACTIVE_START, duration_s=DAY_S, executor=DaskExecutor(client),
                      progress=lambda done, total: seen.append((done, total)))
    assert len(expected) > 1000
    assert_same_table(got, expected)
    assert seen[-1] == (len(elements), len(elements))
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)


@pytest.mark.slow
def test_link_along_passes_on_cluster_matches_in_process(client, network):
    elements, sites = network
    elements = elements[:40]
    table = find_passes(elements, sites, start=ACTIVE_START, duration_s=DAY_S / 4, workers=1)
    expected = sample_passes(table, elements, sites, step_s=2.0, workers=1)
    seen = []
    got = sample_passes(table, elements, sites, step_s=2.0, executor=DaskExecutor(client),
                        progress=lambda done, total: seen.append((done, total)))
    for field in dataclasses.fields(expected):
        np.testing.assert_array_equal(getattr(got, field.name), getattr(expected, field.name), err_msg=field.name)
    assert seen[-1] == (len(expected), len(expected))
    config = load_link_config(data_path("demo_link_uhf.toml"))
    if config.path.atmospheric_loss_db is None or config.path.rain_loss_db is None:
        config = dataclasses.replace(config, path=dataclasses.replace(config.path, atmospheric_loss_db=0.5,
                                                                      rain_loss_db=0.0))
    a, b = (link_along_passes(table, t, config, sites).columns() for t in (expected, got))
    for name in a:
        np.testing.assert_array_equal(b[name], a[name], err_msg=name)


@pytest.mark.slow
def test_candidates_on_cluster_match_in_process(client, network):
    elements, sites = network
    elements = elements[:60]
    antennas = {s.name: AntennaSpec(id=f"{s.name}-ant", organisation="org") for s in sites}
    satellites = [SatelliteSpec(id=str(e.norad_id), organisation="org") for e in elements]
    kwargs = {"start": ACTIVE_START, "duration_s": DAY_S, "antennas": antennas, "satellites": satellites}
    expected, _ = problem_from_network(elements, sites, workers=1, **kwargs)
    got, _ = problem_from_network(elements, sites, executor=DaskExecutor(client), **kwargs)
    assert got.to_dict() == expected.to_dict()
    assert len(got.passes) > 100


@pytest.mark.slow
def test_lost_worker_is_rescheduled(client, network):
    elements, sites = network
    expected = find_passes(elements, sites, start=ACTIVE_START, duration_s=DAY_S, workers=2, max_bytes=1)
    victims = list(client.run(os.getpid).values())
    killed = []

    def progress(done: int, total: int) -> None:
        if not killed and done >= 30:      # some tasks are done, most are still to come
            os.kill(victims[0], signal.SIGKILL)
            killed.append(done)

    # max_bytes=1 makes one task per satellite: 300 small tasks.
    got = find_passes(elements, sites, start=ACTIVE_START, duration_s=DAY_S, executor=DaskExecutor(client),
                      max_bytes=1, progress=progress)
    assert killed and killed[0] < len(elements) // 2
    assert_same_table(got, expected)
    client.wait_for_workers(2, timeout=60)     # the nanny restarts it for the tests that follow


def test_unreachable_scheduler_is_named():
    with pytest.raises(ClusterError, match=r"tcp://127\.0\.0\.1:9.*dask scheduler.*dask worker"):
        DaskExecutor("tcp://127.0.0.1:9", timeout_s=1.0)


def test_make_executor():
    assert isinstance(make_executor(), LocalExecutor)
    assert make_executor(workers=3).workers == 3
    with pytest.raises(ValueError, match="not both"):
        make_executor(workers=2, cluster="tcp://127.0.0.1:8786")


def test_local_executor_progress_and_order():
    seen = []
    assert LocalExecutor(2).map(abs, [-3, 1, -2, 5], progress=seen.append) == [3, 1, 2, 5]
    assert sorted(seen) == [0, 1, 2, 3]


def _pid_and_env(name: str) -> tuple[int, str | None]:
    return os.getpid(), os.environ.get(name)


def _die(code: int) -> None:
    os._exit(code)


def test_a_kept_pool_forks_once_and_again_when_the_environment_changes(monkeypatch):
    name = "GROUNDSHARE_TEST_POOL_SNAPSHOT"
    monkeypatch.setenv(name, "first")
    with LocalExecutor(2, keep_pool=True) as executor:
        first = executor.map(_pid_and_env, [name] * 6)
        again = executor.map(_pid_and_env, [name] * 6)
        assert {env for _, env in first + again} == {"first"}
        pids = {pid for pid, _ in first + again}
        assert len(pids) <= 2 and os.getpid() not in pids          # the same two processes, kept
        monkeypatch.setenv(name, "second")                           # a fork is a snapshot: fork again
        changed = executor.map(_pid_and_env, [name] * 6)
        assert {env for _, env in changed} == {"second"}
        assert not {pid for pid, _ in changed} & pids
        with pytest.raises(BrokenProcessPool):                       # a process that dies breaks this map only
            executor.map(_die, [3, 3])
        assert {env for _, env in executor.map(_pid_and_env, [name] * 2)} == {"second"}
    assert executor._pool is None                                    # closed with the block


def test_groundshare_does_not_import_dask():
    code = ("import sys, groundshare, groundshare.passes, groundshare.cli, groundshare.parallel\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.slow
def test_cli_passes_with_link_on_cluster(client):
    from typer.testing import CliRunner

    from groundshare.cli import app

    argv = ["passes", "--elements", str(data_path("celestrak_cubesat_2025-11-06.tle")), "--stations",
            str(data_path("demo_stations.toml")), "--start", "2025-11-07T00:00:00Z", "--days", "0.25",
            "--format", "csv", "--link", str(data_path("demo_link_uhf.toml")), "--link-step", "5"]
    runner = CliRunner()
    local = runner.invoke(app, [*argv, "--workers", "1"])
    remote = runner.invoke(app, [*argv, "--cluster", client.scheduler.address])
    assert local.exit_code == 0, local.stderr
    assert remote.exit_code == 0, remote.stderr
    assert remote.stdout == local.stdout
    assert "volume" in local.stdout.splitlines()[0]
    both = runner.invoke(app, [*argv, "--workers", "2", "--cluster", client.scheduler.address])
    assert both.exit_code == 2
    assert "not both" in both.stderr
