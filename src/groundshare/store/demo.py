"""The demo network: six partners, their stations and sharing policies, and the shipped CubeSats.

``load_demo_network`` fills a store from ``data/demo_network.toml`` (who owns which
station, who shares which antenna with whom, how the CubeSats of the shipped CelesTrak
snapshot are dealt to owners) and ``data/demo_stations.toml`` (where the stations are).
It is what ``groundshare demo load`` and ``make run`` use.

Loading is idempotent: a second load adds nothing, replaces nothing and keeps the admin
tokens it issued (``demo_tokens`` checks the ones it is given and issues only those that
are missing, revoked or expired; ``read_tokens_file`` and ``write_tokens_file`` keep them
in a private TOML file beside the database).  ``anchor_demo_clock`` starts the network's
one clock at the demo's first day when nothing anchored it yet, so that every view,
default window and agent runs in the days the shipped element sets are good for.
``demo_problem`` turns the same network into a scheduling problem file (the shipped
``data/demo_problem.json``).
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from groundshare.data import data_path
from groundshare.errors import InvalidInputError
from groundshare.orbits import load_elements
from groundshare.stations import load_stations
from groundshare.store.elements import ensure_default_sources
from groundshare.store.models import (
    Antenna,
    ApiToken,
    Band,
    ContactRequest,
    ElementSetRecord,
    ElementSource,
    ElementTextFormat,
    Organisation,
    OrgKind,
    Role,
    Satellite,
    SharingPolicy,
    SourceKind,
    Station,
    hash_token,
)
from groundshare.timeutil import format_utc, parse_utc, utc_now
from groundshare.tomlfile import read_toml
from groundshare.units import HOUR_S

if TYPE_CHECKING:
    from groundshare.schedule import Problem
    from groundshare.store.clock import NetworkTime

#: Label of the admin token ``load_demo_network`` issues an organisation that has no working one.
DEMO_TOKEN_LABEL = "demo"


@dataclass(frozen=True)
class DemoToken:
    """An organisation's demo admin token: kept from an earlier load, or ``new`` (with the reason)."""

    organisation: str
    token: str
    new: bool
    reason: str = ""


def demo_requests_start() -> datetime:
    """Return when the demo network's contact requests begin (``requests.window_start``)."""
    network = read_toml(data_path("demo_network.toml"), "demo network file")
    return parse_utc(network["requests"]["window_start"], "requests.window_start")


def load_demo_network(session: Session, known_tokens: Mapping[str, str] | None = None
                      ) -> tuple[list[DemoToken], dict[tuple[str, str], int]]:
    """Add what is missing of the demo network; return each organisation's admin token and the counts added.

    Rows are matched by their natural keys (organisation name, station name within its
    organisation, antenna name within its station, antenna and grantee of a policy,
    satellite of a demo owner by NORAD id, satellite and epoch of an element set), so a
    second load adds none.  ``known_tokens`` (organisation name -> token, as the tokens
    file keeps them) are kept where they still work; see ``demo_tokens``.
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
        owner = owners[index % len(owners)]
        # NORAD ids are unique per organisation: another partner may track the same satellite.
        satellite = session.scalars(select(Satellite).where(Satellite.norad_id == element_set.norad_id,
                                                            Satellite.org_id.in_(o.id for o in owners))
                                    ).first()
        if satellite is None:
            satellite = Satellite(org_id=owner.id, norad_id=element_set.norad_id, name=element_set.name,
                                  is_public=owner.id in public_owners)
            session.add(satellite)
            session.flush()
            added["satellite"] += 1
        # The shipped sets are a CelesTrak GP snapshot: they belong to the satellite's default source (CelesTrak GP
        # by catalog number), so a sync (groundshare elements sync, the worker) supersedes them with newer epochs.
        ensure_default_sources(session, satellite)
        source = celestrak_source(session, satellite)
        record = get_or_add(ElementSetRecord, "element set", satellite_id=satellite.id, epoch=element_set.epoch)
        record.format = ElementTextFormat.TLE
        record.text = f"{element_set.name}\n{element_set.line1}\n{element_set.line2}\n"
        record.source = satellites["elements"]
        record.source_id = record.source_id or source.id
        record.fetched_at = record.fetched_at or utc_now()
    session.flush()
    wanted = network["requests"]
    window_start = parse_utc(wanted["window_start"], "requests.window_start")
    window_end = parse_utc(wanted["window_end"], "requests.window_end")
    satellites_by_norad = {s.norad_id: s for s in session.scalars(
        select(Satellite).where(Satellite.org_id.in_(o.id for o in owners)))}
    for index, element_set in enumerate(elements):
        satellite = satellites_by_norad[element_set.norad_id]
        request = get_or_add(ContactRequest, "contact request", org_id=satellite.org_id, satellite_id=satellite.id,
                             window_start=window_start, window_end=window_end)
        request.min_duration_s = wanted["min_duration_s"]
        request.min_elevation_deg = wanted["min_elevation_deg"]
        request.priority = wanted["priorities"][index % len(wanted["priorities"])]
    session.flush()
    return demo_tokens(session, list(orgs.values()), known_tokens or {}), {
        (noun, nouns[noun]): n for noun, n in added.items()}


def demo_tokens(session: Session, orgs: list[Organisation], known: Mapping[str, str]) -> list[DemoToken]:
    """Return an admin token for each of ``orgs``: its ``known`` one while it works, else a new one.

    A known token works when the database holds its hash for that organisation with the
    admin role, not revoked and not expired.  Other tokens are left alone: replacing one
    would cut off whoever configured it.  The caller commits.
    """
    now = utc_now()
    out = []
    for org in orgs:
        token = known.get(org.name)
        reason = "no token was kept for it (a first load, or a new tokens file)"
        if token is not None:
            row = session.scalars(select(ApiToken).where(ApiToken.token_hash == hash_token(token))).one_or_none()
            if row is None or row.org_id != org.id:
                reason = "the kept one is unknown to this database"
            elif row.revoked_at is not None:
                reason = f"the kept one was revoked at {format_utc(row.revoked_at)}"
            elif row.expires_at is not None and row.expires_at <= now:
                reason = f"the kept one expired at {format_utc(row.expires_at)}"
            elif row.role != Role.ADMIN:
                reason = f"the kept one is a {row.role.value} token, not an admin one"
            else:
                out.append(DemoToken(org.name, token, new=False))
                continue
        row, token = ApiToken.issue(org.id, Role.ADMIN, label=DEMO_TOKEN_LABEL)
        session.add(row)
        out.append(DemoToken(org.name, token, new=True, reason=reason))
    session.flush()
    return out


def anchor_demo_clock(session: Session) -> tuple[NetworkTime, bool]:
    """Anchor the network's clock at the demo's start unless it is anchored already; return it and whether set.

    From then on the network's time runs from ``demo_requests_start()`` at the wall
    clock's pace.  The caller commits.
    """
    from groundshare.store.clock import network_time, set_network_clock

    clock = network_time(session)
    if clock.mode != "live":
        return clock, False
    start = demo_requests_start()
    elements = read_toml(data_path("demo_network.toml"), "demo network file")["satellites"]["elements"]
    reason = (f"the demo network runs from its requests' start, {format_utc(start)}, near its element sets' "
              f"epochs ({elements})")
    return set_network_clock(session, start, reason=reason), True


# The tokens file: admin tokens of the demo organisations, kept between loads.

TOKENS_FILE_HEADER = """\
# Admin API tokens of the groundshare demo network's organisations, kept by `groundshare demo load`.
# Secret: whoever holds a token acts for its organisation. `demo load` keeps each token while it
# works and issues a new one only for an organisation whose token is missing, revoked or expired.
"""


def read_tokens_file(path: Path) -> dict[str, str]:
    """Return the organisation -> token map of a tokens file ({} when there is none)."""
    if not path.exists():
        return {}
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise InvalidInputError(f"tokens file {path} cannot be read ({exc}); fix it, or delete it to have new "
                                "tokens issued", loc=("file", str(path))) from None
    tokens = document.get("tokens", {})
    if not isinstance(tokens, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in tokens.items()):
        raise InvalidInputError(f"tokens file {path}: [tokens] must map organisation names to token strings; "
                                "fix it, or delete it to have new tokens issued", loc=("file", str(path), "tokens"))
    return dict(tokens)


def write_tokens_file(path: Path, tokens: list[DemoToken], database: str) -> None:
    """Write ``tokens`` to ``path`` (TOML, readable by its owner only), replacing the file atomically."""
    lines = [TOKENS_FILE_HEADER, f"database = {_toml_string(database)}\n", "\n[tokens]\n"]
    lines += [f"{_toml_string(t.organisation)} = {_toml_string(t.token)}\n" for t in tokens]
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as out:
            out.write("".join(lines))
        os.chmod(partial, 0o600)  # whatever the umask
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def _toml_string(text: str) -> str:
    """Return ``text`` as a TOML basic string (JSON's escapes are TOML's)."""
    return json.dumps(text, ensure_ascii=False)


def demo_problem(hours: float = 6.0) -> Problem:
    """Return the demo network's first ``hours`` of contact requests as a scheduling problem.

    Antennas are the demo stations' (``station/antenna``, owned as in the demo),
    satellites the shipped CubeSats dealt to their owners as ``load_demo_network`` deals
    them, candidates every pass meeting the requests' minimum elevation and duration
    (worth its seconds, times 1 + the request's priority), and policies the demo's grants.
    ``data/demo_problem.json`` is ``demo_problem().to_json()``.
    """
    from groundshare.schedule import AntennaSpec, PolicySpec, SatelliteSpec
    from groundshare.schedule.candidates import problem_from_network

    network = read_toml(data_path("demo_network.toml"), "demo network file")
    sites = {site.name: site for site in load_stations(data_path("demo_stations.toml"))}
    spec = network["antenna"]
    owner_of = {station: entry["name"] for entry in network["organisation"] for station in entry["stations"]}
    antennas = {name: AntennaSpec(id=f"{name}/{spec['name']}", organisation=owner, setup_s=spec["setup_s"],
                                  teardown_s=spec["turnaround_s"]) for name, owner in owner_of.items()}
    owners = network["satellites"]["owners"]
    elements = sorted(load_elements(data_path(network["satellites"]["elements"])).elements, key=lambda e: e.norad_id)
    wanted = network["requests"]
    satellites = [SatelliteSpec(id=str(e.norad_id), organisation=owners[i % len(owners)])
                  for i, e in enumerate(elements)]
    priorities = {str(e.norad_id): 1.0 + max(wanted["priorities"][i % len(wanted["priorities"])], 0)
                  for i, e in enumerate(elements)}
    policies = [PolicySpec(antenna=antennas[entry["station"]].id, organisation=grantee,
                           hours_per_week=entry.get("hours_per_week"))
                for entry in network["policy"] for grantee in entry["grantees"]]
    problem, _ = problem_from_network(elements, [sites[name] for name in owner_of], start=demo_requests_start(),
                                      duration_s=hours * HOUR_S, antennas=antennas, satellites=satellites,
                                      min_elevation_deg=wanted["min_elevation_deg"],
                                      min_duration_s=wanted["min_duration_s"], priorities=priorities,
                                      policies=policies, workers=1)
    return problem


def celestrak_source(session: Session, satellite: Satellite) -> ElementSource:
    """Return the satellite's CelesTrak GP source by catalog number (made by ``ensure_default_sources``)."""
    return session.scalars(select(ElementSource).where(ElementSource.satellite_id == satellite.id,
                                                       ElementSource.kind == SourceKind.CELESTRAK)
                           .order_by(ElementSource.priority.desc(), ElementSource.id).limit(1)).one()
