"""The demo network: six partners, their stations and sharing policies, and the shipped CubeSats.

``load_demo_network`` fills a store from ``data/demo_network.toml`` (who owns which
station, who shares which antenna with whom, how the CubeSats of the shipped CelesTrak
snapshot are dealt to owners) and ``data/demo_stations.toml`` (where the stations are).
It is what ``groundshare demo load`` and ``make run`` use.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from groundshare.data import data_path
from groundshare.orbits import load_elements
from groundshare.stations import load_stations
from groundshare.store.models import (
    Antenna,
    ApiToken,
    Band,
    ContactRequest,
    ElementSetRecord,
    ElementTextFormat,
    Organisation,
    OrgKind,
    Role,
    Satellite,
    SharingPolicy,
    Station,
)
from groundshare.timeutil import parse_utc
from groundshare.tomlfile import read_toml

#: Label of the admin token ``load_demo_network`` issues each organisation (replaced on every load).
DEMO_TOKEN_LABEL = "demo"


def demo_requests_start() -> datetime:
    """Return when the demo network's contact requests begin (``requests.window_start``)."""
    network = read_toml(data_path("demo_network.toml"), "demo network file")
    return parse_utc(network["requests"]["window_start"], "requests.window_start")


def load_demo_network(session: Session) -> tuple[list[tuple[str, str]], dict[tuple[str, str], int]]:
    """Add what is missing of the demo network; return (organisation, token) pairs and counts added.

    Rows are matched by their natural keys (organisation name, station name within its
    organisation, antenna name within its station, antenna and grantee of a policy,
    NORAD id, satellite and epoch of an element set), so a second load adds none.
    """
    network = read_toml(data_path("demo_network.toml"), "demo network file")
    sites = {site.name: site for site in load_stations(data_path("demo_stations.toml"))}
    nouns = {"organisation": "organisations", "station": "stations", "antenna": "antennas",
             "sharing policy": "sharing policies", "satellite": "satellites", "element set": "element sets",
             "contact request": "contact requests"}
    added = dict.fromkeys(nouns, 0)

    def get_or_add(entity: type, noun: str, **key: object) -> Any:
        row = session.scalars(select(entity).filter_by(**key)).one_or_none()
        if row is None:
            row = entity(**key)
            session.add(row)
            added[noun] += 1
        return row

    orgs: dict[str, Organisation] = {}
    antennas: dict[str, Antenna] = {}
    spec = network["antenna"]
    for entry in network["organisation"]:
        org = get_or_add(Organisation, "organisation", name=entry["name"])
        org.kind = OrgKind(entry["kind"])
        session.flush()
        orgs[org.name] = org
        for station_name in entry["stations"]:
            site = sites[station_name]
            station = get_or_add(Station, "station", org_id=org.id, name=site.name)
            station.lat_deg, station.lon_deg, station.alt_m = site.lat_deg, site.lon_deg, site.alt_m
            station.min_elevation_deg = site.min_elevation_deg
            mask = site.horizon_mask
            station.horizon_mask = None if mask is None else [[az, el] for az, el in mask.points]
            session.flush()
            antenna = get_or_add(Antenna, "antenna", station_id=station.id, name=spec["name"])
            antenna.band = Band(spec["band"])
            antenna.setup_s, antenna.turnaround_s = spec["setup_s"], spec["turnaround_s"]
            session.flush()
            antennas[site.name] = antenna
    owner_of = {station: org for org in orgs.values() for station in
                next(e["stations"] for e in network["organisation"] if e["name"] == org.name)}
    for entry in network["policy"]:
        for grantee in entry["grantees"]:
            policy = get_or_add(SharingPolicy, "sharing policy", antenna_id=antennas[entry["station"]].id,
                                grantee_org_id=orgs[grantee].id)
            policy.owner_org_id = owner_of[entry["station"]].id
            policy.hours_per_week = entry.get("hours_per_week")
            policy.priority = entry.get("priority", 0)
            policy.bands = policy.bands or []
            policy.blackout_windows = policy.blackout_windows or []
    satellites = network["satellites"]
    owners = [orgs[name] for name in satellites["owners"]]
    public_owners = {orgs[name].id for name in satellites.get("public_owners", [])}
    elements = sorted(load_elements(data_path(satellites["elements"])).elements, key=lambda e: e.norad_id)
    for index, element_set in enumerate(elements):
        satellite = session.scalars(select(Satellite).filter_by(norad_id=element_set.norad_id)).one_or_none()
        if satellite is None:
            owner = owners[index % len(owners)]
            satellite = Satellite(org_id=owner.id, norad_id=element_set.norad_id, name=element_set.name,
                                  is_public=owner.id in public_owners)
            session.add(satellite)
            session.flush()
            added["satellite"] += 1
        record = get_or_add(ElementSetRecord, "element set", satellite_id=satellite.id, epoch=element_set.epoch)
        record.format = ElementTextFormat.TLE
        record.text = f"{element_set.name}\n{element_set.line1}\n{element_set.line2}\n"
        record.source = satellites["elements"]
    session.flush()
    wanted = network["requests"]
    window_start = parse_utc(wanted["window_start"], "requests.window_start")
    window_end = parse_utc(wanted["window_end"], "requests.window_end")
    satellites_by_norad = {s.norad_id: s for s in session.scalars(select(Satellite))}
    for index, element_set in enumerate(elements):
        satellite = satellites_by_norad[element_set.norad_id]
        request = get_or_add(ContactRequest, "contact request", org_id=satellite.org_id, satellite_id=satellite.id,
                             window_start=window_start, window_end=window_end)
        request.min_duration_s = wanted["min_duration_s"]
        request.min_elevation_deg = wanted["min_elevation_deg"]
        request.priority = wanted["priorities"][index % len(wanted["priorities"])]
    session.flush()
    tokens = []
    for org in orgs.values():
        session.execute(delete(ApiToken).where(ApiToken.org_id == org.id, ApiToken.label == DEMO_TOKEN_LABEL))
        row, token = ApiToken.issue(org.id, Role.ADMIN, label=DEMO_TOKEN_LABEL)
        session.add(row)
        tokens.append((org.name, token))
    session.flush()
    return tokens, {(noun, nouns[noun]): n for noun, n in added.items()}
