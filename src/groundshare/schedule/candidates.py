"""Candidates from passes: every pass of a ``PassTable`` becomes a bookable ``Candidate``.

The pass engine says when each satellite is visible from each station; this module turns
those passes into the scheduler's ``Problem``: one candidate per pass, on the station's
antenna, from AOS to LOS, worth its contact time in seconds (``value="duration"``) or the
bytes the link budget says it can bring down (``value="volume"``).

Pass ids are ``"{norad_id}@{station}#{k}"``, ``k`` counting that satellite's passes over
that station from 0 in AOS order, so the same table always gives the same ids.
``problem_from_dataset`` builds the same problem from a pass dataset written by
``groundshare passes --output DIR``, reading only the stations, satellites and days it needs.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Literal

import numpy as np

from groundshare.errors import InvalidInputError
from groundshare.orbits import ElementSet
from groundshare.parallel import Executor
from groundshare.passes import PassTable, Site, find_passes
from groundshare.schedule.problem import AntennaSpec, Blackout, Candidate, PolicySpec, Problem, SatelliteSpec
from groundshare.timeutil import format_utc, require_utc

ValueKind = Literal["duration", "volume"]


def pass_ids(table: PassTable) -> list[str]:
    """Return a stable id for each pass of ``table``: ``"{norad_id}@{station}#{k}"``.

    ``k`` counts the passes of one satellite over one station from 0 in AOS order.
    """
    n = len(table)
    if n == 0:
        return []
    sat = table.sat_index.astype(np.int64)
    site = table.site_index.astype(np.int64)
    # Sort by (satellite, site, AOS); the rank inside each (satellite, site) run is k.
    order = np.lexsort((table.aos, site, sat))
    key = sat[order] * (len(table.site_names) + 1) + site[order]
    run_start = np.r_[True, key[1:] != key[:-1]]
    first = np.maximum.accumulate(np.where(run_start, np.arange(n), 0))
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n) - first
    norad = table.norad_id
    return [f"{norad[i]}@{table.site_names[site[i]]}#{rank[i]}" for i in range(n)]


def candidates_from_passes(table: PassTable, *, start: datetime, end: datetime,
                           antennas: Mapping[str, AntennaSpec], satellites: Sequence[SatelliteSpec],
                           min_duration_s: float = 0.0, value: ValueKind = "duration",
                           volumes: np.ndarray | None = None, priorities: Mapping[str, float] | None = None,
                           policies: Sequence[PolicySpec] | None = None, blackouts: Sequence[Blackout] = (),
                           entitlements: Mapping[str, float] | None = None) -> Problem:
    """Return the scheduling problem whose candidates are the passes of ``table``.

    - ``antennas`` maps each station name of the table to the antenna that serves it;
    - ``satellites`` has one ``SatelliteSpec`` per NORAD id of the table, its ``id`` the
      NORAD id as a string;
    - each pass becomes one candidate from AOS to LOS (cut to whole milliseconds, as in
      the JSON form), clipped to ``[start, end]``
      (passes wholly outside are left out, and so are those shorter than
      ``min_duration_s`` after clipping), with the pass's AOS and LOS azimuths;
    - its value is the contact time in seconds (``value="duration"``), or the data volume
      in bytes (``value="volume"``: ``volumes``, one per pass of the table, or else the
      table's ``volume_bytes`` column from ``link_along_passes``);
    - ``priorities`` (satellite id -> weight, default 1) sets each candidate's priority.

    ``policies``, ``blackouts`` and ``entitlements`` are handed to the ``Problem``.
    Raises ``InvalidInputError`` naming a station without an antenna, a satellite without
    a spec, or a missing volume.
    """
    start = require_utc(start, "start")
    end = require_utc(end, "end")
    if end <= start:
        raise InvalidInputError(f"end {format_utc(end)} must be after start {format_utc(start)}", loc=("end",))
    if value not in ("duration", "volume"):
        raise InvalidInputError(f"value is {value!r}; expected 'duration' (seconds) or 'volume' (bytes)",
                                loc=("value",))
    sats = {s.id: s for s in satellites}
    n = len(table)
    site_index = table.site_index.astype(np.int64)
    used_sites = np.unique(site_index)
    missing = [table.site_names[k] for k in used_sites if table.site_names[k] not in antennas]
    if missing:
        raise InvalidInputError(f"no antenna given for station(s) {', '.join(missing)}; map every station of the "
                                f"pass table to an AntennaSpec, or filter the table with table.for_station()",
                                loc=("antennas",))
    norad = table.norad_id
    missing_sats = sorted({int(x) for x in np.unique(norad) if str(int(x)) not in sats})
    if missing_sats:
        raise InvalidInputError(f"no SatelliteSpec for NORAD id(s) {', '.join(map(str, missing_sats))}; give one "
                                f"per satellite of the pass table, its id the NORAD id as a string",
                                loc=("satellites",))
    if value == "volume":
        if volumes is None:
            if "volume_bytes" not in table.columns:
                raise InvalidInputError("value='volume' needs data volumes: pass volumes= (bytes per pass) or a "
                                        "table with a volume_bytes column (table.with_columns(**links.columns()))",
                                        loc=("volumes",))
            volumes = table.columns["volume_bytes"]
        volumes = np.asarray(volumes, dtype=float)
        if volumes.shape != (n,):
            raise InvalidInputError(f"volumes has shape {volumes.shape}; expected one value per pass ({n},)",
                                    loc=("volumes",))

    # Times are cut to whole milliseconds, the resolution of the JSON form, so a problem
    # survives to_json/from_json unchanged; then clipped to the window.
    start64 = np.datetime64(start.replace(tzinfo=None), "us")
    end64 = np.datetime64(end.replace(tzinfo=None), "us")
    aos = np.maximum(table.aos.astype("datetime64[ms]").astype("datetime64[us]"), start64)
    los = np.minimum(table.los.astype("datetime64[ms]").astype("datetime64[us]"), end64)
    duration_s = (los - aos) / np.timedelta64(1, "s")
    keep = (duration_s > 0.0) & (duration_s >= min_duration_s)
    if value == "duration":
        values = duration_s
    else:
        # A clipped pass keeps the share of its volume that falls inside the window.
        full_s = table.duration_s
        inside_s = (np.minimum(table.los, end64) - np.maximum(table.aos, start64)) / np.timedelta64(1, "s")
        share = np.divide(inside_s, full_s, out=np.ones(n), where=full_s > 0)
        values = volumes * np.clip(share, 0.0, 1.0)

    ids = pass_ids(table)
    aos_dt = aos.astype(object)
    los_dt = los.astype(object)
    aos_az = table.aos_azimuth_deg
    los_az = table.los_azimuth_deg
    priority = priorities or {}
    passes = []
    for i in np.flatnonzero(keep):
        sat_id = str(int(norad[i]))
        passes.append(Candidate(
            id=ids[i], satellite=sat_id, antenna=antennas[table.site_names[site_index[i]]].id,
            start=aos_dt[i].replace(tzinfo=UTC), end=los_dt[i].replace(tzinfo=UTC), value=float(values[i]),
            priority=float(priority.get(sat_id, 1.0)), aos_azimuth_deg=float(aos_az[i]),
            los_azimuth_deg=float(los_az[i])))
    passes.sort(key=lambda p: (p.start, p.id))
    unique_antennas = list({a.id: a for a in antennas.values()}.values())
    return Problem(start=start, end=end, antennas=unique_antennas, satellites=list(satellites), passes=passes,
                   policies=None if policies is None else list(policies), blackouts=list(blackouts),
                   entitlements=None if entitlements is None else dict(entitlements))


def problem_from_network(elements: Sequence[ElementSet], sites: Sequence[Site], *, start: datetime,
                         duration_s: float, antennas: Mapping[str, AntennaSpec],
                         satellites: Sequence[SatelliteSpec], min_elevation_deg: float | None = None,
                         min_duration_s: float = 0.0, priorities: Mapping[str, float] | None = None,
                         policies: Sequence[PolicySpec] | None = None, blackouts: Sequence[Blackout] = (),
                         entitlements: Mapping[str, float] | None = None,
                         workers: int | None = None, executor: Executor | None = None,
                         progress: Callable[[int, int], None] | None = None) -> tuple[Problem, PassTable]:
    """Return the problem of ``elements`` over ``sites`` for ``duration_s`` from ``start``, and its passes.

    Runs ``find_passes`` (``min_elevation_deg`` replacing the sites' own when given) and
    then ``candidates_from_passes`` with contact time as the value; see both for the
    arguments.  ``workers`` or ``executor`` (local processes or a Dask cluster, see
    ``parallel.make_executor``) and ``progress`` go to ``find_passes``.
    """
    start = require_utc(start, "start")
    table = find_passes(elements, sites, start=start, duration_s=duration_s, min_elevation_deg=min_elevation_deg,
                        workers=workers, executor=executor, progress=progress)
    end = datetime.fromtimestamp(start.timestamp() + float(duration_s), tz=UTC)
    problem = candidates_from_passes(table, start=start, end=end, antennas=antennas, satellites=satellites,
                                     min_duration_s=min_duration_s, priorities=priorities, policies=policies,
                                     blackouts=blackouts, entitlements=entitlements)
    return problem, table


def problem_from_dataset(path: str | os.PathLike[str], *, start: datetime, end: datetime,
                         antennas: Mapping[str, AntennaSpec], satellites: Sequence[SatelliteSpec],
                         min_duration_s: float = 0.0, priorities: Mapping[str, float] | None = None,
                         policies: Sequence[PolicySpec] | None = None, blackouts: Sequence[Blackout] = (),
                         entitlements: Mapping[str, float] | None = None) -> tuple[Problem, PassTable]:
    """Return the problem over ``[start, end]`` from a pass dataset (``passes --output DIR``), and its passes.

    Reads only the passes of the stations of ``antennas`` and the satellites of
    ``satellites`` (ids: NORAD ids as strings) that start before ``end``
    (``passes.dataset.pass_table_from_dataset``), then ``candidates_from_passes`` with
    contact time as the value: the same problem as ``candidates_from_passes`` on the table
    ``find_passes`` gives over the dataset's window.  Passes before ``start`` are read too
    (their indices only matter): pass ids count each satellite's passes over a station
    from the dataset's start, so they are the same whichever window is planned.
    """
    from groundshare.passes.dataset import pass_table_from_dataset

    norad_ids = []
    for spec in satellites:
        if not spec.id.isdigit():
            raise InvalidInputError(f"satellite id {spec.id!r} is not a NORAD id; a pass dataset knows satellites by "
                                    f"NORAD id (as a string)", loc=("satellites",))
        norad_ids.append(int(spec.id))
    table = pass_table_from_dataset(path, satellites=norad_ids, stations=list(antennas), end=end)
    problem = candidates_from_passes(table, start=start, end=end, antennas=antennas, satellites=satellites,
                                     min_duration_s=min_duration_s, priorities=priorities, policies=policies,
                                     blackouts=blackouts, entitlements=entitlements)
    return problem, table
