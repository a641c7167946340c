"""``groundshare db`` and ``groundshare admin``, run in-process with Typer's CliRunner.

Each test gets its own SQLite file in ``tmp_path``; the PostgreSQL case makes its own
database (``tests.store.conftest.empty_database_url``).  ``GROUNDSHARE_DATABASE_URL`` and
``GROUNDSHARE_DATA_DIR`` are pointed into ``tmp_path`` so no test touches the user's files.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from groundshare.cli import app
from groundshare.data import data_path
from groundshare.orbits import load_elements
from groundshare.stations import load_stations
from groundshare.store import (
    ApiToken,
    Contact,
    ElementSetRecord,
    Organisation,
    OrgKind,
    Role,
    Satellite,
    SharingPolicy,
    Station,
    create_engine_for,
    hash_token,
    make_session_factory,
    session_scope,
)
from groundshare.store.migrate import current, head
from tests.store.conftest import empty_database_url
from tests.store.race import OVERLAPPING_PAIRS_SQL


@pytest.fixture(autouse=True)
def _no_user_database(monkeypatch, tmp_path) -> None:
    monkeypatch.delenv("GROUNDSHARE_DATABASE_URL", raising=False)
    monkeypatch.setenv("GROUNDSHARE_DATA_DIR", str(tmp_path / "data"))


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request, tmp_path) -> Iterator[str]:
    with empty_database_url(request.param, tmp_path, "cli") as database_url:
        yield database_url


def run(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(app, list(args), env=env)


def rows(url: str, entity):
    engine = create_engine_for(url)
    try:
        with engine.connect() as connection:
            return connection.execute(select(entity.__table__)).all()
    finally:
        engine.dispose()


def test_db_upgrade_migrates_to_head_and_again_does_nothing(url: str) -> None:
    first = run("db", "upgrade", "--database-url", url)
    assert first.exit_code == 0, first.stderr
    assert f"is at revision {head()} (the newest)" in first.stderr
    assert first.stdout == ""
    again = run("db", "upgrade", "--database-url", url)
    assert again.exit_code == 0, again.stderr
    assert current(url) == head()


def test_the_database_url_comes_from_the_environment(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'env.db'}"
    result = run("db", "upgrade", env={"GROUNDSHARE_DATABASE_URL": url})
    assert result.exit_code == 0, result.stderr
    assert current(url) == head()


def test_without_a_url_the_default_sqlite_file_is_used(tmp_path) -> None:
    result = run("db", "upgrade")
    assert result.exit_code == 0, result.stderr
    assert (tmp_path / "data" / "groundshare.db").is_file()


def test_create_org_then_token_stores_only_the_hash(url: str) -> None:
    assert run("db", "upgrade", "--database-url", url).exit_code == 0
    org = run("admin", "create-org", "Korea AeroSpace Administration", "--kind", "agency", "--database-url", url)
    assert org.exit_code == 0, org.stderr
    assert org.stdout.strip().isdigit()
    assert "created organisation 'Korea AeroSpace Administration' (agency)" in org.stderr

    issued = run("admin", "create-token", "--org", "Korea AeroSpace Administration", "--role", "admin",
                 "--database-url", url)
    assert issued.exit_code == 0, issued.stderr
    token = issued.stdout.strip()
    assert token.startswith("gs_")
    assert "shown only this once" in issued.stderr
    assert token not in issued.stderr

    [org_row] = rows(url, Organisation)
    assert (org_row.id, org_row.kind) == (int(org.stdout), OrgKind.AGENCY)
    [token_row] = rows(url, ApiToken)
    assert token_row.token_hash == hash_token(token)
    assert token_row.role == Role.ADMIN
    assert token_row.org_id == org_row.id
    assert token not in repr(tuple(token_row))


def test_tokens_default_to_operator_and_differ_each_time(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    run("db", "upgrade", "--database-url", url)
    run("admin", "create-org", "AEM", "--database-url", url)
    tokens = {run("admin", "create-token", "--org", "AEM", "--database-url", url).stdout.strip() for _ in range(2)}
    assert len(tokens) == 2
    assert {row.role for row in rows(url, ApiToken)} == {Role.OPERATOR}


def test_a_duplicate_org_is_refused(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    run("db", "upgrade", "--database-url", url)
    assert run("admin", "create-org", "ALCE", "--database-url", url).exit_code == 0
    again = run("admin", "create-org", "ALCE", "--kind", "company", "--database-url", url)
    assert again.exit_code == 1
    assert again.stderr == ("error: organisation 'ALCE' already exists; choose another name, or issue it a token "
                            "with:  groundshare admin create-token --org ALCE\n")
    assert again.stdout == ""
    assert len(rows(url, Organisation)) == 1


def test_a_token_for_an_unknown_org_is_refused(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    run("db", "upgrade", "--database-url", url)
    result = run("admin", "create-token", "--org", "Nobody Inc", "--database-url", url)
    assert result.exit_code == 1
    assert result.stderr == ("error: no organisation is named 'Nobody Inc'; create it first with:  "
                             "groundshare admin create-org 'Nobody Inc'\n")
    assert result.stdout == ""
    assert rows(url, ApiToken) == []


def test_admin_commands_ask_for_a_migrated_database(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    result = run("admin", "create-org", "KARI", "--database-url", url)
    assert result.exit_code == 1
    assert result.stderr == (f"error: the database {url} has no groundshare tables; migrate it first with:  "
                             f"groundshare db upgrade --database-url {url}\n")


@pytest.mark.parametrize(("bad_url", "message"), [
    ("not a url", "error: 'not a url' is not a database URL"),
    ("mysql://someone@127.0.0.1/groundshare", "error: database URL 'mysql://someone@127.0.0.1/groundshare' "
                                              "is neither SQLite nor PostgreSQL"),
    # Port 1 on loopback: nothing listens there, so the connection is refused at once.
    ("postgresql://someone@127.0.0.1:1/groundshare", "error: could not use the database "
                                                     "postgresql+psycopg://someone@127.0.0.1:1/groundshare"),
])
@pytest.mark.parametrize("command", [("db", "upgrade"), ("admin", "create-org", "KARI"),
                                     ("admin", "create-token", "--org", "KARI")])
def test_bad_or_unreachable_databases_are_errors_without_traceback(command, bad_url: str, message: str) -> None:
    result = run(*command, "--database-url", bad_url)
    assert result.exit_code == 1
    assert result.stderr.startswith(message)
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_verbose_shows_the_traceback() -> None:
    result = run("--verbose", "db", "upgrade", "--database-url", "not a url")
    assert result.exit_code == 1
    assert "Traceback" in result.stderr
    assert "error: 'not a url' is not a database URL" in result.stderr


def test_an_unknown_kind_is_a_usage_error(tmp_path) -> None:
    result = run("admin", "create-org", "X", "--kind", "club", "--database-url", f"sqlite:///{tmp_path / 'x.db'}")
    assert result.exit_code == 2


def table_counts(url: str) -> dict[str, int]:
    from groundshare.store import Base

    engine = create_engine_for(url)
    try:
        with engine.connect() as connection:
            return {name: connection.execute(select(func.count()).select_from(table)).scalar_one()
                    for name, table in Base.metadata.tables.items()}
    finally:
        engine.dispose()


def test_demo_load_fills_the_network_once_and_prints_a_token_per_organisation(url: str) -> None:
    assert run("db", "upgrade", "--database-url", url).exit_code == 0
    first = run("demo", "load", "--database-url", url)
    assert first.exit_code == 0, first.stderr
    counts = table_counts(url)
    satellites = len(load_elements(data_path("celestrak_cubesat_2025-11-06.tle")))
    assert counts == {"organisation": 6, "api_token": 6, "station": 6, "antenna": 6, "sharing_policy": 14,
                      "satellite": satellites, "element_set": satellites, "contact_request": satellites, "contact": 0,
                      "agent_lease": 0}
    assert "added 6 organisations, 6 stations, 6 antennas, 14 sharing policies" in first.stderr

    lines = [line.split("\t") for line in first.stdout.splitlines()]
    orgs = {row.name: row for row in rows(url, Organisation)}
    assert {name for name, _ in lines} == set(orgs)
    assert sorted(row.kind for row in orgs.values()) == sorted([OrgKind.AGENCY] * 3 + [OrgKind.COMPANY] * 2
                                                              + [OrgKind.UNIVERSITY])
    assert {"Korea Aerospace Research Institute (KARI)", "Agencia Espacial Mexicana (AEM)",
            "Agencia Latinoamericana y Caribeña del Espacio (ALCE)"} <= set(orgs)
    hashes = {(row.org_id, row.token_hash) for row in rows(url, ApiToken)}
    assert hashes == {(orgs[name].id, hash_token(token)) for name, token in lines}

    again = run("demo", "load", "--database-url", url)
    assert again.exit_code == 0, again.stderr
    assert "added nothing new" in again.stderr
    assert table_counts(url) == counts
    new_tokens = {token for _, token in (line.split("\t") for line in again.stdout.splitlines())}
    assert new_tokens.isdisjoint(token for _, token in lines)
    assert {row.token_hash for row in rows(url, ApiToken)} == {hash_token(token) for token in new_tokens}


def test_demo_stations_satellites_and_element_sets_round_trip(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    run("db", "upgrade", "--database-url", url)
    assert run("demo", "load", "--database-url", url).exit_code == 0
    engine = create_engine_for(url)
    try:
        with session_scope(make_session_factory(engine), write=False) as session:
            stations = {s.name: s for s in session.scalars(select(Station))}
            shipped = {site.name: site for site in load_stations(data_path("demo_stations.toml"))}
            assert set(stations) == set(shipped)
            site = stations["mexico-city"].to_site()
            assert site.horizon_mask is not None
            assert site.horizon_mask == shipped["mexico-city"].horizon_mask
            by_norad = {e.norad_id: e for e in load_elements(data_path("celestrak_cubesat_2025-11-06.tle")).elements}
            records = session.scalars(select(ElementSetRecord)).all()
            for record in records:
                parsed = record.to_element_set()
                shipped_set = by_norad[parsed.norad_id]
                assert (parsed.name, parsed.line1, parsed.line2) == (shipped_set.name, shipped_set.line1,
                                                                     shipped_set.line2)
            owners = {s.org_id for s in session.scalars(select(Satellite))}
            assert len(owners) == 6
            for policy in session.scalars(select(SharingPolicy)):
                assert policy.owner_org_id == policy.antenna.station.org_id != policy.grantee_org_id
    finally:
        engine.dispose()


def test_demo_load_asks_for_a_migrated_database(tmp_path) -> None:
    result = run("demo", "load", "--database-url", f"sqlite:///{tmp_path / 'empty.db'}")
    assert result.exit_code == 1
    assert "has no groundshare tables; migrate it first with:  groundshare db upgrade" in result.stderr
    assert result.stdout == ""


def test_schedule_plan_books_the_demo_networks_requests_without_overlap(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    run("db", "upgrade", "--database-url", url)
    assert run("demo", "load", "--database-url", url).exit_code == 0
    args = ("schedule", "plan", "--database-url", url, "--start", "2025-11-07T00:00Z", "--days", "0.25",
            "--time-limit", "5")
    dry = run(*args, "--dry-run")
    assert dry.exit_code == 0, dry.stderr
    planned = json.loads(dry.stdout)
    assert planned["dry_run"] is True and planned["violations"] == [] and planned["booked_contact_ids"] == []
    assert table_counts(url)["contact"] == 0
    booked = run(*args)
    assert booked.exit_code == 0, booked.stderr
    result = json.loads(booked.stdout)
    assert result["violations"] == [] and result["refused"] == []
    assert len(result["booked_contact_ids"]) == len(result["plan"]["contacts"]) == table_counts(url)["contact"] > 0
    assert result["plan"]["objective"] <= result["plan"]["bound"] + 1e-6
    assert {o["organisation"] for o in result["fairness"]["organisations"]} <= set(
        row.name for row in rows(url, Organisation))
    # The week-long requests stay open for later runs, which only add: nothing booked moves.
    again = json.loads(run(*args).stdout)
    assert again["violations"] == [] and table_counts(url)["contact"] == len(result["booked_contact_ids"]) + len(
        again["booked_contact_ids"])
    engine = create_engine_for(url)
    try:
        with engine.connect() as connection:
            assert connection.exec_driver_sql(OVERLAPPING_PAIRS_SQL).scalar_one() == 0
    finally:
        engine.dispose()


def test_demo_load_plans_its_first_days_once(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    run("db", "upgrade", "--database-url", url)
    first = run("demo", "load", "--database-url", url, "--plan-days", "0.25")
    assert first.exit_code == 0, first.stderr
    booked = table_counts(url)["contact"]
    assert booked > 0 and f"{booked} contacts booked" in first.stderr
    starts = [c.start_time for c in rows(url, Contact)]
    assert min(starts) >= datetime(2025, 11, 7, tzinfo=UTC) and max(starts) < datetime(2025, 11, 7, 6, tzinfo=UTC)
    again = run("demo", "load", "--database-url", url, "--plan-days", "0.25")
    assert again.exit_code == 0, again.stderr
    assert f"demo plan skipped: the store already holds {booked} contacts" in again.stderr
    assert table_counts(url)["contact"] == booked
