"""Models: tokens hashed at rest, JSON columns, enumerations checked by the database, bridges to the pass engine."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from groundshare.data import data_path
from groundshare.store import (
    ApiToken,
    ElementSetRecord,
    ElementTextFormat,
    Role,
    SharingPolicy,
    Station,
    hash_token,
    session_scope,
)

TLE_LINES = data_path("celestrak_cubesat_2025-11-06.tle").read_text().splitlines()[:3]


def test_a_token_is_stored_only_as_its_hash(factory, network):
    with session_scope(factory) as session:
        row, token = ApiToken.issue(network.org_id, Role.OPERATOR, label="ops laptop")
        session.add(row)
    assert token.startswith("gs_") and len(token) > 40
    with session_scope(factory, write=False) as session:
        stored = session.scalars(select(ApiToken).where(ApiToken.token_hash == hash_token(token))).one()
        assert stored.role is Role.OPERATOR and stored.org_id == network.org_id
        assert token not in {stored.token_hash, stored.label}
        assert stored.created_at.tzinfo is UTC and stored.revoked_at is None


def test_json_columns_round_trip(factory, network):
    blackout = [{"start": "2025-12-24T00:00:00Z", "end": "2025-12-26T00:00:00Z"}]
    with session_scope(factory) as session:
        session.add(SharingPolicy(owner_org_id=network.org_id, grantee_org_id=network.partner_id,
                                  antenna_id=network.antenna_id, bands=["uhf"], hours_per_week=6.5, priority=2,
                                  blackout_windows=blackout))
    with session_scope(factory, write=False) as session:
        policy = session.scalars(select(SharingPolicy)).one()
    assert (policy.bands, policy.blackout_windows, policy.hours_per_week) == (["uhf"], blackout, 6.5)


def test_a_policy_cannot_grant_to_its_owner(factory, network):
    with pytest.raises(IntegrityError, match="not_self"), session_scope(factory) as session:
        session.add(SharingPolicy(owner_org_id=network.org_id, grantee_org_id=network.org_id,
                                  antenna_id=network.antenna_id))


def test_the_database_refuses_unknown_enumeration_values(engine, network):
    with pytest.raises(IntegrityError, match="org_kind"), engine.begin() as connection:
        connection.exec_driver_sql("INSERT INTO organisation (name, kind, created_at) "
                                   "VALUES ('Space Club', 'club', CURRENT_TIMESTAMP)")


def test_station_becomes_a_pass_engine_site(factory, network):
    with session_scope(factory, write=False) as session:
        site = session.get(Station, network.station_id).to_site()
    assert (site.name, site.lat_deg, site.lon_deg, site.alt_m) == ("daejeon-1", 36.3725, 127.359, 80.0)
    assert site.horizon_mask is not None


def test_element_set_record_parses_back(factory, network):
    with session_scope(factory) as session:
        record = ElementSetRecord(satellite_id=network.satellite_id, epoch=datetime(2025, 11, 6, tzinfo=UTC),
                                  format=ElementTextFormat.TLE, text="\n".join(TLE_LINES))
        session.add(record)
    elements = record.to_element_set()
    assert elements.norad_id == int(TLE_LINES[1][2:7])
