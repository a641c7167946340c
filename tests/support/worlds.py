"""The seeded networks of the store and API tests, written through the store directly.

``make_network`` (the store tests): one organisation with a station and two antennas,
and a partner owning a public satellite.

``make_world`` (the API tests): three organisations,

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
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from fastapi import FastAPI
from sqlalchemy.orm import Session, sessionmaker

from groundshare.api import Settings, create_app
from groundshare.orbits import ElementSet
from groundshare.passes import Pass, Site, find_passes
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

from .databases import empty_database_url
from .shipped import ACTIVE, CUBESATS, shipped_catalogue

# -- the store tests' network ----------------------------------------------------------------------------------

TURNAROUND_S = 60.0


@dataclass(frozen=True)
class Network:
    """Ids of a minimal network: one organisation, station, satellite and two antennas."""

    org_id: int
    partner_id: int
    station_id: int
    antenna_id: int  # turnaround 0 s
    slow_antenna_id: int  # turnaround 60 s
    satellite_id: int


def make_network(factory: sessionmaker[Session]) -> Network:
    with session_scope(factory) as session:
        org = Organisation(name="Korea AeroSpace Administration", kind=OrgKind.AGENCY)
        partner = Organisation(name="Agencia Espacial Mexicana", kind=OrgKind.AGENCY)
        session.add_all([org, partner])
        session.flush()
        station = Station(org_id=org.id, name="daejeon-1", lat_deg=36.3725, lon_deg=127.359, alt_m=80.0,
                          min_elevation_deg=5.0, horizon_mask=[[0.0, 4.0], [110.0, 18.0]])
        session.add(station)
        session.flush()
        quick = Antenna(station_id=station.id, name="uhf-yagi", band=Band.UHF, setup_s=30.0, turnaround_s=0.0)
        slow = Antenna(station_id=station.id, name="s-dish", band=Band.S, setup_s=120.0, turnaround_s=TURNAROUND_S)
        satellite = Satellite(org_id=partner.id, norad_id=49263, name="NEXUS", is_public=True)
        session.add_all([quick, slow, satellite])
        session.flush()
        return Network(org.id, partner.id, station.id, quick.id, slow.id, satellite.id)


# -- the API tests' world --------------------------------------------------------------------------------------


@contextmanager
def app_on(backend: str, folder: Path, label: str = "api") -> Iterator[FastAPI]:
    """Yield the API application on a fresh database of ``backend`` (``databases.empty_database_url``)."""
    with empty_database_url(backend, folder, label) as url:
        # Artifacts in the test's own folder, never in the working folder (PostgreSQL's default).
        app = create_app(Settings(database_url=url, artifact_storage_url=str(folder / "artifacts")))
        try:
            yield app
        finally:
            app.state.engine.dispose()


#: The test world's network clock at its creation (every test date is after it).
WORLD_NOW = datetime(2025, 11, 6, tzinfo=UTC)


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


#: The world's organisations, in the order of their ids: name, kind, station, its place, satellite, public.
WORLD_ORGS = (
    ("Korea AeroSpace Administration", OrgKind.AGENCY, "daejeon-1", 36.3725, 127.359, 40001, False),
    ("Agencia Espacial Mexicana", OrgKind.AGENCY, "chetumal", 18.5, -88.3, 49263, True),
    ("Universidad de Chile", OrgKind.UNIVERSITY, "santiago", -33.45, -70.66, 40003, False),
)


def make_world(factory: sessionmaker[Session]) -> World:
    """Write the three organisations of the test world (see the module docstring); return their ids and tokens.

    Each kind of row is written in one batch (an organisation's station, antenna, satellite
    and tokens follow the organisations' order, so the ids are always the same).
    """
    with session_scope(factory) as session:
        orgs = [Organisation(name=name, kind=kind) for name, kind, *_ in WORLD_ORGS]
        session.add_all(orgs)
        session.flush()
        stations = [Station(org_id=org.id, name=station, lat_deg=lat_deg, lon_deg=lon_deg, alt_m=50.0,
                            min_elevation_deg=5.0)
                    for org, (_, _, station, lat_deg, lon_deg, *_) in zip(orgs, WORLD_ORGS, strict=True)]
        session.add_all(stations)
        session.flush()
        antennas = [Antenna(station_id=st.id, name="uhf", band=Band.UHF, setup_s=30.0, turnaround_s=60.0)
                    for st in stations]
        satellites = [Satellite(org_id=org.id, norad_id=norad_id, name=f"{station.upper()}-SAT", is_public=is_public)
                      for org, (_, _, station, _, _, norad_id, is_public) in zip(orgs, WORLD_ORGS, strict=True)]
        session.add_all([*antennas, *satellites])
        session.flush()
        kasa, aem, uni = members = [
            Org(org.id, org.name, st.id, antenna.id, satellite.id, satellite.norad_id)
            for org, st, antenna, satellite in zip(orgs, stations, antennas, satellites, strict=True)]
        for member in members:
            for role in Role:
                row, text = ApiToken.issue(member.id, role, label=f"{member.name} {role.value}")
                session.add(row)
                member.tokens[role] = text
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
        element_set = shipped_catalogue(ACTIVE).by_norad_id(norad_id or satellite.norad_id)
        satellite.norad_id = element_set.norad_id
        session.add(ElementSetRecord(satellite_id=satellite_id, epoch=element_set.epoch, format=ElementTextFormat.TLE,
                                     text=f"{element_set.name}\n{element_set.line1}\n{element_set.line2}\n",
                                     source="shipped"))
    return element_set


def give_cubesat_elements(app: FastAPI, world: World) -> dict[str, ElementSet]:
    """Give the world's satellites real element sets: aem's public one, kasa's and uni's private ones.

    Each satellite takes the NORAD id of a set from the shipped cubesat file; kasa's has an
    older set too, so the newest one must be the one used.  Returns each organisation's set.
    """
    sets = shipped_catalogue(CUBESATS).elements[:3]
    owners = {"aem": sets[0], "kasa": sets[1], "uni": sets[2]}
    with session_scope(app.state.session_factory) as session:
        for org_name, element_set in owners.items():
            satellite = session.get(Satellite, getattr(world, org_name).satellite_id)
            satellite.norad_id = element_set.norad_id
            text = f"{element_set.name}\n{element_set.line1}\n{element_set.line2}\n"
            session.add(ElementSetRecord(satellite_id=satellite.id, epoch=element_set.epoch,
                                         format=ElementTextFormat.TLE, text=text))
        # An older set of kasa's satellite (another satellite's orbit), which must not be used.
        stale = sets[0]
        session.add(ElementSetRecord(
            satellite_id=world.kasa.satellite_id, epoch=datetime(2020, 1, 1, tzinfo=UTC),
            format=ElementTextFormat.TLE,
            text=f"OLD\n{stale.line1.replace(str(stale.norad_id), str(sets[1].norad_id), 1)}\n"
                 f"{stale.line2.replace(str(stale.norad_id), str(sets[1].norad_id), 1)}\n"))
    return owners


def site_of(app: FastAPI, station_id: int) -> Site:
    """Return the stored station as the pass engine's ``Site``."""
    with session_scope(app.state.session_factory, write=False) as session:
        return session.get(Station, station_id).to_site()


def next_pass(app: FastAPI, element_set: ElementSet, station_id: int,
              after: datetime | None = None) -> Pass:
    """Return the first whole pass of ``element_set`` over the station after ``after`` (default: its epoch)."""
    table = find_passes([element_set], [site_of(app, station_id)], start=after or element_set.epoch,
                        duration_s=2 * DAY_S, workers=1)
    return next(p for p in table if not p.clipped)
