"""Which object of a launch is ours: rank the launch's objects by the receptions and Doppler they explain.

Evidence:

- receptions: ``(station, received_at)`` of frames the satellite's own stations decoded
  (``parse_receptions``: CSV ``station,received_at``, ISO 8601 UTC);
- Doppler: received frequency over time at a station (``parse_doppler``: STRF's
  ``MJD frequency_Hz flux site_id`` lines, or CSV ``station,received_at,frequency_hz``).

Method (``identify``):

1. Consistency: a candidate explains a reception when it is above the station's
   threshold (``min_elevation_deg`` and horizon mask) at the reception time or within
   ``tolerance_s`` of it (the candidates' element sets are a few days old: a few
   seconds along track).  Candidates are ranked first by the receptions they explain.
2. Doppler: the received frequency is ``f = f0 * (1 - range_rate / c)``, linear in the
   rest frequency ``f0``, so each candidate's best ``f0`` is a closed-form least-squares
   solution and its residual RMS says how well its range rate fits.  Outliers (a
   spurious peak, an interferer) are found robustly once, against the candidate with
   the smallest median absolute residual (samples more than ``clip_sigma`` robust
   sigmas from it, iterated), and the same samples are left out for every candidate so
   that all RMS values are over the same data; they are reported.
3. Ranking: most receptions explained, then smallest Doppler RMS; a verdict sentence
   and a confidence (``clear``, ``ambiguous``, ``none``) an operator can read.

All candidates must come from one launch (same international designator,
``launch_designator``); ``launch_members`` picks one launch out of a whole catalogue.
Geometry is SGP4 (``orbits.propagate``) and ``passes.look``'s topocentric core,
vectorised over candidates x observations.
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import numpy as np

from groundshare.errors import InvalidInputError
from groundshare.orbits.elements import ElementSet
from groundshare.orbits.propagate import propagate_itrs, satrec_array
from groundshare.passes.look import topocentric_rows
from groundshare.passes.site import Site, sites_to_arrays
from groundshare.timeutil import datetime64_to_utc, format_utc, parse_utc
from groundshare.units import C_M_S

#: Default time tolerance of the consistency test, seconds (a few days' along-track error of a fresh set).
TOLERANCE_S = 5.0
#: Samples of the consistency test across [-tolerance, +tolerance].
TOLERANCE_SAMPLES = 5
#: Robust clipping of Doppler outliers, in robust sigmas (1.4826 x median absolute residual).
CLIP_SIGMA = 5.0
#: Lowest robust sigma used for clipping, Hz (a perfect synthetic fit would otherwise clip noise).
MIN_SIGMA_HZ = 1.0
#: A break longer than this between two Doppler samples of one station is a gap (reported).
GAP_S = 30.0
#: STRF times are Modified Julian Dates; MJD 40587 is 1970-01-01.
MJD_UNIX_EPOCH = 40587.0
_DESIGNATOR = re.compile(r"^(\d{4})-(\d{3})([A-Z]{0,3})$")
_EPOCH64 = np.datetime64("1970-01-01T00:00:00", "us")

Confidence = Literal["clear", "ambiguous", "none"]


# --------------------------------------------------------------------------------------------
# Evidence: receptions and Doppler series
# --------------------------------------------------------------------------------------------


def _sort_by_time(obs: Any, **columns: Any) -> None:
    """Set a frozen observation set's arrays as numpy arrays (``station`` str, ``received_at`` datetime64[us] and
    ``columns``: name -> dtype), sorted by time (stable)."""
    order = np.argsort(obs.received_at, kind="stable")
    dtypes = {"station": str, "received_at": "datetime64[us]", **columns}
    for name, dtype in dtypes.items():
        object.__setattr__(obs, name, np.asarray(getattr(obs, name), dtype=dtype)[order])


@dataclass(frozen=True)
class Receptions:
    """Frames received: ``station`` (names) and ``received_at`` (``datetime64[us]``, UTC), sorted by time."""

    station: np.ndarray
    received_at: np.ndarray
    source: str = ""

    def __post_init__(self) -> None:
        _sort_by_time(self)

    def __len__(self) -> int:
        return int(self.received_at.size)

    @classmethod
    def empty(cls, source: str = "") -> Receptions:
        return cls(np.array([], dtype=str), np.array([], dtype="datetime64[us]"), source)

    def pass_numbers(self, gap_s: float = 300.0) -> np.ndarray:
        """Return each reception's pass (0, 1, ... in the order the passes began).

        A new pass starts at each change of station, or after ``gap_s`` without a reception.
        """
        if len(self) == 0:
            return np.zeros(0, dtype=int)
        t = self.received_at
        order = np.lexsort((t, self.station))
        new = np.ones(t.size, dtype=bool)
        new[1:] = (self.station[order][1:] != self.station[order][:-1]) | (
            np.diff(t[order]) > np.timedelta64(int(gap_s * 1e6), "us"))
        number = np.empty(t.size, dtype=int)
        number[order] = np.cumsum(new) - 1
        firsts = np.array([t[number == k].min() for k in range(number.max() + 1)])
        return np.argsort(np.argsort(firsts))[number]


@dataclass(frozen=True)
class DopplerSeries:
    """Received frequency over time: ``station``, ``received_at`` (``datetime64[us]``) and ``frequency_hz``."""

    station: np.ndarray
    received_at: np.ndarray
    frequency_hz: np.ndarray
    source: str = ""

    def __post_init__(self) -> None:
        _sort_by_time(self, frequency_hz=float)

    def __len__(self) -> int:
        return int(self.received_at.size)

    @property
    def gaps(self) -> int:
        """Return how many breaks longer than ``GAP_S`` lie between samples of one station."""
        total = 0
        for name in np.unique(self.station):
            t = self.received_at[self.station == name]
            total += int(np.count_nonzero(np.diff(t) > np.timedelta64(int(GAP_S * 1e6), "us")))
        return total

    @classmethod
    def concat(cls, series: Sequence[DopplerSeries]) -> DopplerSeries:
        """Return all series as one (sources joined with commas)."""
        if not series:
            return cls(np.array([], dtype=str), np.array([], dtype="datetime64[us]"), np.array([]), "")
        return cls(np.concatenate([s.station for s in series]), np.concatenate([s.received_at for s in series]),
                   np.concatenate([s.frequency_hz for s in series]), ",".join(s.source for s in series))


def _rows(text: str) -> Iterable[tuple[int, str]]:
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            yield number, stripped


def _csv_table(text: str, source: str, required: Sequence[str], what: str) -> list[tuple[int, dict[str, str]]]:
    rows = list(_rows(text))
    if not rows:
        return []
    header_line, header = rows[0]
    names = [h.strip().lower() for h in next(csv.reader([header]))]
    missing = [r for r in required if r not in names]
    if missing:
        raise InvalidInputError(
            f"{source} line {header_line}: the header is {header!r}; a {what} CSV needs the columns "
            f"{','.join(required)} (missing {', '.join(missing)})", loc=("file", source, f"line {header_line}"))
    out = []
    for number, line in rows[1:]:
        values = next(csv.reader([line]))
        if len(values) < len(required):
            raise InvalidInputError(f"{source} line {number}: {line!r} has {len(values)} fields; expected "
                                    f"{','.join(names)}", loc=("file", source, f"line {number}"))
        out.append((number, {n: v.strip() for n, v in zip(names, values, strict=False)}))
    return out


def _utc64(text: str, source: str, number: int, column: str) -> np.datetime64:
    try:
        value = parse_utc(text, column, allow_now=False)
    except InvalidInputError as exc:
        raise InvalidInputError(f"{source} line {number}: {column} {text!r} is not an ISO 8601 UTC time "
                                f"such as 2026-03-19T06:21:35Z ({exc})",
                                loc=("file", source, f"line {number}")) from None
    return np.datetime64(value.astimezone(UTC).replace(tzinfo=None), "us")


def _check_station(name: str, stations: Sequence[str] | None, source: str, number: int) -> str:
    if stations is not None and name not in stations:
        raise InvalidInputError(f"{source} line {number}: station {name!r} is not in the station file "
                                f"(it has {', '.join(stations)}); fix the name or add the station",
                                loc=("file", source, f"line {number}"))
    if not name:
        raise InvalidInputError(f"{source} line {number}: the station is empty", loc=("file", source, f"line {number}"))
    return name


def parse_receptions(text: str, *, source: str = "receptions", stations: Sequence[str] | None = None) -> Receptions:
    """Return the receptions of a CSV with the columns ``station,received_at`` (others are ignored).

    ``stations``, when given, are the known station names; another name is an error
    naming its line.  A file with only the header (or nothing) gives no receptions.
    """
    table = _csv_table(text, source, ("station", "received_at"), "receptions")
    names = [_check_station(row["station"], stations, source, n) for n, row in table]
    times = [_utc64(row["received_at"], source, n, "received_at") for n, row in table]
    return Receptions(np.array(names, dtype=str), np.array(times, dtype="datetime64[us]"), source)


def _frequency(text: str, source: str, number: int) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0.0):
        raise InvalidInputError(f"{source} line {number}: frequency {text!r} is not a positive number of Hz",
                                loc=("file", source, f"line {number}"))
    return value


def parse_doppler(text: str, *, source: str = "doppler", stations: Sequence[str] | None = None,
                  strf_sites: Mapping[int, str] | None = None) -> DopplerSeries:
    """Return the Doppler series of a STRF text file or a CSV ``station,received_at,frequency_hz``.

    The format is detected: a first line holding ``station`` is our CSV; otherwise each
    line is STRF's ``MJD frequency_Hz flux site_id`` (blank lines and ``#`` comments are
    skipped).  A STRF site number becomes a station through ``strf_sites`` (site number
    -> station name), else the station whose name is the number itself, else the only
    station when the file has one; otherwise the line is refused with what to give.
    """
    rows = list(_rows(text))
    if rows and "station" in rows[0][1].lower():
        table = _csv_table(text, source, ("station", "received_at", "frequency_hz"), "Doppler")
        names = [_check_station(row["station"], stations, source, n) for n, row in table]
        times = [_utc64(row["received_at"], source, n, "received_at") for n, row in table]
        freqs = [_frequency(row["frequency_hz"], source, n) for n, row in table]
        return DopplerSeries(np.array(names, dtype=str), np.array(times, dtype="datetime64[us]"),
                             np.array(freqs), source)
    names, times, freqs = [], [], []
    for number, line in rows:
        parts = line.split()
        where = ("file", source, f"line {number}")
        if len(parts) != 4:
            raise InvalidInputError(
                f"{source} line {number}: {line!r} is neither STRF 'MJD frequency_Hz flux site_id' (4 numbers) nor "
                f"a CSV with the header station,received_at,frequency_hz", loc=where)
        try:
            mjd = float(parts[0])
            site = int(parts[3])
        except ValueError:
            raise InvalidInputError(f"{source} line {number}: {line!r}: the MJD and the site_id must be numbers",
                                    loc=where) from None
        if not (math.isfinite(mjd) and 15_000.0 < mjd < 100_000.0):
            raise InvalidInputError(f"{source} line {number}: MJD {parts[0]!r} is not a Modified Julian Date "
                                    f"(e.g. 61118.2651)", loc=where)
        names.append(_strf_station(site, stations, strf_sites, source, number))
        us = round((mjd - MJD_UNIX_EPOCH) * 86_400e6)
        times.append(_EPOCH64 + np.timedelta64(us, "us"))
        freqs.append(_frequency(parts[1], source, number))
    return DopplerSeries(np.array(names, dtype=str), np.array(times, dtype="datetime64[us]"), np.array(freqs), source)


def _strf_station(site: int, stations: Sequence[str] | None, strf_sites: Mapping[int, str] | None,
                  source: str, number: int) -> str:
    if strf_sites and site in strf_sites:
        return _check_station(strf_sites[site], stations, source, number)
    if stations is None or str(site) in stations:
        return str(site)
    if len(stations) == 1:
        return stations[0]
    raise InvalidInputError(f"{source} line {number}: STRF site {site} is none of the stations "
                            f"({', '.join(stations)}); say which it is with --strf-site {site}=STATION",
                            loc=("file", source, f"line {number}"))


# --------------------------------------------------------------------------------------------
# Candidates: one launch
# --------------------------------------------------------------------------------------------


def launch_designator(object_id: str) -> str:
    """Return the launch part ``YYYY-NNN`` of an international designator such as ``2026-052B``, or ``""``."""
    match = _DESIGNATOR.match(object_id.strip().upper())
    return f"{match.group(1)}-{match.group(2)}" if match else ""


def launch_members(elements: Iterable[ElementSet], launch: str) -> list[ElementSet]:
    """Return the newest element set of every object of ``launch`` (``YYYY-NNN``), in catalogue order."""
    launch = launch.strip().upper()
    if not re.fullmatch(r"\d{4}-\d{3}", launch):
        raise InvalidInputError(f"launch {launch!r} is not an international designator's launch part such as "
                                f"2026-052", loc=("launch",))
    best: dict[int, ElementSet] = {}
    for e in elements:
        if launch_designator(e.object_id) == launch and (e.norad_id not in best or e.epoch > best[e.norad_id].epoch):
            best[e.norad_id] = e
    if not best:
        raise InvalidInputError(f"no object of launch {launch} among the candidates", loc=("launch",))
    return list(best.values())


def check_same_launch(candidates: Sequence[ElementSet]) -> str:
    """Return the candidates' launch ``YYYY-NNN``, or refuse naming those of another launch or of none."""
    if not candidates:
        raise InvalidInputError("no candidates given; give the element sets of the launch's objects",
                                loc=("candidates",))
    launches = [launch_designator(e.object_id) for e in candidates]
    nameless = [e for e, lau in zip(candidates, launches, strict=True) if not lau]
    if nameless:
        raise InvalidInputError(
            "candidates without an international designator (OBJECT_ID such as 2026-052B): "
            + ", ".join(f"{e.name} ({e.norad_id})" for e in nameless[:10])
            + "; give element sets that carry it", loc=("candidates",))
    counts: dict[str, int] = {}
    for lau in launches:
        counts[lau] = counts.get(lau, 0) + 1
    main = max(counts, key=lambda k: (counts[k], k))
    others = [e for e, lau in zip(candidates, launches, strict=True) if lau != main]
    if others:
        raise InvalidInputError(
            f"the candidates must all come from one launch; most are from {main}, but "
            + ", ".join(f"{e.name} ({e.norad_id}, {e.object_id})" for e in others[:10])
            + (f" and {len(others) - 10} more" if len(others) > 10 else "")
            + f" are not: remove them or pick one launch with --launch {main}", loc=("candidates",))
    return main


# --------------------------------------------------------------------------------------------
# Geometry: candidates x observations
# --------------------------------------------------------------------------------------------


def observation_geometry(elements: Sequence[ElementSet], sites: Sequence[Site], station: np.ndarray,
                         received_at: np.ndarray, offsets_s: np.ndarray | None = None
                         ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return elevation margin (deg), range rate (km/s) and SGP4 error codes of every candidate at every observation.

    Shapes (n_candidate, n_obs, n_offset): the geometry at ``received_at + offsets_s``
    (default: just the time itself).  The margin is the elevation minus the station's
    threshold at that azimuth (``Site.threshold_deg``): >= 0 means visible.
    """
    offsets = np.zeros(1) if offsets_s is None else np.asarray(offsets_s, dtype=float)
    site_names = [s.name for s in sites]
    index = {name: i for i, name in enumerate(site_names)}
    missing = sorted(set(np.unique(station).tolist()) - set(index))
    if missing:
        raise InvalidInputError(f"stations {', '.join(missing)} are not in the station file "
                                f"(it has {', '.join(site_names)})", loc=("stations",))
    site_index = np.array([index[s] for s in station], dtype=int)
    n_sat, n_obs, n_off = len(elements), int(received_at.size), offsets.size
    shape = (n_sat, n_obs, n_off)
    if n_obs == 0:
        return np.zeros(shape), np.zeros(shape), np.zeros(shape, dtype=np.uint8)
    start = datetime64_to_utc(received_at.min())
    t_s = ((received_at - received_at.min()) / np.timedelta64(1, "us") * 1e-6)[:, None] + offsets[None, :]
    err, r_km, v_km_s = propagate_itrs(satrec_array(elements), start, t_s.ravel())
    arrays = sites_to_arrays(sites)
    rows = np.broadcast_to(np.repeat(site_index, n_off), (n_sat, n_obs * n_off)).ravel()
    enu = arrays.enu[rows]
    sin_el, _, az_deg, _, rr = topocentric_rows(r_km.reshape(-1, 3), v_km_s.reshape(-1, 3), arrays.itrs_km[rows],
                                                enu[:, 0], enu[:, 1], enu[:, 2])
    threshold = np.empty_like(az_deg)
    for k, site in enumerate(sites):
        here = rows == k
        if here.any():
            threshold[here] = site.threshold_deg(az_deg[here])
    margin = np.degrees(np.arcsin(np.clip(sin_el, -1.0, 1.0))) - threshold
    return margin.reshape(shape), rr.reshape(shape), err.reshape(shape)


def tolerance_offsets(tolerance_s: float) -> np.ndarray:
    """Return the time offsets (s) at which the consistency test looks around each reception."""
    if not (math.isfinite(tolerance_s) and 0.0 <= tolerance_s <= 600.0):
        raise InvalidInputError(f"tolerance_s is {tolerance_s!r}; expected seconds in [0, 600]", loc=("tolerance_s",))
    return np.linspace(-tolerance_s, tolerance_s, TOLERANCE_SAMPLES) if tolerance_s > 0 else np.zeros(1)


def rest_frequency_fit(frequency_hz: np.ndarray, range_rate_km_s: np.ndarray, keep: np.ndarray | None = None
                       ) -> tuple[np.ndarray, np.ndarray]:
    """Return each candidate's least-squares rest frequency (Hz) and the residuals (Hz).

    ``frequency_hz`` (n,), ``range_rate_km_s`` (n_candidate, n); ``keep`` (n,) or
    (n_candidate, n) says which samples enter the fit (residuals are given for all).
    ``f = f0 * a`` with ``a = 1 - range_rate / c``: ``f0 = sum(f a) / sum(a a)``.
    """
    a = 1.0 - np.asarray(range_rate_km_s) * 1000.0 / C_M_S
    w = np.ones_like(a) if keep is None else np.broadcast_to(keep, a.shape).astype(float)
    f0 = np.einsum("cn,cn->c", w * a, np.broadcast_to(frequency_hz, a.shape)) / np.maximum(
        np.einsum("cn,cn->c", w * a, a), 1e-300)
    return f0, frequency_hz[None, :] - f0[:, None] * a


def robust_inliers(frequency_hz: np.ndarray, range_rate_km_s: np.ndarray, *, clip_sigma: float = CLIP_SIGMA,
                   min_sigma_hz: float = MIN_SIGMA_HZ, iterations: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """Return the inlier mask (n_candidate, n) and robust sigma (Hz) of each candidate's Doppler fit.

    Iterates: fit ``f0`` on the inliers, sigma = 1.4826 x median |residual| of the
    inliers, inliers = |residual| <= ``clip_sigma`` x max(sigma, ``min_sigma_hz``).
    """
    keep = np.ones(range_rate_km_s.shape, dtype=bool)
    sigma = np.full(range_rate_km_s.shape[0], np.inf)
    for _ in range(iterations):
        _, resid = rest_frequency_fit(frequency_hz, range_rate_km_s, keep)
        sigma = 1.4826 * np.nanmedian(np.where(keep, np.abs(resid), np.nan), axis=1)
        new = np.abs(resid) <= clip_sigma * np.maximum(sigma, min_sigma_hz)[:, None]
        if np.array_equal(new, keep):
            break
        keep = new
    return keep, sigma


# --------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DopplerOutlier:
    """A Doppler sample left out of every candidate's fit."""

    station: str
    received_at: datetime
    frequency_hz: float
    residual_hz: float

    def to_dict(self) -> dict[str, Any]:
        return {"station": self.station, "received_at": format_utc(self.received_at),
                "frequency_hz": self.frequency_hz, "residual_hz": round(self.residual_hz, 1)}


@dataclass(frozen=True)
class CandidateScore:
    """One candidate's evidence: receptions explained and Doppler fit."""

    norad_id: int
    name: str
    object_id: str
    consistent: int
    receptions: int
    doppler_rms_hz: float | None
    rest_frequency_hz: float | None
    doppler_samples: int
    propagation_errors: int = 0

    @property
    def explains_all(self) -> bool:
        return self.consistent == self.receptions

    def to_dict(self) -> dict[str, Any]:
        return {
            "norad_id": self.norad_id, "name": self.name, "object_id": self.object_id,
            "consistent": self.consistent, "receptions": self.receptions,
            "doppler_rms_hz": None if self.doppler_rms_hz is None else round(self.doppler_rms_hz, 2),
            "rest_frequency_hz": None if self.rest_frequency_hz is None else round(self.rest_frequency_hz, 2),
            "doppler_samples": self.doppler_samples,
        }

    def summary(self) -> str:
        text = f"{self.name}: {self.consistent} of {self.receptions}"
        if self.doppler_rms_hz is not None:
            text += f", {_hz(self.doppler_rms_hz)} RMS"
        return text


@dataclass(frozen=True)
class Identification:
    """The ranking, best first, with the evidence and a verdict."""

    launch: str
    ranking: list[CandidateScore]
    receptions: int
    doppler_samples: int
    outliers: list[DopplerOutlier] = field(default_factory=list)
    doppler_gaps: int = 0
    confidence: Confidence = "none"
    verdict: str = ""

    @property
    def best(self) -> CandidateScore | None:
        return self.ranking[0] if self.ranking else None

    def to_dict(self) -> dict[str, Any]:
        return {"launch": self.launch, "verdict": self.verdict, "confidence": self.confidence,
                "receptions": self.receptions, "doppler_samples": self.doppler_samples,
                "doppler_gaps": self.doppler_gaps, "outliers": [o.to_dict() for o in self.outliers],
                "ranking": [c.to_dict() for c in self.ranking]}


def _hz(value: float) -> str:
    return f"{value:.0f} Hz" if value >= 10 else f"{value:.1f} Hz"


# --------------------------------------------------------------------------------------------
# The ranking
# --------------------------------------------------------------------------------------------


def identify(candidates: Sequence[ElementSet], sites: Sequence[Site], receptions: Receptions,
             doppler: DopplerSeries | Sequence[DopplerSeries] | None = None, *, tolerance_s: float = TOLERANCE_S,
             clip_sigma: float = CLIP_SIGMA) -> Identification:
    """Rank ``candidates`` (one launch) by the receptions they explain, then by their Doppler RMS."""
    candidates = list(candidates)
    launch = check_same_launch(candidates)
    series = doppler if isinstance(doppler, DopplerSeries) else DopplerSeries.concat(list(doppler or []))
    offsets = tolerance_offsets(tolerance_s)
    margin, _, err = observation_geometry(candidates, sites, receptions.station, receptions.received_at, offsets)
    ok = (margin >= 0.0) & (err == 0)
    explained = ok.any(axis=2).sum(axis=1) if len(receptions) else np.zeros(len(candidates), dtype=int)
    failures = (err != 0).any(axis=2).sum(axis=1) if len(receptions) else np.zeros(len(candidates), dtype=int)
    rms = np.full(len(candidates), np.nan)
    f0 = np.full(len(candidates), np.nan)
    outliers: list[DopplerOutlier] = []
    n_dop = len(series)
    if n_dop:
        _, rr, derr = observation_geometry(candidates, sites, series.station, series.received_at)
        rr = rr[:, :, 0]
        failures = failures + (derr[:, :, 0] != 0).sum(axis=1)
        keep, sigma = robust_inliers(series.frequency_hz, rr, clip_sigma=clip_sigma)
        ref = int(np.nanargmin(np.where(np.isfinite(sigma), sigma, np.inf)))
        common = keep[ref]
        f0, resid = rest_frequency_fit(series.frequency_hz, rr, common)
        rms = np.sqrt(np.mean(resid[:, common] ** 2, axis=1)) if common.any() else rms
        outliers = [DopplerOutlier(str(series.station[i]), datetime64_to_utc(series.received_at[i]),
                                   float(series.frequency_hz[i]), float(resid[ref, i]))
                    for i in np.flatnonzero(~common)]
    scores = [CandidateScore(e.norad_id, e.name, e.object_id, int(explained[i]), len(receptions),
                             None if not n_dop else float(rms[i]), None if not n_dop else float(f0[i]),
                             n_dop - len(outliers), int(failures[i]))
              for i, e in enumerate(candidates)]
    scores.sort(key=lambda s: (-s.consistent, math.inf if s.doppler_rms_hz is None else s.doppler_rms_hz,
                               s.norad_id))
    confidence, verdict = _verdict(scores, len(receptions), n_dop, len(outliers))
    return Identification(launch, scores, len(receptions), n_dop, outliers, series.gaps if n_dop else 0,
                          confidence, verdict)


def _verdict(scores: list[CandidateScore], n_rec: int, n_dop: int, n_out: int) -> tuple[Confidence, str]:
    if not n_rec and not n_dop:
        return "none", (f"no receptions yet (and no Doppler): nothing to rank the {len(scores)} candidates by; "
                        f"add the frames' receptions as they come")
    best = scores[0]
    text = f"{best.name} ({best.norad_id})"
    if n_rec:
        text += f" explains {best.consistent} of {n_rec} receptions"
    if best.doppler_rms_hz is not None:
        text += (" and" if n_rec else "") + f" fits Doppler to {_hz(best.doppler_rms_hz)} RMS"
        if n_out:
            text += f" ({n_out} outlier{'s' if n_out != 1 else ''} left out)"
    if len(scores) > 1:
        nxt = scores[1]
        text += f"; next best {nxt.name} ({nxt.norad_id})"
        if n_rec:
            text += f": {nxt.consistent} of {n_rec}"
        if nxt.doppler_rms_hz is not None:
            text += f"{',' if n_rec else ':'} {_hz(nxt.doppler_rms_hz)} RMS"
    if n_rec and not best.explains_all:
        return "none", text + ("; no candidate explains every reception: check the reception times and stations, "
                               "or the candidates' element sets are too old")
    if len(scores) == 1:
        return "clear", text
    nxt = scores[1]
    if nxt.consistent < best.consistent:
        return "clear", text
    if best.doppler_rms_hz is not None and nxt.doppler_rms_hz is not None \
            and nxt.doppler_rms_hz > 2.0 * best.doppler_rms_hz:
        return "clear", text
    return "ambiguous", text + "; not yet decisive: wait for more passes (or Doppler) before choosing"


# --------------------------------------------------------------------------------------------
# Synthetic evidence (tests, benchmark, rehearsals)
# --------------------------------------------------------------------------------------------


def synthetic_evidence(truth: ElementSet, sites: Sequence[Site], start: datetime, duration_s: float, *,
                       rng: np.random.Generator, frame_step_s: float = 10.0, frame_loss: float = 0.3,
                       jitter_s: float = 0.5, doppler_step_s: float = 5.0, rest_frequency_hz: float = 437.5e6,
                       doppler_sigma_hz: float = 50.0, doppler_min_margin_deg: float = 3.0,
                       outlier_fraction: float = 0.02, gap_fraction: float = 0.2
                       ) -> tuple[Receptions, DopplerSeries]:
    """Return receptions and a Doppler series of ``truth`` over ``sites``, with realistic noise and gaps.

    Receptions: a frame every ``frame_step_s`` while ``truth`` is above a station's
    threshold, each lost with probability ``frame_loss``, time-tagged with Gaussian
    ``jitter_s``.  Doppler: every ``doppler_step_s`` above ``doppler_min_margin_deg`` of
    margin, ``f0 (1 - range_rate / c)`` plus Gaussian ``doppler_sigma_hz`` noise; runs of
    samples lost (about ``gap_fraction`` of them, in stretches of about a minute) and
    ``outlier_fraction`` of the rest replaced by spurious peaks 1 to 5 kHz away.
    """
    names = np.array([s.name for s in sites], dtype=str)

    def grid(step_s: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        t = np.arange(0.0, duration_s, step_s)
        t64 = np.datetime64(start.astimezone(UTC).replace(tzinfo=None), "us") + (t * 1e6).astype("timedelta64[us]")
        station = np.repeat(names, t.size)
        when = np.tile(t64, len(sites))
        margin, rr, err = observation_geometry([truth], sites, station, when)
        return station, when, margin[0, :, 0], np.where(err[0, :, 0] == 0, rr[0, :, 0], np.nan)

    station, when, margin, _ = grid(frame_step_s)
    got = (margin > 0.0) & (rng.random(margin.size) >= frame_loss)
    jitter = np.round(rng.normal(0.0, jitter_s, int(got.sum())) * 1e6).astype("timedelta64[us]")
    receptions = Receptions(station[got], when[got] + jitter, "synthetic")
    station, when, margin, rr = grid(doppler_step_s)
    use = (margin > doppler_min_margin_deg) & np.isfinite(rr)
    # Gaps: drop whole runs of ~12 samples (a minute at 5 s).
    run = 12
    runs = rng.random(margin.size // run + 1) < gap_fraction
    use &= ~np.repeat(runs, run)[: margin.size]
    freq = rest_frequency_hz * (1.0 - rr[use] * 1000.0 / C_M_S) + rng.normal(0.0, doppler_sigma_hz, int(use.sum()))
    bad = rng.random(freq.size) < outlier_fraction
    freq[bad] += rng.choice([-1.0, 1.0], int(bad.sum())) * rng.uniform(1e3, 5e3, int(bad.sum()))
    return receptions, DopplerSeries(station[use], when[use], freq, "synthetic")
