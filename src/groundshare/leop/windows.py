"""First-contact windows: every time the new satellite may be in view of each station, over its timing uncertainty.

The deployment's trajectory is known, when the satellite is on it is not.  Two things
make the satellite early or late against the nominal prediction:

- the deployment time, uncertain by +-U (launch slip, the deployment sequence): the
  satellite sits on the same inertial orbit shifted in time by some dt in [-U, +U];
- the separation velocity.  An along-track error dv changes the semi-major axis by
  da/a = 2 dv/v (vis-viva, near-circular orbit) and so the period by dP/P = 3/2 da/a =
  3 dv/v.  After k revolutions the satellite is k dP = 3 (dv/v) P k early or late: the
  timing error grows by 3 (dv/v) P per revolution, i.e. by 3 dv/v seconds per second
  (1 m/s at 7.6 km/s: 0.39 ms/s, 2.2 s per revolution, 68 s after 48 h).  The radial
  change (2 dv/v a, about 1.8 km per m/s) moves pass times by far less and is left out.

So at a time t after the nominal deployment t0 the satellite is at the nominal state of
time t - dt, with |dt| <= U(t) = U + 3 (dv/v) (t - t0).  ``plan_windows`` computes the passes
of copies of the deployment elements re-dated by dt on a grid over [-U(end), +U(end)]
(``step_s`` apart, ends included; one ``find_passes`` call for all of them: the Earth turns
under each copy differently, so a copy's passes are not the nominal ones shifted), keeps
each copy's passes where |dt| <= U(t) + step_s (conservative by at most one step), and
unites them per station into windows, each copy's pass widened by half a step either side
(between two copies the satellite is where one of them is, half a step earlier or later; only
a pass that grazes the minimum elevation between two copies, seen by neither, can be missed):
the nominal AOS/TCA/LOS (of the copy dt = 0, when it passes at all) and
``earliest_aos``/``latest_los`` over the uncertainty.

An uncertainty of half an orbital period or more means the satellite may be anywhere on its
orbit: the windows are then every pass of the orbit ring over the station, and a larger
uncertainty adds nothing.  ``U(t)`` is capped there and the plan says so (``capped``).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from groundshare.errors import InvalidInputError
from groundshare.leop.deploy import Deployment
from groundshare.orbits import ElementSet
from groundshare.passes import Site, find_passes
from groundshare.timeutil import datetime64_to_utc, format_utc, to_datetime64
from groundshare.units import HOUR_S

#: Longest plan, hours (LEOP is the first days; beyond them the catalogue has the object).
MAX_HOURS = 240.0
#: Default spacing of the deployment-time copies, seconds (a pass's footprint moves ~230 km in 30 s,
#: far less than its ~2,000 km radius, so adjacent copies' passes overlap and unite).
DEFAULT_STEP_S = 30.0
#: Most copies one plan propagates (the step widens beyond it).
MAX_COPIES = 2001


@dataclass(frozen=True)
class LeopWindow:
    """One station's window: where the satellite may be in view, over the timing uncertainty.

    ``aos``/``tca``/``los`` are the nominal pass (None where only shifted deployments pass);
    ``earliest_aos``/``latest_los`` bound the window; ``uncertainty_s`` is the timing
    uncertainty U(t) at the window; ``copies_in_view`` is the share of the admissible
    deployment times that give a pass here (1.0: whenever it was deployed, it passes).
    """

    station: str
    aos: datetime | None
    tca: datetime | None
    los: datetime | None
    max_elevation_deg: float | None
    earliest_aos: datetime
    latest_los: datetime
    best_max_elevation_deg: float
    uncertainty_s: float
    copies_in_view: float
    nominal_passes: int

    @property
    def width_s(self) -> float:
        return (self.latest_los - self.earliest_aos).total_seconds()

    @property
    def nominal_duration_s(self) -> float | None:
        return None if self.aos is None or self.los is None else (self.los - self.aos).total_seconds()

    def to_dict(self) -> dict[str, Any]:
        def iso(t: datetime | None) -> str | None:
            return None if t is None else format_utc(t)

        nominal = self.nominal_duration_s
        return {
            "station": self.station, "aos": iso(self.aos), "tca": iso(self.tca), "los": iso(self.los),
            "earliest_aos": iso(self.earliest_aos), "latest_los": iso(self.latest_los),
            "max_elevation_deg": None if self.max_elevation_deg is None else round(self.max_elevation_deg, 3),
            "best_max_elevation_deg": round(self.best_max_elevation_deg, 3),
            "nominal_duration_s": None if nominal is None else round(nominal, 3),
            "width_s": round(self.width_s, 3), "uncertainty_s": round(self.uncertainty_s, 3),
            "copies_in_view": round(self.copies_in_view, 4), "nominal_passes": self.nominal_passes,
        }


@dataclass(frozen=True)
class LeopPlan:
    """The windows of the first ``hours`` after the deployment, per station, by earliest AOS."""

    deployment: Deployment
    windows: list[LeopWindow]
    start: datetime
    end: datetime
    deploy_uncertainty_s: float
    separation_dv_m_s: float
    growth_s_per_rev: float
    final_uncertainty_s: float
    capped: bool
    step_s: float
    copies: int
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "deployment": self.deployment.to_dict(), "start": format_utc(self.start), "end": format_utc(self.end),
            "deploy_uncertainty_s": self.deploy_uncertainty_s, "separation_dv_m_s": self.separation_dv_m_s,
            "growth_s_per_rev": round(self.growth_s_per_rev, 4),
            "final_uncertainty_s": round(self.final_uncertainty_s, 3), "capped": self.capped, "step_s": self.step_s,
            "copies": self.copies, "notes": list(self.notes), "windows": [w.to_dict() for w in self.windows],
        }


def plan_windows(deployment: Deployment, sites: Sequence[Site], *, hours: float, deploy_uncertainty_s: float = 0.0,
                 separation_dv_m_s: float = 0.0, step_s: float = DEFAULT_STEP_S, workers: int | None = 1) -> LeopPlan:
    """Return every window of the first ``hours`` after the deployment in which a station may see the satellite."""
    checks = (("hours", hours, 0.0, MAX_HOURS), ("deploy_uncertainty_s", deploy_uncertainty_s, 0.0, math.inf),
              ("separation_dv_m_s", separation_dv_m_s, 0.0, 1000.0), ("step_s", step_s, 1.0, 3600.0))
    for name, value, lo, hi in checks:
        if not (isinstance(value, (int, float)) and math.isfinite(value) and lo <= value <= hi
                and (name != "hours" or value > 0)):
            raise InvalidInputError(f"{name} is {value!r}; expected a number in "
                                    f"{'(' if name == 'hours' else '['}{lo:g}, {hi:g}]", loc=(name,))
    if not sites:
        raise InvalidInputError("no stations given; the plan needs at least one", loc=("sites",))
    elements = deployment.elements
    period_s = elements.period_s
    rate = 3.0 * separation_dv_m_s / (deployment.speed_km_s * 1000.0)
    duration_s = hours * HOUR_S
    cap_s = period_s / 2.0
    final_s, capped = timing_uncertainty_s(duration_s, deploy_uncertainty_s, rate, cap_s)
    notes = list(deployment.notes)
    if capped:
        notes.append(
            f"the timing uncertainty reaches {deploy_uncertainty_s + rate * duration_s:,.0f} s, more than half an "
            f"orbit ({cap_s:,.0f} s): the satellite may be anywhere on its orbit, so it is capped at +-{cap_s:,.0f} s "
            "and the windows are every pass of the orbit over each station; narrow the deployment time to plan "
            "contacts")
    step = max(step_s, 2.0 * final_s / (MAX_COPIES - 1))
    if step > step_s:
        notes.append(f"copies {step:.1f} s apart (not {step_s:g} s) to stay within {MAX_COPIES} copies")
    shifts_s = _shift_grid(final_s, step)
    copies = [_redated(elements, float(dt)) for dt in shifts_s]
    t0 = deployment.deploy_time
    start = t0 - timedelta(seconds=min(deploy_uncertainty_s, cap_s))  # the earliest possible deployment
    end = t0 + timedelta(seconds=duration_s)
    table = find_passes(copies, list(sites), start=start, duration_s=(end - start).total_seconds(), workers=workers)
    notes += table.warnings
    windows = _unite(table, shifts_s, sites, t0, deploy_uncertainty_s, rate, cap_s, step)
    return LeopPlan(deployment, windows, start, end, float(deploy_uncertainty_s), float(separation_dv_m_s),
                    rate * period_s, final_s, capped, step, len(copies), notes)


def timing_uncertainty_s(after_s: float | np.ndarray, deploy_uncertainty_s: float, growth_rate: float,
                         cap_s: float) -> tuple[Any, bool]:
    """Return U(t) = min(U + rate t, cap) for ``after_s`` seconds after the deployment, and whether the cap bit."""
    raw = deploy_uncertainty_s + growth_rate * np.maximum(np.asarray(after_s, dtype=float), 0.0)
    capped = bool(np.any(raw > cap_s))
    value = np.minimum(raw, cap_s)
    return (float(value) if np.ndim(value) == 0 else value), capped


def _shift_grid(bound_s: float, step_s: float) -> np.ndarray:
    """Return deployment-time shifts from -bound to +bound, ``step_s`` apart or less, with 0 and both ends."""
    if bound_s <= 0.0:
        return np.zeros(1)
    k = math.ceil(bound_s / step_s)
    half = np.linspace(0.0, bound_s, k + 1)
    return np.concatenate([-half[:0:-1], half])


def _redated(elements: ElementSet, shift_s: float) -> ElementSet:
    """Return the elements with the epoch moved by ``shift_s``: the same orbit, the satellite that much later."""
    return dataclasses.replace(elements, epoch=elements.epoch + timedelta(seconds=shift_s), line1=None, line2=None,
                               name=f"{elements.name} {shift_s:+.0f}s")


def _unite(table: Any, shifts_s: np.ndarray, sites: Sequence[Site], t0: datetime, deploy_uncertainty_s: float,
           rate: float, cap_s: float, step_s: float) -> list[LeopWindow]:
    """Keep each copy's admissible passes and unite them per station into windows (vectorised per station)."""
    t0_64 = to_datetime64(t0, np.zeros(1))[0]
    aos, los = table.aos, table.los
    dt = shifts_s[table.sat_index]
    after_s = (aos - t0_64) / np.timedelta64(1, "s")
    bound, _ = timing_uncertainty_s(after_s, deploy_uncertainty_s, rate, cap_s)
    deployed = los >= t0_64 + (dt * 1e6).astype("timedelta64[us]")  # a copy is seen only once it is deployed
    keep = (np.abs(dt) <= bound + step_s * (1.0 - 1e-9)) & deployed
    # Between two copies half a step apart the satellite is where one of them is, half a step earlier or later
    # (and the Earth turned by at most 7.3e-5 rad/s times that): each copy's pass stands for half a step either side.
    pad = np.timedelta64(round(step_s / 2.0 * 1e6), "us") if shifts_s.size > 1 else np.timedelta64(0, "us")
    out: list[LeopWindow] = []
    for site_index, site in enumerate(sites):
        rows = np.flatnonzero(keep & (table.site_index == site_index))
        if rows.size == 0:
            continue
        rows = rows[np.argsort(aos[rows], kind="stable")]
        a, b = aos[rows] - pad, los[rows] + pad
        reach = np.maximum.accumulate(b)
        starts = np.concatenate([[0], np.flatnonzero(a[1:] > reach[:-1]) + 1])
        for lo, hi in zip(starts, [*starts[1:], rows.size], strict=True):
            members = rows[lo:hi]
            out.append(_window(table, members, dt, site.name, shifts_s, bound[members], pad))
    out.sort(key=lambda w: (w.earliest_aos, w.station))
    return out


def _window(table: Any, members: np.ndarray, dt: np.ndarray, station: str, shifts_s: np.ndarray,
            bounds: np.ndarray, pad: np.timedelta64) -> LeopWindow:
    nominal = members[dt[members] == 0.0]
    best_nominal = nominal[np.argmax(table.max_elevation_deg[nominal])] if nominal.size else None
    earliest = table.aos[members].min() - pad
    latest = table.los[members].max() + pad
    u = float(bounds.max())
    admissible = int(np.count_nonzero(np.abs(shifts_s) <= u + 1e-9)) or 1
    in_view = len(set(dt[members].tolist()) & set(shifts_s[np.abs(shifts_s) <= u + 1e-9].tolist()))

    def utc(value: Any) -> datetime:
        return datetime64_to_utc(value)

    return LeopWindow(
        station=station,
        aos=None if best_nominal is None else utc(table.aos[best_nominal]),
        tca=None if best_nominal is None else utc(table.tca[best_nominal]),
        los=None if best_nominal is None else utc(table.los[best_nominal]),
        max_elevation_deg=None if best_nominal is None else float(table.max_elevation_deg[best_nominal]),
        earliest_aos=utc(earliest), latest_los=utc(latest),
        best_max_elevation_deg=float(table.max_elevation_deg[members].max()),
        uncertainty_s=u, copies_in_view=min(1.0, in_view / admissible), nominal_passes=int(nominal.size))
