"""API fixtures: every test that takes ``client`` runs on SQLite and on PostgreSQL.

One application per backend for the whole session (``create_app(Settings(...))`` on a
fresh database, PostgreSQL as in ``tests/store/conftest.py``: skipped with the reason
without a server, failing under CI); the tables are emptied after each test.

``world`` creates, through the store directly, three organisations:

- ``kasa`` owns station daejeon-1 with antennas ``uhf`` (shared with ``aem`` by a
  ``SharingPolicy``) and ``dish`` (not shared), and a private satellite;
- ``aem``, the partner, owns a station and a public satellite;
- ``uni``, foreign to both, owns a station and a private satellite;

and one token per (organisation, role) that the tests use.  The world's network clock runs
from ``WORLD_NOW`` (``store.set_network_clock``, as the demo network's does), so contacts
from that day on are in its future.  Its satellites have no element sets: tests that book
an organisation's own satellite send ``allow_outside_pass`` (its operator's right), and
tests that book another's satellite give it real elements (``give_elements``) and book a
real pass (``next_pass``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

import groundshare
from groundshare.api import Settings, create_app
from groundshare.orbits import ElementSet, load_elements
from groundshare.passes import Pass, find_passes
from groundshare.store import (
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
    session_scope,
    set_network_clock,
)
from groundshare.units import DAY_S
from tests.store.conftest import clear_tables, postgres_database

BACKENDS = ("sqlite", "postgresql")
#: The test world's network clock at its creation (every test date is after it).
WORLD_NOW = datetime(2025, 11, 6, tzinfo=UTC)
#: Real element sets shipped with groundshare (CelesTrak's active catalogue of 2026-03-19).
ACTIVE_TLE = Path(groundshare.__file__).parent / "data" / "celestrak_active_2026-03-19.tle"


@pytest.fixture(scope="session", params=BACKENDS)
def app(request, tmp_path_factory) -> Iterator[FastAPI]:
    """One application per backend, on a freshly created database."""
    if request.param == "sqlite":
        app = create_app(Settings(database_url=f"sqlite:///{tmp_path_factory.mktemp('api') / 'groundshare.db'}"))
        yield app
        app.state.engine.dispose()
        return
    with postgres_database("api") as url:
        app = create_app(Settings(database_url=url.render_as_string(hide_password=False)))
        yield app
        app.state.engine.dispose()


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    """A client of the backend's application; every table is empty again after the test."""
    try:
        yield TestClient(app)
    finally:
        clear_tables(app.state.engine)


@dataclass
class Org:
    """One organisation of the test world: its ids and a bearer token per role."""

    id: int
    name: str
    station_id: int
    antenna_id: int
    satellite_id: int
    norad_id: int
    tokens: dict[Role, str] = field(default_factory=dict)
    unshared_antenna_id: int | None = None

    def auth(self, role: Role = Role.OPERATOR) -> dict[str, str]:
        """Return the Authorization header of this organisation's token with ``role``."""
        return {"Authorization": f"Bearer {self.tokens[role]}"}


@dataclass
class World:
    kasa: Org  # owner: shares antenna ``kasa.antenna_id`` with aem
    aem: Org  # partner
    uni: Org  # foreign to both


def _make_org(session, name: str, kind: OrgKind, *, station: str, lat_deg: float, lon_deg: float, norad_id: int,
              is_public: bool) -> Org:
    org = Organisation(name=name, kind=kind)
    session.add(org)
    session.flush()
    st = Station(org_id=org.id, name=station, lat_deg=lat_deg, lon_deg=lon_deg, alt_m=50.0, min_elevation_deg=5.0)
    session.add(st)
    session.flush()
    antenna = Antenna(station_id=st.id, name="uhf", band=Band.UHF, setup_s=30.0, turnaround_s=60.0)
    satellite = Satellite(org_id=org.id, norad_id=norad_id, name=f"{station.upper()}-SAT", is_public=is_public)
    session.add_all([antenna, satellite])
    session.flush()
    result = Org(org.id, name, st.id, antenna.id, satellite.id, norad_id)
    for role in Role:
        row, text = ApiToken.issue(org.id, role, label=f"{name} {role.value}")
        session.add(row)
        result.tokens[role] = text
    return result


@pytest.fixture
def world(client: TestClient, app: FastAPI) -> World:
    with session_scope(app.state.session_factory) as session:
        kasa = _make_org(session, "Korea AeroSpace Administration", OrgKind.AGENCY, station="daejeon-1",
                         lat_deg=36.3725, lon_deg=127.359, norad_id=40001, is_public=False)
        aem = _make_org(session, "Agencia Espacial Mexicana", OrgKind.AGENCY, station="chetumal",
                        lat_deg=18.5, lon_deg=-88.3, norad_id=49263, is_public=True)
        uni = _make_org(session, "Universidad de Chile", OrgKind.UNIVERSITY, station="santiago",
                        lat_deg=-33.45, lon_deg=-70.66, norad_id=40003, is_public=False)
        dish = Antenna(station_id=kasa.station_id, name="dish", band=Band.S, setup_s=120.0, turnaround_s=0.0)
        session.add(dish)
        session.flush()
        kasa.unshared_antenna_id = dish.id
        session.add(SharingPolicy(owner_org_id=kasa.id, grantee_org_id=aem.id, antenna_id=kasa.antenna_id,
                                  bands=["uhf"], hours_per_week=10.0))
        set_network_clock(session, WORLD_NOW, reason="the test world")
    return World(kasa, aem, uni)


def give_elements(app: FastAPI, satellite_id: int, norad_id: int | None = None) -> ElementSet:
    """Store the shipped element set of the satellite's NORAD number (or ``norad_id``'s) for it; return it."""
    with session_scope(app.state.session_factory) as session:
        satellite = session.get(Satellite, satellite_id)
        element_set = load_elements(ACTIVE_TLE).by_norad_id(norad_id or satellite.norad_id)
        satellite.norad_id = element_set.norad_id
        session.add(ElementSetRecord(satellite_id=satellite_id, epoch=element_set.epoch, format=ElementTextFormat.TLE,
                                     text=f"{element_set.name}\n{element_set.line1}\n{element_set.line2}\n",
                                     source="shipped"))
    return element_set


def next_pass(app: FastAPI, element_set: ElementSet, station_id: int, after: datetime | None = None) -> Pass:
    """Return the first whole pass of ``element_set`` over the station after ``after`` (default: its epoch)."""
    with session_scope(app.state.session_factory, write=False) as session:
        site = session.get(Station, station_id).to_site()
    table = find_passes([element_set], [site], start=after or element_set.epoch, duration_s=2 * DAY_S, workers=1)
    return next(p for p in table if not p.clipped)
