"""Uplink licences and uplink terms for tests that book uplink contacts (``store.uplink``)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from groundshare.store import SharingPolicy, Station, UplinkLicence, session_scope

#: A licence's validity wide enough for every test date.
LICENSED_FROM = datetime(2020, 1, 1, tzinfo=UTC)
LICENSED_UNTIL = datetime(2040, 1, 1, tzinfo=UTC)


def license_uplink(factory: sessionmaker[Session], station_id: int, satellite_id: int, *,
                   valid_from: datetime = LICENSED_FROM, valid_until: datetime = LICENSED_UNTIL,
                   reference: str = "TEST-LICENCE") -> int:
    """Record a licence for the satellite to be commanded from the station (by its owner); return its id."""
    with session_scope(factory) as session:
        station = session.get(Station, station_id)
        licence = UplinkLicence(station_id=station_id, satellite_id=satellite_id, reference=reference,
                                valid_from=valid_from, valid_until=valid_until, created_by_org_id=station.org_id)
        session.add(licence)
        session.flush()
        return licence.id


def allow_uplink(factory: sessionmaker[Session], antenna_id: int, grantee_org_id: int, *,
                 bands: list[str] | None = None, satellite_ids: list[int] | None = None) -> None:
    """Set ``uplink_allowed`` (with these uplink terms) on the antenna's policy for the grantee."""
    with session_scope(factory) as session:
        policy = session.scalars(select(SharingPolicy).where(SharingPolicy.antenna_id == antenna_id,
                                                             SharingPolicy.grantee_org_id == grantee_org_id)).one()
        policy.uplink_allowed = True
        policy.uplink_bands = bands or []
        policy.uplink_satellite_ids = satellite_ids or []
