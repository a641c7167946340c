"""The deployment: the launch provider's element set or state vector, as SGP4 elements.

A deployment arrives as an element set (TLE/3LE or OMM, through ``orbits.load_elements``)
or as a state vector: a CCSDS OPM or OEM in KVN form (502.0-B), position in km and velocity
in km/s, in TEME, GCRF or EME2000 (J2000), centred on the Earth.  A state becomes SGP4
mean elements the standard way:

1. rotate it into TEME (GCRF/EME2000 -> mean of date by IAU 1976 precession, -> true of
   date by the leading terms of IAU 1980 nutation, -> TEME by the equation of the
   equinoxes; frame bias, ~23 mas or about 1 m, is left out);
2. take the osculating elements of the TEME state (WGS72 mu) as a first guess of the
   mean elements;
3. refine them by Newton iterations, so that SGP4 at the epoch reproduces the state:
   the unknowns are non-singular elements (mean motion, e cos w, e sin w, inclination,
   node, mean argument of latitude), the Jacobian comes from finite differences through
   ``sgp4`` itself (one ``SatrecArray`` call of seven element sets per iteration).

The fit reproduces the state to well under a metre; B* is not observable from one state
and is taken as given (0 by default).

An OEM is an ephemeris, not one state: its elements are fitted to all of it
(``fit_sgp4_ephemeris``).  Starting from the single-state fit at the state nearest the
deployment, Gauss-Newton with a Levenberg-Marquardt damping minimises the positions'
and the velocities' (scaled by ``VELOCITY_SCALE_S``) differences between SGP4 and every
state (at most ``MAX_OEM_STATES``, evenly thinned beyond), so that one outlying state no
longer decides the orbit; the RMS position residual over the ephemeris is
``Deployment.fit_residual_m``.  SGP4's own model error against a numerically integrated
ephemeris is a few hundred metres over a day; a state more than ``OEM_DISAGREE_KM`` from
the best SGP4 orbit (a manoeuvre in the middle, two objects in one file) is named in the
notes with its epoch.

Other frames (ITRF, TOD, ...), other centres, other time systems than UTC/TAI/GPS/TT,
non-km units and XML/JSON forms are refused, naming the line.  A position of a few
million "km" is taken for metres and refused with that explanation.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from sgp4.api import WGS72, Satrec, SatrecArray

from groundshare.errors import InvalidInputError
from groundshare.orbits import ElementSet, load_elements
from groundshare.timeutil import format_utc, jd_fr, julian_centuries, require_utc, sgp4_epoch_days
from groundshare.units import DAY_S, TAU

#: WGS72 gravitational parameter (km^3/s^2), the one SGP4 is built on.
MU_WGS72_KM3_S2 = 398600.8
#: Frames accepted for a state vector (CCSDS REF_FRAME values; ICRF and J2000 as aliases).
FRAMES = ("TEME", "GCRF", "EME2000", "ICRF", "J2000")
#: Seconds to add to a time in each accepted time system to get UTC (valid since 2017-01-01,
#: the last leap second; none is announced).
TIME_SYSTEM_TO_UTC_S = {"UTC": 0.0, "TAI": -37.0, "GPS": -18.0, "TT": -69.184}
#: A position farther than this is not an Earth orbit in km (it is metres, or not an orbit).
MAX_RADIUS_KM = 500_000.0
#: Newton stops when SGP4 at the epoch is this close to the state (km and km/s).
FIT_TOL_KM = 1e-6
FIT_TOL_KM_S = 1e-9
FIT_MAX_ITERATIONS = 30
#: Most OEM states one fit uses (evenly thinned beyond: a day at 60 s is 1,441).
MAX_OEM_STATES = 2000
#: Velocity residuals weigh as positions over this many seconds (1 m/s counts as 1 km).
VELOCITY_SCALE_S = 1000.0
#: A state this far (km) from the best SGP4 orbit is not one SGP4 orbit with the others: named in the notes.
OEM_DISAGREE_KM = 10.0
#: Iterations of the ephemeris fit.
OEM_MAX_ITERATIONS = 20
#: Arcseconds to radians.
_AS = math.pi / (180.0 * 3600.0)
_DEG = math.pi / 180.0
#: The largest terms of the IAU 1980 nutation series: multipliers of (l, l', F, D, Omega),
#: dpsi (A + B T) and deps (C + D T) in 0.1 mas.  Leaving out the rest changes TEME by < 30 mas.
_NUT80 = np.array([
    (0, 0, 0, 0, 1, -171996.0, -174.2, 92025.0, 8.9),
    (0, 0, 2, -2, 2, -13187.0, -1.6, 5736.0, -3.1),
    (0, 0, 2, 0, 2, -2274.0, -0.2, 977.0, -0.5),
    (0, 0, 0, 0, 2, 2062.0, 0.2, -895.0, 0.5),
    (0, 1, 0, 0, 0, 1426.0, -3.4, 54.0, -0.1),
    (1, 0, 0, 0, 0, 712.0, 0.1, -7.0, 0.0),
    (0, 1, 2, -2, 2, -517.0, 1.2, 224.0, -0.6),
    (0, 0, 2, 0, 1, -386.0, -0.4, 200.0, 0.0),
    (1, 0, 2, 0, 2, -301.0, 0.0, 129.0, -0.1),
    (0, -1, 2, -2, 2, 217.0, -0.5, -95.0, 0.3),
    (1, 0, 0, -2, 0, -158.0, 0.0, -1.0, 0.0),
    (0, 0, 2, -2, 1, 129.0, 0.1, -70.0, 0.0),
    (-1, 0, 2, 0, 2, 123.0, 0.0, -53.0, 0.0),
    (1, 0, 0, 0, 1, 63.0, 0.1, -33.0, 0.0),
    (0, 0, 0, 2, 0, 63.0, 0.0, -2.0, 0.0),
    (-1, 0, 2, 2, 2, -59.0, 0.0, 26.0, 0.0),
    (-1, 0, 0, 0, 1, -58.0, -0.1, 32.0, 0.0),
    (1, 0, 2, 0, 1, -51.0, 0.0, 27.0, 0.0),
])


@dataclass(frozen=True)
class StateVector:
    """One Cartesian state: position (km) and velocity (km/s) at an aware UTC epoch, in ``frame``."""

    epoch: datetime
    r_km: tuple[float, float, float]
    v_km_s: tuple[float, float, float]
    frame: str = "TEME"
    object_name: str = ""
    object_id: str = ""
    source: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"epoch": format_utc(self.epoch), "r_km": list(self.r_km), "v_km_s": list(self.v_km_s),
                "frame": self.frame, "object_name": self.object_name, "object_id": self.object_id,
                "source": self.source}


@dataclass(frozen=True)
class Deployment:
    """The deployment to plan from: SGP4 elements, the nominal deployment time and where they came from.

    ``state`` is the state vector the elements were fitted to (None for an element set) and
    ``fit_residual_m`` how far SGP4 at the epoch lands from it.
    """

    elements: ElementSet
    deploy_time: datetime
    kind: str
    source: str
    state: StateVector | None = None
    fit_residual_m: float | None = None
    fit_iterations: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def period_s(self) -> float:
        return self.elements.period_s

    @property
    def speed_km_s(self) -> float:
        """Return the mean orbital speed sqrt(mu / a), a from the mean motion."""
        n_rad_s = self.elements.mean_motion_rev_day * TAU / DAY_S
        a_km = (MU_WGS72_KM3_S2 / n_rad_s**2) ** (1.0 / 3.0)
        return math.sqrt(MU_WGS72_KM3_S2 / a_km)

    def to_dict(self) -> dict[str, Any]:
        e = self.elements
        return {
            "kind": self.kind, "source": self.source, "deploy_time": format_utc(self.deploy_time),
            "norad_id": e.norad_id, "name": e.name, "object_id": e.object_id, "epoch": format_utc(e.epoch),
            "mean_motion_rev_day": e.mean_motion_rev_day, "eccentricity": e.eccentricity,
            "inclination_deg": e.inclination_deg, "raan_deg": e.raan_deg, "arg_perigee_deg": e.arg_perigee_deg,
            "mean_anomaly_deg": e.mean_anomaly_deg, "bstar": e.bstar, "period_s": round(self.period_s, 3),
            "state": None if self.state is None else self.state.to_dict(),
            "fit_residual_m": None if self.fit_residual_m is None else round(self.fit_residual_m, 6),
            "notes": list(self.notes),
        }


# Friendly entry points.


def deployment_from_elements(path: str | Path, *, deploy_time: datetime | None = None,
                             norad_id: int | None = None) -> Deployment:
    """Return the deployment of an element-set file (one set, or the one with ``norad_id``)."""
    catalog = load_elements(path)
    sets = list(catalog)
    if norad_id is not None:
        sets = [e for e in sets if e.norad_id == norad_id]
        if not sets:
            raise InvalidInputError(f"{path}: no element set for NORAD {norad_id}; the file holds "
                                    f"{', '.join(str(e.norad_id) for e in list(catalog)[:10])}",
                                    loc=("elements", str(path)))
    if not sets:
        raise InvalidInputError(f"{path}: no element set could be read", loc=("elements", str(path)))
    if len(sets) > 1:
        raise InvalidInputError(f"{path}: holds {len(sets)} element sets; give the deployment's own, "
                                "or choose one with --norad N", loc=("elements", str(path)))
    elements = sets[0]
    deploy = elements.epoch if deploy_time is None else require_utc(deploy_time, "deploy_time")
    return Deployment(elements, deploy, "elements", str(path), notes=_epoch_notes(elements.epoch, deploy))


def deployment_from_state_file(path: str | Path, *, deploy_time: datetime | None = None, norad_id: int = 0,
                               bstar: float = 0.0) -> Deployment:
    """Return the deployment of a CCSDS OPM or OEM (KVN): SGP4 elements fitted to its state.

    For an OEM the elements (of the epoch of the state nearest ``deploy_time``, the first
    without one) are fitted over the whole ephemeris (``deployment_from_ephemeris``).
    """
    text = _read(path)
    kind = "oem" if re.search(r"^\s*CCSDS_OEM_VERS\b", text, re.M) else "opm"
    states = parse_oem_kvn(text, source=str(path)) if kind == "oem" else [parse_opm_kvn(text, source=str(path))]
    if kind == "oem":
        return deployment_from_ephemeris(states, deploy_time=deploy_time, norad_id=norad_id, bstar=bstar)
    return deployment_from_state(states[0], deploy_time=deploy_time, norad_id=norad_id, bstar=bstar, kind=kind)


def deployment_from_ephemeris(states: Sequence[StateVector], *, deploy_time: datetime | None = None,
                              norad_id: int = 0, bstar: float = 0.0, kind: str = "oem") -> Deployment:
    """Return the deployment of an ephemeris (an OEM's states): SGP4 elements fitted over all of them.

    The elements' epoch is that of the state nearest ``deploy_time`` (the first without
    one); ``fit_residual_m`` is the RMS position residual over the states used.
    """
    if not states:
        raise InvalidInputError("the ephemeris holds no state", loc=("state",))
    if deploy_time is not None:
        deploy_time = require_utc(deploy_time, "deploy_time")
        anchor = min(states, key=lambda s: abs((s.epoch - deploy_time).total_seconds()))
    else:
        anchor = states[0]
    single = deployment_from_state(anchor, deploy_time=deploy_time, norad_id=norad_id, bstar=bstar, kind=kind)
    if len(states) < 2:
        return single
    used = list(states)
    if len(used) > MAX_OEM_STATES:
        keep = np.unique(np.linspace(0, len(used) - 1, MAX_OEM_STATES).round().astype(int))
        used = [used[i] for i in keep]
    teme = [state_to_teme(s) for s in used]
    r = np.array([rv[0] for rv in teme])
    v = np.array([rv[1] for rv in teme])
    t_s = np.array([(s.epoch - anchor.epoch).total_seconds() for s in used])
    elements, rms_km, worst_km, worst_index, iterations = fit_sgp4_ephemeris(r, v, t_s, single.elements, bstar=bstar)
    span_h = (t_s.max() - t_s.min()) / 3600.0
    notes = [*single.notes, f"fitted over {len(used)} of the ephemeris's {len(states)} states ({span_h:.1f} h): "
                            f"RMS {rms_km * 1000.0:.1f} m, worst {worst_km * 1000.0:.1f} m at "
                            f"{format_utc(used[worst_index].epoch)}"]
    if worst_km > OEM_DISAGREE_KM:
        notes.append(f"the ephemeris is not one SGP4 orbit: its state at {format_utc(used[worst_index].epoch)} is "
                     f"{worst_km:.1f} km from the best fit (more than {OEM_DISAGREE_KM:g} km); a manoeuvre, or "
                     "states of two objects? Give the states after the last manoeuvre only")
    return Deployment(elements, single.deploy_time, kind, single.source, state=anchor,
                      fit_residual_m=rms_km * 1000.0, fit_iterations=single.fit_iterations + iterations, notes=notes)


def deployment_from_state(state: StateVector, *, deploy_time: datetime | None = None, norad_id: int = 0,
                          bstar: float = 0.0, kind: str = "state") -> Deployment:
    """Return the deployment of one state vector: SGP4 elements that reproduce it at its epoch."""
    r, v = state_to_teme(state)
    elements, residual_km, iterations = fit_sgp4_elements(
        r, v, state.epoch, norad_id=norad_id, name=state.object_name or "DEPLOYMENT", object_id=state.object_id,
        bstar=bstar, source=state.source)
    deploy = state.epoch if deploy_time is None else require_utc(deploy_time, "deploy_time")
    notes = _epoch_notes(state.epoch, deploy)
    if state.frame != "TEME":
        notes.append(f"state rotated from {state.frame} to TEME (IAU 1976/1980)")
    return Deployment(elements, deploy, kind, state.source, state=state, fit_residual_m=residual_km * 1000.0,
                      fit_iterations=iterations, notes=notes)


def _epoch_notes(epoch: datetime, deploy: datetime) -> list[str]:
    gap_s = abs((deploy - epoch).total_seconds())
    if gap_s > DAY_S:
        return [f"the deployment elements' epoch {format_utc(epoch)} is {gap_s / DAY_S:.1f} days from the "
                f"deployment time {format_utc(deploy)}; predictions degrade with that distance"]
    return []


def _read(path: str | Path) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvalidInputError(f"{path}: no such state-vector file", loc=("state_vector", str(path))) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInputError(f"{path}: cannot read it ({exc})", loc=("state_vector", str(path))) from None


# CCSDS KVN parsing.

_KVN = re.compile(r"^\s*([A-Z0-9_]+)\s*=\s*(.*?)\s*$")
_UNIT = re.compile(r"^(.*?)\s*\[([^\]]*)\]\s*$")
_STATE_KEYS = ("X", "Y", "Z", "X_DOT", "Y_DOT", "Z_DOT")
_UNITS = {"X": "km", "Y": "km", "Z": "km", "X_DOT": "km/s", "Y_DOT": "km/s", "Z_DOT": "km/s"}


def _refuse_non_kvn(text: str, source: str) -> None:
    head = text.lstrip()[:1]
    if head in ("<", "{", "["):
        raise InvalidInputError(f"{source}: line 1: this looks like XML or JSON; groundshare reads OPM and OEM "
                                "in KVN form (KEY = value lines)", loc=("state_vector", source, "line 1"))


def _check_meta(meta: dict[str, tuple[str, int]], source: str) -> tuple[str, float]:
    """Check CENTER_NAME, REF_FRAME and TIME_SYSTEM; return the frame and the time system's offset to UTC (s)."""
    for key in ("REF_FRAME", "CENTER_NAME", "TIME_SYSTEM"):
        if key not in meta:
            raise InvalidInputError(f"{source}: {key} is missing; an OPM/OEM must say it", loc=("state_vector",
                                                                                               source, key))
    center, line = meta["CENTER_NAME"]
    if center.upper() != "EARTH":
        raise InvalidInputError(f"{source}: line {line}: CENTER_NAME = {center}; only EARTH-centred states "
                                "can be planned from", loc=("state_vector", source, f"line {line}"))
    frame, line = meta["REF_FRAME"]
    frame = frame.upper()
    if frame not in FRAMES:
        raise InvalidInputError(
            f"{source}: line {line}: REF_FRAME = {frame} is not a frame groundshare converts; give the state in "
            f"{', '.join(FRAMES[:3])} (an Earth-fixed ITRF state must first be rotated to GCRF)",
            loc=("state_vector", source, f"line {line}"))
    system, line = meta["TIME_SYSTEM"]
    if system.upper() not in TIME_SYSTEM_TO_UTC_S:
        raise InvalidInputError(f"{source}: line {line}: TIME_SYSTEM = {system}; groundshare reads "
                                f"{', '.join(TIME_SYSTEM_TO_UTC_S)}", loc=("state_vector", source, f"line {line}"))
    canonical = {"ICRF": "GCRF", "J2000": "EME2000"}.get(frame, frame)
    return canonical, TIME_SYSTEM_TO_UTC_S[system.upper()]


def _epoch(text: str, offset_s: float, source: str, line: int) -> datetime:
    value = text.strip()
    doy = re.fullmatch(r"(\d{4})-(\d{3})T(.*)", value)
    try:
        if doy:
            day = datetime(int(doy.group(1)), 1, 1) + timedelta(days=int(doy.group(2)) - 1)
            value = f"{day:%Y-%m-%d}T{doy.group(3)}"
        parsed = datetime.fromisoformat(value.rstrip("Zz"))
    except ValueError:
        raise InvalidInputError(f"{source}: line {line}: {text!r} is not a CCSDS epoch such as "
                                "2026-03-19T10:00:00.000", loc=("state_vector", source, f"line {line}")) from None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed.replace(tzinfo=UTC) + timedelta(seconds=offset_s)


def _number(text: str, key: str, source: str, line: int) -> float:
    value, unit = text, None
    found = _UNIT.match(text)
    if found:
        value, unit = found.group(1), found.group(2).strip()
    if unit is not None and unit.lower() != _UNITS[key]:
        raise InvalidInputError(f"{source}: line {line}: {key} is in [{unit}]; CCSDS states are in km and km/s "
                                f"({key} in [{_UNITS[key]}]): convert it", loc=("state_vector", source, f"line {line}"))
    try:
        number = float(value)
    except ValueError:
        raise InvalidInputError(f"{source}: line {line}: {key} = {text!r} is not a number",
                                loc=("state_vector", source, f"line {line}")) from None
    if not math.isfinite(number):
        raise InvalidInputError(f"{source}: line {line}: {key} must be finite", loc=("state_vector", source,
                                                                                    f"line {line}"))
    return number


def _check_state(r: Sequence[float], v: Sequence[float], source: str, line: int) -> None:
    radius = math.sqrt(sum(x * x for x in r))
    speed = math.sqrt(sum(x * x for x in v))
    where = f"{source}: line {line}"
    if radius > MAX_RADIUS_KM or speed > 20.0:
        raise InvalidInputError(
            f"{where}: |r| = {radius:.6g} km and |v| = {speed:.6g} km/s are not an Earth orbit in km and km/s; "
            "the state looks like metres and m/s: divide by 1000", loc=("state_vector", source, f"line {line}"))
    if radius < 6378.0 * 0.99:
        raise InvalidInputError(f"{where}: |r| = {radius:.6g} km is inside the Earth; expected km from its centre",
                                loc=("state_vector", source, f"line {line}"))


def parse_opm_kvn(text: str, *, source: str = "opm") -> StateVector:
    """Return the state vector of a CCSDS OPM in KVN form (maneuvers and covariance are ignored)."""
    _refuse_non_kvn(text, source)
    found: dict[str, tuple[str, int]] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        match = _KVN.match(raw)
        if match is None or match.group(1) == "COMMENT":
            continue
        key, value = match.group(1), match.group(2)
        if key in _STATE_KEYS and key in found:
            break  # a second state block (an OPM holds one; later keys belong to maneuvers)
        found.setdefault(key, (value, number))
    if "CCSDS_OPM_VERS" not in found:
        raise InvalidInputError(f"{source}: not a CCSDS OPM (no CCSDS_OPM_VERS line); give an OPM or OEM in KVN "
                                "form", loc=("state_vector", source))
    frame, offset_s = _check_meta(found, source)
    missing = [k for k in ("EPOCH", *_STATE_KEYS) if k not in found]
    if missing:
        raise InvalidInputError(f"{source}: the OPM lacks {', '.join(missing)}", loc=("state_vector", source,
                                                                                      missing[0]))
    epoch = _epoch(found["EPOCH"][0], offset_s, source, found["EPOCH"][1])
    values = [_number(found[k][0], k, source, found[k][1]) for k in _STATE_KEYS]
    _check_state(values[:3], values[3:], source, found["X"][1])
    return StateVector(epoch, tuple(values[:3]), tuple(values[3:]), frame,  # type: ignore[arg-type]
                       found.get("OBJECT_NAME", ("", 0))[0], found.get("OBJECT_ID", ("", 0))[0], source)


def parse_oem_kvn(text: str, *, source: str = "oem") -> list[StateVector]:
    """Return every state of a CCSDS OEM in KVN form (all segments; covariance blocks are skipped)."""
    _refuse_non_kvn(text, source)
    if not re.search(r"^\s*CCSDS_OEM_VERS\b", text, re.M):
        raise InvalidInputError(f"{source}: not a CCSDS OEM (no CCSDS_OEM_VERS line)", loc=("state_vector", source))
    states: list[StateVector] = []
    meta: dict[str, tuple[str, int]] = {}
    frame, offset_s = "", 0.0
    in_meta = in_cov = False
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("COMMENT"):
            continue
        if line == "META_START":
            in_meta, meta = True, {}
            continue
        if line == "META_STOP":
            in_meta = False
            frame, offset_s = _check_meta(meta, source)
            continue
        if line == "COVARIANCE_START":
            in_cov = True
            continue
        if line == "COVARIANCE_STOP":
            in_cov = False
            continue
        match = _KVN.match(line)
        if in_meta:
            if match:
                meta[match.group(1)] = (match.group(2), number)
            continue
        if in_cov or match:
            continue
        if not frame:
            raise InvalidInputError(f"{source}: line {number}: ephemeris data before any META_START ... META_STOP",
                                    loc=("state_vector", source, f"line {number}"))
        fields = line.split()
        if len(fields) not in (7, 10):
            raise InvalidInputError(f"{source}: line {number}: expected 'EPOCH X Y Z X_DOT Y_DOT Z_DOT' (km, km/s), "
                                    f"got {len(fields)} fields", loc=("state_vector", source, f"line {number}"))
        epoch = _epoch(fields[0], offset_s, source, number)
        values = [_number(f, k, source, number) for f, k in zip(fields[1:7], _STATE_KEYS, strict=True)]
        _check_state(values[:3], values[3:], source, number)
        states.append(StateVector(epoch, tuple(values[:3]), tuple(values[3:]), frame,  # type: ignore[arg-type]
                                  meta.get("OBJECT_NAME", ("", 0))[0], meta.get("OBJECT_ID", ("", 0))[0],
                                  f"{source}:{number}"))
    if not states:
        raise InvalidInputError(f"{source}: the OEM holds no ephemeris lines", loc=("state_vector", source))
    return states


# Frames.


def state_to_teme(state: StateVector) -> tuple[np.ndarray, np.ndarray]:
    """Return the state's position (km) and velocity (km/s) in TEME at its epoch."""
    r = np.asarray(state.r_km, dtype=float)
    v = np.asarray(state.v_km_s, dtype=float)
    if state.frame == "TEME":
        return r, v
    m = gcrf_to_teme_matrix(state.epoch)
    return m @ r, m @ v


def _r1(a: float) -> np.ndarray:
    c, s = math.cos(a), math.sin(a)
    return np.array([[1.0, 0.0, 0.0], [0.0, c, s], [0.0, -s, c]])


def _r2(a: float) -> np.ndarray:
    c, s = math.cos(a), math.sin(a)
    return np.array([[c, 0.0, -s], [0.0, 1.0, 0.0], [s, 0.0, c]])


def _r3(a: float) -> np.ndarray:
    c, s = math.cos(a), math.sin(a)
    return np.array([[c, s, 0.0], [-s, c, 0.0], [0.0, 0.0, 1.0]])


def gcrf_to_teme_matrix(epoch: datetime) -> np.ndarray:
    """Return the rotation GCRF (= EME2000 without frame bias) -> TEME at ``epoch`` (UTC; TT = UTC + 69.184 s).

    Precession IAU 1976, nutation IAU 1980 (largest 18 terms), then the equation of the
    equinoxes (dpsi cos eps, without its kinematic terms, as TEME is defined by Vallado et al. 2006).
    """
    jd, fr = jd_fr(require_utc(epoch, "epoch"), np.array([69.184]))
    t = float(julian_centuries(jd, fr)[0])
    zeta = (2306.2181 * t + 0.30188 * t**2 + 0.017998 * t**3) * _AS
    theta = (2004.3109 * t - 0.42665 * t**2 - 0.041833 * t**3) * _AS
    z = (2306.2181 * t + 1.09468 * t**2 + 0.018203 * t**3) * _AS
    precession = _r3(-z) @ _r2(theta) @ _r3(-zeta)  # J2000 -> mean of date
    eps0 = (84381.448 - 46.8150 * t - 0.00059 * t**2 + 0.001813 * t**3) * _AS
    args = np.array([
        134.96340251 + 1717915923.2178 * t / 3600.0,  # l, Moon's mean anomaly
        357.52910918 + 129596581.0481 * t / 3600.0,  # l', Sun's mean anomaly
        93.27209062 + 1739527262.8478 * t / 3600.0,  # F
        297.85019547 + 1602961601.2090 * t / 3600.0,  # D
        125.04455501 - 6962890.5431 * t / 3600.0,  # Omega
    ]) * _DEG
    phase = _NUT80[:, :5] @ args
    dpsi = float(np.sum((_NUT80[:, 5] + _NUT80[:, 6] * t) * np.sin(phase))) * 1e-4 * _AS
    deps = float(np.sum((_NUT80[:, 7] + _NUT80[:, 8] * t) * np.cos(phase))) * 1e-4 * _AS
    nutation = _r1(-(eps0 + deps)) @ _r3(-dpsi) @ _r1(eps0)  # mean of date -> true of date
    equinoxes = _r3(dpsi * math.cos(eps0))  # true of date -> TEME
    return equinoxes @ nutation @ precession


# State -> SGP4 elements.


def osculating_elements(r_km: np.ndarray, v_km_s: np.ndarray, mu: float = MU_WGS72_KM3_S2) -> np.ndarray:
    """Return non-singular osculating elements of a state: n (rad/min), e cos w, e sin w, i, node, u = M + w (rad)."""
    r = np.asarray(r_km, dtype=float)
    v = np.asarray(v_km_s, dtype=float)
    rn = float(np.linalg.norm(r))
    h = np.cross(r, v)
    hn = float(np.linalg.norm(h))
    if hn == 0.0:
        raise InvalidInputError("the state has no angular momentum (radial motion): not an orbit", loc=("state",))
    inc = math.acos(max(-1.0, min(1.0, h[2] / hn)))
    node_vec = np.array([-h[1], h[0], 0.0])
    nn = float(np.linalg.norm(node_vec))
    node = math.atan2(node_vec[1], node_vec[0]) if nn > 1e-12 else 0.0
    e_vec = np.cross(v, h) / mu - r / rn
    energy = float(v @ v) / 2.0 - mu / rn
    if energy >= 0.0:
        raise InvalidInputError(f"the state is not a bound orbit (|v| = {np.linalg.norm(v):.3f} km/s at "
                                f"|r| = {rn:.1f} km is escape speed or more)", loc=("state",))
    a = -mu / (2.0 * energy)
    # Perifocal-free directions: the node line and its perpendicular in the orbit plane.
    p_hat = node_vec / nn if nn > 1e-12 else np.array([1.0, 0.0, 0.0])
    q_hat = np.cross(h / hn, p_hat)
    ex, ey = float(e_vec @ p_hat), float(e_vec @ q_hat)
    e = math.hypot(ex, ey)
    u_true = math.atan2(float(r @ q_hat), float(r @ p_hat))  # argument of latitude
    w = math.atan2(ey, ex) if e > 1e-12 else 0.0
    nu = u_true - w
    ecc_anom = 2.0 * math.atan2(math.sqrt(1.0 - e) * math.sin(nu / 2.0), math.sqrt(1.0 + e) * math.cos(nu / 2.0))
    mean_anom = ecc_anom - e * math.sin(ecc_anom)
    n_rad_min = math.sqrt(mu / a**3) * 60.0
    return np.array([n_rad_min, ex, ey, inc, node % TAU, (mean_anom + w) % TAU])


def _satrec(x: np.ndarray, epoch_days: float, bstar: float) -> Satrec:
    n, ex, ey, inc, node, u = (float(c) for c in x)
    e = math.hypot(ex, ey)
    w = math.atan2(ey, ex) if e > 0.0 else 0.0
    sat = Satrec()
    sat.sgp4init(WGS72, "i", 0, epoch_days, bstar, 0.0, 0.0, e, w % TAU, inc, (u - w) % TAU, n, node % TAU)
    return sat


def _sgp4_states(xs: np.ndarray, epoch: datetime, bstar: float) -> tuple[np.ndarray, np.ndarray]:
    """Return SGP4 states (k, 6) at the epoch of each row of non-singular elements ``xs`` (k, 6)."""
    days = sgp4_epoch_days(epoch)
    sats = SatrecArray([_satrec(x, days, bstar) for x in xs])
    jd, fr = jd_fr(epoch, np.zeros(1))
    err, r, v = sats.sgp4(jd, fr)
    return err[:, 0], np.concatenate([r[:, 0], v[:, 0]], axis=1)


def fit_sgp4_elements(r_teme_km: np.ndarray, v_teme_km_s: np.ndarray, epoch: datetime, *, norad_id: int = 0,
                      name: str = "DEPLOYMENT", object_id: str = "", bstar: float = 0.0, source: str = ""
                      ) -> tuple[ElementSet, float, int]:
    """Return SGP4 mean elements that reproduce the TEME state at ``epoch``, the residual (km) and the iterations.

    Newton on the non-singular elements, Jacobian by central-free forward differences
    through sgp4; the step is halved while it does not reduce the residual.
    """
    epoch = require_utc(epoch, "epoch")
    target = np.concatenate([np.asarray(r_teme_km, float), np.asarray(v_teme_km_s, float)])
    scale = np.array([1.0, 1.0, 1.0, 1000.0, 1000.0, 1000.0])  # km/s weighted as km over ~1000 s
    x = osculating_elements(target[:3], target[3:])
    steps = np.array([1e-7, 1e-7, 1e-7, 1e-7, 1e-7, 1e-7])
    iterations = 0
    residual = math.inf
    for iterations in range(1, FIT_MAX_ITERATIONS + 1):  # noqa: B007
        probes = np.vstack([x, x + np.diag(steps)])
        err, states = _sgp4_states(probes, epoch, bstar)
        if err[0]:
            raise InvalidInputError(f"SGP4 cannot propagate the deployment state (error {int(err[0])}): the orbit "
                                    "decays or is not one SGP4 models", loc=("state",))
        delta = (target - states[0]) * scale
        residual = float(np.linalg.norm(delta[:3]))
        if residual < FIT_TOL_KM and np.linalg.norm(target[3:] - states[0, 3:]) < FIT_TOL_KM_S:
            break
        jac = ((states[1:] - states[0]) * scale).T / steps
        dx = np.linalg.solve(jac, delta)
        for _ in range(20):
            trial = x + dx
            trial[1:3] = trial[1:3] if math.hypot(trial[1], trial[2]) < 0.99 else x[1:3]
            e_t, s_t = _sgp4_states(trial[None, :], epoch, bstar)
            if not e_t[0] and np.linalg.norm((target - s_t[0]) * scale) < np.linalg.norm(delta):
                break
            dx = dx / 2.0
        x = trial
    _, states = _sgp4_states(x[None, :], epoch, bstar)
    residual = float(np.linalg.norm(target[:3] - states[0, :3]))
    n, ex, ey, inc, node, u = (float(c) for c in x)
    e = math.hypot(ex, ey)
    w = math.atan2(ey, ex) if e > 0.0 else 0.0
    elements = ElementSet(
        norad_id=norad_id, name=name, epoch=epoch, mean_motion_rev_day=n * 1440.0 / TAU, eccentricity=e,
        inclination_deg=math.degrees(inc), raan_deg=math.degrees(node % TAU), arg_perigee_deg=math.degrees(w % TAU),
        mean_anomaly_deg=math.degrees((u - w) % TAU), bstar=bstar, object_id=object_id,
        source=source or "state vector")
    return elements, residual, iterations


def _elements_vector(e: ElementSet) -> np.ndarray:
    n = e.mean_motion_rev_day * TAU / 1440.0
    w, m = math.radians(e.arg_perigee_deg), math.radians(e.mean_anomaly_deg)
    return np.array([n, e.eccentricity * math.cos(w), e.eccentricity * math.sin(w), math.radians(e.inclination_deg),
                     math.radians(e.raan_deg), (m + w) % TAU])


def _ephemeris_residuals(xs: np.ndarray, epoch: datetime, t_s: np.ndarray, target: np.ndarray, bstar: float
                         ) -> tuple[np.ndarray, np.ndarray]:
    """Return SGP4 error flags (k,) and scaled residuals (k, m * 6) of each element row of ``xs`` over the states."""
    days = sgp4_epoch_days(epoch)
    sats = SatrecArray([_satrec(x, days, bstar) for x in xs])
    jd, fr = jd_fr(epoch, t_s)
    err, r, v = sats.sgp4(jd, fr)
    resid = np.concatenate([target[None, :, :3] - r, (target[None, :, 3:] - v) * VELOCITY_SCALE_S], axis=2)
    return err.any(axis=1), resid.reshape(len(xs), -1)


def fit_sgp4_ephemeris(r_teme_km: np.ndarray, v_teme_km_s: np.ndarray, t_s: np.ndarray, initial: ElementSet, *,
                       bstar: float = 0.0) -> tuple[ElementSet, float, float, int, int]:
    """Return SGP4 elements (at ``initial``'s epoch) fitted to TEME states at ``epoch + t_s``, by least squares.

    Returns the elements, the RMS and the largest position residual (km), the index of
    the worst state and the iterations.  Positions and velocities (x ``VELOCITY_SCALE_S``)
    of every state weigh alike; Levenberg-Marquardt from ``initial``.
    """
    epoch = initial.epoch
    target = np.concatenate([np.asarray(r_teme_km, float), np.asarray(v_teme_km_s, float)], axis=1)
    t_s = np.asarray(t_s, dtype=float)
    x = _elements_vector(initial)
    steps = np.full(6, 1e-7)
    bad, res = _ephemeris_residuals(x[None, :], epoch, t_s, target, bstar)
    if bad[0]:
        raise InvalidInputError("SGP4 cannot propagate the deployment over the ephemeris: the orbit decays or is "
                                "not one SGP4 models", loc=("state",))
    r0 = res[0]
    cost = float(r0 @ r0)
    lam = 1e-3
    iterations = 0
    for iterations in range(1, OEM_MAX_ITERATIONS + 1):  # noqa: B007
        _, probes = _ephemeris_residuals(x + np.diag(steps), epoch, t_s, target, bstar)
        jac = (probes - r0).T / steps  # d(residual)/dx, (m*6, 6)
        g = jac.T @ r0
        h = jac.T @ jac
        improved = False
        for _ in range(10):
            dx = np.linalg.solve(h + lam * np.diag(np.diag(h)), -g)
            trial = x + dx
            if math.hypot(trial[1], trial[2]) >= 0.99:
                lam *= 10.0
                continue
            bad, res = _ephemeris_residuals(trial[None, :], epoch, t_s, target, bstar)
            new_cost = float(res[0] @ res[0])
            if not bad[0] and new_cost < cost:
                improved = True
                break
            lam *= 10.0
        if not improved:
            break
        done = cost - new_cost <= 1e-12 * max(cost, 1e-30)
        x, r0, cost, lam = trial, res[0], new_cost, max(lam / 10.0, 1e-12)
        if done:
            break
    position = r0.reshape(-1, 6)[:, :3]
    distance = np.linalg.norm(position, axis=1)
    worst = int(np.argmax(distance))
    n, ex, ey, inc, node, u = (float(c) for c in x)
    e = math.hypot(ex, ey)
    w = math.atan2(ey, ex) if e > 0.0 else 0.0
    elements = ElementSet(
        norad_id=initial.norad_id, name=initial.name, epoch=epoch, mean_motion_rev_day=n * 1440.0 / TAU,
        eccentricity=e, inclination_deg=math.degrees(inc), raan_deg=math.degrees(node % TAU),
        arg_perigee_deg=math.degrees(w % TAU), mean_anomaly_deg=math.degrees((u - w) % TAU), bstar=bstar,
        object_id=initial.object_id, source=initial.source)
    return elements, float(np.sqrt(np.mean(distance ** 2))), float(distance[worst]), worst, iterations
