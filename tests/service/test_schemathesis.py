"""Property-based tests of the whole API from its own OpenAPI document (schemathesis 4).

For every operation in ``create_app(...)``'s ``/openapi.json`` schemathesis generates
requests that fit the schema (positive) and requests that break it (negative) and sends
them, with an admin's bearer token, to the application on a database seeded afresh for
each operation, in which ids 1 to 3 of organisations, stations, antennas, satellites,
element sets and contacts exist.  No answer may be a 5xx, every status must be one the
operation documents, every body must match its status's schema, and every content type
must be the documented one.

The generated cases are counted inside the test, so the minimum below holds for each
backend whatever pytest's collection order; a failing operation does not stop the
others, and the failures are reported together with a reproducing request each.
"""

from __future__ import annotations

import math
import traceback
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from groundshare.data import data_path
from groundshare.orbits import load_elements
from groundshare.store import (
    UNCHECKED,
    Antenna,
    ApiToken,
    Band,
    ElementSetRecord,
    ElementTextFormat,
    Organisation,
    OrgKind,
    Role,
    Satellite,
    SharingPolicy,
    Station,
    book_contact,
    session_scope,
)
from tests.support.databases import BACKENDS, clear_tables
from tests.support.worlds import app_on

pytestmark = pytest.mark.slow

#: Cases each backend's run must send at least: over 1,000 on SQLite alone; PostgreSQL, whose round trips
#: are slower, half as many, so that tests/service stays within about 3 minutes on 2 cores.
MIN_CASES = {"sqlite": 1000, "postgresql": 500}
#: Hypothesis examples per operation and generation mode are sized from the operations found, so the
#: total clears MIN_CASES with this margin (operations with few distinct inputs make fewer cases).
CASE_MARGIN = 1.25
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance, content_type_conformance]
MODES = (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE)
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: Operations left out: an endless event stream, which the ASGI test client would read forever (its answers are
#: tested in tests/api/test_frames.py and, on a real server, tests/service/test_frames_stream.py); the station
#: relay's long poll, whose generated cases would each wait up to wait_s (30 s) for a frame that never comes (its
#: answers and refusals are tested in tests/api/test_commanding.py). The contact session is a WebSocket, which the
#: OpenAPI document does not list.
LEFT_OUT = frozenset({"GET /satellites/{satellite_id}/frames/stream", "GET /agent/stations/{station_id}/uplink"})
CONTACTS_FROM = datetime(2025, 11, 7, tzinfo=UTC)


def seed(app: FastAPI) -> str:
    """Fill the app's database with three organisations' worth of rows; return an admin token of the first."""
    element_sets = sorted(load_elements(data_path("celestrak_cubesat_2025-11-06.tle")).elements,
                          key=lambda e: e.norad_id)[:3]
    with session_scope(app.state.session_factory) as session:
        orgs = [Organisation(name=name, kind=kind) for name, kind in (
            ("Korea AeroSpace Administration", OrgKind.AGENCY), ("Agencia Espacial Mexicana", OrgKind.AGENCY),
            ("Universidad de Chile", OrgKind.UNIVERSITY))]
        session.add_all(orgs)
        session.flush()
        antennas, satellites = [], []
        for org, (lat_deg, lon_deg), element_set in zip(orgs, ((36.37, 127.36), (18.5, -88.3), (-33.45, -70.66)),
                                                         element_sets, strict=True):
            station = Station(org_id=org.id, name=f"station-{org.id}", lat_deg=lat_deg, lon_deg=lon_deg, alt_m=50.0,
                              min_elevation_deg=5.0, horizon_mask=[[0.0, 4.0], [180.0, 10.0]])
            session.add(station)
            session.flush()
            antenna = Antenna(station_id=station.id, name="uhf", band=Band.UHF, setup_s=30.0, turnaround_s=60.0)
            satellite = Satellite(org_id=org.id, norad_id=element_set.norad_id, name=element_set.name,
                                  is_public=org.id != orgs[2].id)
            session.add_all([antenna, satellite])
            session.flush()
            session.add(ElementSetRecord(
                satellite_id=satellite.id, epoch=element_set.epoch, format=ElementTextFormat.TLE,
                text=f"{element_set.name}\n{element_set.line1}\n{element_set.line2}\n", source="shipped"))
            antennas.append(antenna)
            satellites.append(satellite)
        session.add(SharingPolicy(owner_org_id=orgs[1].id, grantee_org_id=orgs[0].id, antenna_id=antennas[1].id,
                                  bands=["uhf"], hours_per_week=100.0))
        session.flush()
        for i in range(3):
            start = CONTACTS_FROM + timedelta(hours=i)
            book_contact(session, antenna_id=antennas[0].id, satellite_id=satellites[0].id, org_id=orgs[0].id,
                         start=start, end=start + timedelta(minutes=10), rules=UNCHECKED)
        row, token = ApiToken.issue(orgs[0].id, Role.ADMIN, label="schemathesis")
        session.add(row)
    return token


def fuzz(operation: schemathesis.APIOperation, mode: schemathesis.GenerationMode, headers: dict[str, str], *,
         max_examples: int, on_case: Callable[[], None]) -> None:
    """Send the operation's generated cases in ``mode``; raise the (shrunk) first failure.

    The ASGI test client re-raises an exception the application did not handle instead of
    answering 500; that is a server error too, reported with the request that caused it.
    """

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=max_examples, database=None, deadline=None, derandomize=True,
              phases=[Phase.explicit, Phase.generate, Phase.shrink], suppress_health_check=list(HealthCheck))
    def run(case: schemathesis.Case) -> None:
        on_case()
        try:
            case.call_and_validate(headers=headers, checks=CHECKS)
        except (Failure, FailureGroup):
            raise  # schemathesis's own report names the check and the request
        except Exception as exc:  # the app raised (the test client re-raises server errors): name the request
            raise AssertionError(f"the application raised on  {case.as_curl_command()}\n\n"
                                 f"{''.join(traceback.format_exception(exc))}") from exc

    run()


@pytest.fixture(params=BACKENDS)
def app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[FastAPI]:
    with app_on(request.param, tmp_path, "schemathesis") as app:
        yield app


def test_generated_requests_get_no_server_error_and_match_the_schema(app: FastAPI, capsys) -> None:
    backend = app.state.engine.dialect.name
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    counts: Counter[str] = Counter()
    headers: dict[str, str] | None = None
    failures: list[str] = []
    operations = [op for op in (result.ok() for result in schema.get_all_operations()) if op.label not in LEFT_OUT]
    assert len(operations) >= 10, [op.label for op in operations]
    max_examples = math.ceil(CASE_MARGIN * MIN_CASES[backend] / (len(MODES) * len(operations)))

    for operation in operations:
        for mode in MODES:
            key = f"{operation.label} ({mode.value})"
            counts[key] = 0
            # A fresh world after any writer: generated DELETEs, PATCHes and token revocations must not
            # leave the next operation without its seeded rows or a working token.
            if headers is None:
                clear_tables(app.state.engine)
                headers = {"Authorization": f"Bearer {seed(app)}"}
            try:
                fuzz(operation, mode, headers, max_examples=max_examples,
                     on_case=lambda key=key: counts.update([key]))
            except Unsatisfiable:
                # An operation without parameters or body (GET /orgs/me) has no negative cases to make.
                if mode is not schemathesis.GenerationMode.NEGATIVE or counts[key]:
                    raise
            except (Exception, FailureGroup) as exc:  # every operation runs; the failures are reported together
                failures.append(f"{key}:\n{exc}")
            if operation.method.upper() not in READ_METHODS:
                headers = None

    total = sum(counts.values())
    with capsys.disabled():
        print(f"\nschemathesis on {backend}: {total} generated cases over "
              f"{len(operations)} operations ({max_examples} examples per operation and mode), {len(failures)} failing")
    assert not failures, "\n\n".join(failures)
    assert total >= MIN_CASES[backend], counts
