"""``groundshare db`` and ``groundshare admin``, run in-process with Typer's CliRunner.

Each test gets its own SQLite file in ``tmp_path``; the PostgreSQL case makes its own
database (``tests.support.databases.empty_database_url``).  ``GROUNDSHARE_DATABASE_URL`` and
``GROUNDSHARE_DATA_DIR`` are pointed into ``tmp_path`` so no test touches the user's files.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update
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
    network_time,
    session_scope,
    set_network_clock,
)
from groundshare.store.demo import demo_requests_start
from groundshare.store.migrate import current, head
from tests.support.databases import empty_database_url
from tests.support.race import OVERLAPPING_PAIRS_SQL


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


def test_can_command_makes_a_token_allowed_to_command_and_a_viewer_cannot_have_it(tmp_path) -> None:
    """``--can-command`` sets ``can_command`` (operator or admin); with ``--role viewer`` it is an error, no token."""
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    run("db", "upgrade", "--database-url", url)
    run("admin", "create-org", "AEM", "--database-url", url)
    issued = run("admin", "create-token", "--org", "AEM", "--can-command", "--database-url", url)
    assert issued.exit_code == 0, issued.stderr
    plain = run("admin", "create-token", "--org", "AEM", "--role", "admin", "--database-url", url)
    assert plain.exit_code == 0, plain.stderr
    by_hash = {row.token_hash: row for row in rows(url, ApiToken)}
    commander = by_hash[hash_token(issued.stdout.strip())]
    assert (commander.role, commander.can_command, commander.command_satellite_ids) == (Role.OPERATOR, True, [])
    assert by_hash[hash_token(plain.stdout.strip())].can_command is False
    viewer = run("admin", "create-token", "--org", "AEM", "--role", "viewer", "--can-command", "--database-url", url)
    assert viewer.exit_code == 1
    assert viewer.stderr == ("error: a viewer token cannot command; give --role operator (or admin) with "
                             "--can-command\n")
    assert "Traceback" not in viewer.stderr
    assert viewer.stdout == ""
    assert len(rows(url, ApiToken)) == 2


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
                      "agent_lease": 0, "network_clock": 1, "frame": 0, "frame_reception": 0, "artifact": 0,
                      "artifact_upload": 0,
                      # Each satellite: CelesTrak GP by catalog number, which holds its shipped set.
                      "element_source": satellites, "event": 0, "webhook": 0, "webhook_delivery": 0,
                      "source_fetch": 0, "worker_lease": 0, "satnogs_upload": 0, "leop_campaign": 0,
                      "uplink_licence": 0, "uplink_frame": 0, "transmit_inhibit": 0}
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

    assert "0 unchanged, 6 new" in first.stderr
    assert first.stderr.count("new token for ") == 6

    # Loading again changes nothing: the same tokens are printed (a configured agent's keeps working).
    again = run("demo", "load", "--database-url", url)
    assert again.exit_code == 0, again.stderr
    assert "added nothing new" in again.stderr
    assert "6 unchanged, 0 new" in again.stderr and "new token for" not in again.stderr
    assert table_counts(url) == counts
    assert again.stdout == first.stdout


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
    # The network's clock reads the day before the horizon, so that no contact of the plan starts in the past.
    engine = create_engine_for(url)
    try:
        with session_scope(make_session_factory(engine)) as session:
            set_network_clock(session, datetime(2025, 11, 6, tzinfo=UTC), reason="planning ahead")
    finally:
        engine.dispose()
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
    # From the network's clock, anchored at the demo's start by the load, plus the planning lead.
    assert min(starts) >= datetime(2025, 11, 7, 0, 1, 30, tzinfo=UTC)
    assert max(starts) < datetime(2025, 11, 7, 6, tzinfo=UTC)
    assert "refusal" not in first.stderr
    again = run("demo", "load", "--database-url", url, "--plan-days", "0.25")
    assert again.exit_code == 0, again.stderr
    assert f"demo plan skipped: the store already holds {booked} contacts" in again.stderr
    assert table_counts(url)["contact"] == booked


def token_lines(result) -> dict[str, str]:
    return dict(line.split("\t") for line in result.stdout.splitlines())


def execute(url: str, statement) -> None:
    engine = create_engine_for(url)
    try:
        with engine.begin() as connection:
            connection.execute(statement)
    finally:
        engine.dispose()


def test_demo_load_keeps_its_tokens_in_a_private_file_and_reissues_only_what_stopped_working(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    run("db", "upgrade", "--database-url", url)
    first = run("demo", "load", "--database-url", url)
    assert first.exit_code == 0, first.stderr
    path = tmp_path / "tokens.toml"  # beside the SQLite file by default
    assert f"kept in {path} (mode 0600)" in first.stderr
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    tokens = token_lines(first)
    kari, aem = "Korea Aerospace Research Institute (KARI)", "Agencia Espacial Mexicana (AEM)"
    assert all(token in path.read_text(encoding="utf-8") for token in tokens.values())

    # KARI's token is revoked, AEM's is lost from the file; the other four keep working.
    execute(url, update(ApiToken).where(ApiToken.token_hash == hash_token(tokens[kari]))
            .values(revoked_at=datetime(2025, 11, 7, tzinfo=UTC)))
    path.write_text(path.read_text(encoding="utf-8").replace(f'"{aem}" = "{tokens[aem]}"\n', ""), encoding="utf-8")
    path.chmod(0o644)
    again = run("demo", "load", "--database-url", url)
    assert again.exit_code == 0, again.stderr
    reloaded = token_lines(again)
    assert set(reloaded) == set(tokens)
    assert {name for name in tokens if reloaded[name] != tokens[name]} == {kari, aem}
    assert "4 unchanged, 2 new" in again.stderr
    assert (f"  new token for {kari}: the kept one was revoked at 2025-11-07T00:00:00.000Z\n"
            f"  new token for {aem}: no token was kept for it (a first load, or a new tokens file)\n") in again.stderr
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert all(token in path.read_text(encoding="utf-8") for token in reloaded.values())
    # Nothing was deleted: the revoked token stays on record, the lost one still works for whoever has it.
    assert len(rows(url, ApiToken)) == 8

    # An expired token is replaced too, and a token of another role in the file is not taken as the admin one.
    execute(url, update(ApiToken).where(ApiToken.token_hash == hash_token(reloaded[kari]))
            .values(expires_at=datetime(2025, 11, 8, tzinfo=UTC)))
    third = run("demo", "load", "--database-url", url)
    assert f"new token for {kari}: the kept one expired at 2025-11-08T00:00:00.000Z" in third.stderr
    assert "5 unchanged, 1 new" in third.stderr


def test_demo_load_keeps_tokens_where_it_is_told(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'db' / 'demo.db'}"
    (tmp_path / "db").mkdir()
    run("db", "upgrade", "--database-url", url)
    elsewhere = tmp_path / "secrets" / "demo-tokens.toml"
    first = run("demo", "load", "--database-url", url, "--tokens-file", str(elsewhere))
    assert first.exit_code == 0, first.stderr
    assert elsewhere.is_file() and not (tmp_path / "db" / "tokens.toml").exists()
    again = run("demo", "load", "--database-url", url, "--tokens-file", str(elsewhere))
    assert again.stdout == first.stdout


def test_an_unwritable_tokens_file_is_an_error_after_the_tokens_are_printed(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    run("db", "upgrade", "--database-url", url)
    folder = tmp_path / "taken"
    folder.write_text("a file where the tokens' folder should be\n")
    result = run("demo", "load", "--database-url", url, "--tokens-file", str(folder / "tokens.toml"))
    assert result.exit_code == 1 and "Traceback" not in result.stderr
    assert len(token_lines(result)) == 6
    assert result.stderr.startswith(f"error: cannot write the tokens file {folder / 'tokens.toml'}: ")
    assert "give --tokens-file a file in a folder you may write to" in result.stderr


def test_a_broken_tokens_file_is_named_and_nothing_is_loaded(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    run("db", "upgrade", "--database-url", url)
    path = tmp_path / "tokens.toml"
    path.write_text("[tokens]\nKARI = 3\n", encoding="utf-8")
    result = run("demo", "load", "--database-url", url)
    assert result.exit_code == 1
    assert result.stderr == (f"error: tokens file {path}: [tokens] must map organisation names to token strings; "
                             "fix it, or delete it to have new tokens issued\n")
    assert table_counts(url)["organisation"] == 0
    path.write_text("[tokens\n", encoding="utf-8")
    result = run("demo", "load", "--database-url", url)
    assert result.exit_code == 1 and f"error: tokens file {path} cannot be read" in result.stderr


def test_demo_load_anchors_the_network_clock_at_the_demo_start_once(url: str) -> None:
    assert run("db", "upgrade", "--database-url", url).exit_code == 0
    first = run("demo", "load", "--database-url", url)
    assert first.exit_code == 0, first.stderr
    engine = create_engine_for(url)
    try:
        with session_scope(make_session_factory(engine)) as session:
            clock = network_time(session)
            assert clock.mode == "shifted" and clock.network_at == demo_requests_start()
            assert "2025-11-07T00:00:00.000Z" in clock.reason
            assert abs(clock.now() - demo_requests_start()) < timedelta(minutes=1)
        assert "network time 2025-11-07T00:0" in first.stderr and "(anchored now: " in first.stderr

        # A later load keeps whatever anchor the network has, the demo's or another.
        other = datetime(2025, 11, 9, 12, tzinfo=UTC)
        with session_scope(make_session_factory(engine)) as session:
            set_network_clock(session, other, reason="an operator moved it")
        again = run("demo", "load", "--database-url", url)
        assert again.exit_code == 0, again.stderr
        assert "network time 2025-11-09T12:0" in again.stderr
        assert "(anchored by an earlier load: an operator moved it)" in again.stderr
        with session_scope(make_session_factory(engine)) as session:
            assert network_time(session).network_at == other
    finally:
        engine.dispose()


def test_schedule_plan_says_which_database_it_plans_and_refuses_an_empty_one(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    default = tmp_path / "data" / "groundshare.db"
    # The default database does not exist yet: it has no tables.
    missing = run("schedule", "plan", "--dry-run")
    assert missing.exit_code == 1
    assert missing.stderr == (
        f"error: the database sqlite:///{default} has no groundshare tables; migrate it first with:  "
        "groundshare db upgrade\n"
        "make run keeps the demo network in .demo/groundshare.db of its checkout: from there, give --database-url "
        "sqlite:///$PWD/.demo/groundshare.db or export GROUNDSHARE_DATABASE_URL=sqlite:///$PWD/.demo/groundshare.db\n")
    assert missing.stdout == ""
    # Migrated but empty: refused, naming it, rather than planning nothing.
    run("db", "upgrade")
    empty = run("schedule", "plan", "--dry-run")
    assert empty.exit_code == 1
    assert empty.stderr.startswith(f"error: the database sqlite:///{default} holds no organisations, so there is "
                                   "nothing to plan; make run keeps the demo network in .demo/groundshare.db")
    # In a checkout where make run made its database, the message gives its exact URL, which works.
    demo = tmp_path / ".demo" / "groundshare.db"
    demo.parent.mkdir()
    demo_url = f"sqlite:///{demo}"
    run("db", "upgrade", "--database-url", demo_url)
    run("demo", "load", "--database-url", demo_url)
    pointed = run("schedule", "plan", "--dry-run")
    assert pointed.exit_code == 1
    assert pointed.stderr.endswith(f"make run's demo database is {demo}: give --database-url {demo_url} "
                                   f"or export GROUNDSHARE_DATABASE_URL={demo_url}\n")
    for follow in (["--database-url", demo_url], []):
        env = {} if follow else {"GROUNDSHARE_DATABASE_URL": demo_url}
        planned = run("schedule", "plan", "--dry-run", "--days", "0.1", "--time-limit", "5", *follow, env=env)
        assert planned.exit_code == 0, planned.stderr
        # --start defaults to the network's now: the demo's clock runs from its first day.
        assert planned.stderr.startswith(f"planning {demo_url}: 6 organisations, 93 open contact requests in "
                                         "2025-11-07T00:0")
        assert json.loads(planned.stdout)["dry_run"] is True
    assert table_counts(demo_url)["contact"] == 0
