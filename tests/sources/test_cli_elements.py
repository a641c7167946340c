"""``groundshare elements sync`` in-process against the fake sites and an SQLite file."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from groundshare.cli import app
from groundshare.data import data_path
from groundshare.orbits import load_elements
from groundshare.roles import OrgKind
from groundshare.store import create_engine_for, make_session_factory, session_scope
from groundshare.store.elements import ensure_default_sources
from groundshare.store.migrate import upgrade
from groundshare.store.models import Organisation, Satellite
from tests.support.orbit_sites import OrbitSites

CUBESATS = load_elements(data_path("celestrak_cubesat_2025-11-06.tle")).elements[:3]


def _network(folder: Path) -> tuple[str, list[int]]:
    url = f"sqlite:///{folder / 'network.db'}"
    upgrade(url)
    engine = create_engine_for(url)
    try:
        with session_scope(make_session_factory(engine)) as session:
            org = Organisation(name="Agencia Espacial Mexicana", kind=OrgKind.AGENCY)
            session.add(org)
            session.flush()
            satellites = [Satellite(org_id=org.id, norad_id=e.norad_id, name=e.name) for e in CUBESATS]
            session.add_all(satellites)
            session.flush()
            for satellite in satellites:
                ensure_default_sources(session, satellite)
            return url, [s.id for s in satellites]
    finally:
        engine.dispose()


def test_sync_prints_changed_satellites_and_keeps_the_rules_across_runs(sites: OrbitSites, tmp_path) -> None:
    sites.add_elements(CUBESATS)
    url, satellite_ids = _network(tmp_path)
    runner = CliRunner()
    args = ["elements", "sync", "--source", "celestrak", "--base-url", sites.base_url, "--database-url", url]
    done = runner.invoke(app, args)
    assert done.exit_code == 0, done.output
    assert done.stdout.split() == [str(i) for i in satellite_ids]
    assert f"syncing element sets into {url}" in done.stderr
    assert ("celestrak: 3 sources, 3 requests; 3 element sets stored (0 older than the one in force), 0 already "
            "held, 0 refused, 0 records skipped; orbit in force changed for 3 satellites") in done.stderr
    again = runner.invoke(app, args)  # a second run at once asks nothing
    assert (again.exit_code, again.stdout) == (0, "")
    assert "celestrak: 3 sources, 0 requests, 3 held back by the site's rules" in again.stderr
    assert len(sites.requests) == 3


def test_a_failed_request_exits_1_and_a_database_not_migrated_is_refused(sites: OrbitSites, tmp_path) -> None:
    url, _ = _network(tmp_path)
    sites.fault("gp.php", 500, "Internal Server Error")
    done = CliRunner().invoke(app, ["elements", "sync", "--base-url", sites.base_url, "--database-url", url])
    assert done.exit_code == 1 and "HTTP 500 from celestrak (Internal Server Error)" in done.stderr
    assert "Traceback" not in done.output
    empty = f"sqlite:///{tmp_path / 'empty.db'}"
    refused = CliRunner().invoke(app, ["elements", "sync", "--database-url", empty])
    assert refused.exit_code == 1
    assert refused.stderr.startswith(f"error: the database {empty} has no groundshare tables; migrate it first with:")
