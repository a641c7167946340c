"""Booking opportunities: every pass of one satellite over every antenna the caller may book.

An antenna is the caller's to book when it owns it, or when its owner granted the caller a
sharing policy on it whose bands are empty or include the antenna's band (the rule that
``store.policy`` applies to a booking, and ``store.planning`` to a plan).  Passes come
from the satellite's orbit in force (``api.passes``), one search over the antennas'
stations; each pass is then one row per antenna of its station.

The link is computed once per pass, not per antenna: with the network's stored radio
parameters (``link.contact_geometry.downlink_config``: a fixed-rate link with the
satellite's EIRP, frequency and rate) the margin is the margin into a 0 dB/K receiver
plus the antenna's G/T, so the samples along a pass are reused for every antenna.  The
data volume is the rate times the time the margin is at least 0 dB.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from sqlalchemy import or_, select
from sqlalchemy.orm import Session, joinedload

from groundshare.api.passes import ElementsInForce, station_sites
from groundshare.api.queries import LIVE_CONTACT_STATUSES, visible_contacts
from groundshare.api.schemas import OpportunitiesPublic, OpportunityPublic
from groundshare.link.along import link_along_passes
from groundshare.link.contact_geometry import downlink_config
from groundshare.link.volume import fixed_rate_volume_bytes
from groundshare.passes import Site, find_passes
from groundshare.passes.table import PassTable
from groundshare.passes.track import sample_passes
from groundshare.store import Antenna, Contact, Organisation, Satellite, SharingPolicy, Station
from groundshare.timeutil import format_utc
from groundshare.units import HOUR_S

#: Seconds between the link budget's samples along a pass.
LINK_STEP_S = 5.0


@dataclass(frozen=True)
class UsableAntenna:
    """An antenna the caller may book, and the sharing policy that lets it (None: its own)."""

    antenna: Antenna
    policy: SharingPolicy | None


@dataclass(frozen=True)
class PassLink:
    """The link along every pass into a 0 dB/K receiver: per-sample margins and weights, and each pass's rows."""

    margin_db: np.ndarray
    weight_s: np.ndarray
    owner: np.ndarray
    first: np.ndarray
    rate_bps: float

    def for_g_over_t(self, g_over_t_dbk: float, n_pass: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Return per pass the min and max margin (dB) and the bytes into an antenna of ``g_over_t_dbk``."""
        margin = self.margin_db + g_over_t_dbk
        volume, _ = fixed_rate_volume_bytes(margin, self.weight_s, self.owner, n_pass, self.rate_bps)
        return np.fmin.reduceat(margin, self.first), np.fmax.reduceat(margin, self.first), volume


def usable_antennas(session: Session, org: Organisation) -> list[UsableAntenna]:
    """Return the antennas ``org`` may book, by id: its own, and partners' shared with it for their band."""
    policies = {p.antenna_id: p for p in session.scalars(
        select(SharingPolicy).where(SharingPolicy.grantee_org_id == org.id))}
    antennas = session.scalars(
        select(Antenna).join(Station).options(joinedload(Antenna.station))
        .where(or_(Station.org_id == org.id, Antenna.id.in_(list(policies)))).order_by(Antenna.id))
    usable = []
    for antenna in antennas:
        if antenna.station.org_id == org.id:
            usable.append(UsableAntenna(antenna, None))
            continue
        policy = policies[antenna.id]
        bands = [str(b).lower() for b in policy.bands or []]
        if policy.owner_org_id == antenna.station.org_id and (not bands or antenna.band.value in bands):
            usable.append(UsableAntenna(antenna, policy))
    return usable


def opportunities(session: Session, org: Organisation, satellite: Satellite, elements: ElementsInForce, *,
                  start: datetime, hours: float, now: datetime) -> OpportunitiesPublic:
    """Return every pass of ``satellite`` over every antenna ``org`` may book in ``[start, start + hours]``.

    In AOS order (then antenna id); ``now`` (the network's clock) says which are still bookable.
    """
    usable = usable_antennas(session, org)
    by_station: dict[int, list[UsableAntenna]] = defaultdict(list)
    for u in usable:
        by_station[u.antenna.station_id].append(u)
    stations = sorted({u.antenna.station for u in usable}, key=lambda s: s.id)
    if not stations:
        return OpportunitiesPublic(data=[], count=0, warnings=[
            "your organisation has no antenna of its own and none shared with it for its band, so there is "
            "nothing to book; add a station (POST /stations) or ask a partner for a sharing policy"])
    sites = station_sites(stations)
    table = find_passes(elements.elements, sites, start=start, duration_s=hours * HOUR_S, workers=1)
    link = _pass_link(satellite, table, elements, sites)
    links = _links_by_antenna(link, usable, len(table))
    booked = _live_contacts(session, org, satellite, [u.antenna.id for u in usable], start,
                            start + timedelta(hours=hours))
    fields = elements.fields[0]
    rows: list[OpportunityPublic] = []
    for k, p in enumerate(table):
        station = stations[int(table.site_index[k])]
        for u in by_station[station.id]:
            margins = links.get(u.antenna.id)
            rows.append(OpportunityPublic(
                antenna_id=u.antenna.id, antenna_name=u.antenna.name, station_id=station.id,
                station_name=station.name, owner_org_id=station.org_id,
                policy_id=u.policy.id if u.policy is not None else None,
                aos=format_utc(p.aos), tca=format_utc(p.tca), los=format_utc(p.los),
                max_elevation_deg=round(p.max_elevation_deg, 4), duration_s=round(p.duration_s, 3),
                aos_azimuth_deg=round(p.aos_azimuth_deg, 4), los_azimuth_deg=round(p.los_azimuth_deg, 4),
                min_margin_db=_rounded(margins[0][k]) if margins else None,
                max_margin_db=_rounded(margins[1][k]) if margins else None,
                data_volume_bytes=int(margins[2][k]) if margins else None,
                bookable=p.aos > now, booked_contact_id=_overlapping(booked.get(u.antenna.id, []), p.aos, p.los),
                **fields))
    return OpportunitiesPublic(data=rows, count=len(rows), warnings=list(table.warnings))


def _pass_link(satellite: Satellite, table: PassTable, elements: ElementsInForce,
               sites: Sequence[Site]) -> PassLink | None:
    """Return the link along each pass into a 0 dB/K receiver; None without the satellite's radio or any pass."""
    radio = (satellite.downlink_frequency_hz, satellite.downlink_eirp_dbw, satellite.data_rate_bps)
    if any(value is None for value in radio) or len(table) == 0:
        return None
    frequency_hz, eirp_dbw, rate_bps = (float(v) for v in radio)  # type: ignore[arg-type]
    tracks = sample_passes(table, elements.elements, sites, step_s=LINK_STEP_S, workers=1)
    config = downlink_config(frequency_hz=frequency_hz, eirp_dbw=eirp_dbw, data_rate_bps=rate_bps,
                             g_over_t_dbk=0.0, source=f"satellite {satellite.id}")
    budget = link_along_passes(table, tracks, config, sites).budget
    margin = np.asarray(budget.margin_db, dtype=float)
    margin = np.where(tracks.ok, margin, np.nan)  # a sample SGP4 could not propagate says nothing
    return PassLink(margin_db=margin, weight_s=tracks.weight_s, owner=tracks.pass_index, first=tracks.starts[:-1],
                    rate_bps=rate_bps)


def _links_by_antenna(link: PassLink | None, usable: Sequence[UsableAntenna],
                      n_pass: int) -> dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Return per antenna with a G/T the per-pass (min margin, max margin, bytes), once per distinct G/T."""
    if link is None:
        return {}
    by_g_over_t: dict[float, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    out = {}
    for u in usable:
        g_over_t = u.antenna.g_over_t_dbk
        if g_over_t is None:
            continue
        if g_over_t not in by_g_over_t:
            by_g_over_t[g_over_t] = link.for_g_over_t(g_over_t, n_pass)
        out[u.antenna.id] = by_g_over_t[g_over_t]
    return out


def _live_contacts(session: Session, org: Organisation, satellite: Satellite, antenna_ids: list[int],
                   start: datetime, end: datetime) -> dict[int, list[tuple[datetime, datetime, int]]]:
    """Return per antenna the live contacts of the satellite ``org`` may see meeting ``[start, end]`` (one query)."""
    query = (visible_contacts(session, org).with_only_columns(Contact.antenna_id, Contact.start_time,
                                                                Contact.end_time, Contact.id)
             .where(Contact.satellite_id == satellite.id, Contact.antenna_id.in_(antenna_ids),
                    Contact.status.in_(LIVE_CONTACT_STATUSES), Contact.start_time <= end, Contact.end_time >= start)
             .order_by(Contact.start_time, Contact.id))
    out: dict[int, list[tuple[datetime, datetime, int]]] = defaultdict(list)
    for antenna_id, t0, t1, contact_id in session.execute(query):
        out[antenna_id].append((t0, t1, contact_id))
    return out


def _overlapping(contacts: list[tuple[datetime, datetime, int]], aos: datetime, los: datetime) -> int | None:
    """Return the first contact overlapping ``[aos, los]``, or None."""
    return next((contact_id for t0, t1, contact_id in contacts if t0 < los and t1 > aos), None)


def _rounded(value: float) -> float | None:
    return None if not np.isfinite(value) else round(float(value), 3)

