"""``ElementSet``: one satellite's mean orbital elements, whatever format they came in.

The fields follow CCSDS OMM (502.0-B) names with units in the names.  groundshare keys
satellites by its own integer ``norad_id``, which may exceed what a TLE or sgp4's
``Satrec`` can hold (objects catalogued since mid-2026 have numbers above 99999).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from sgp4.api import WGS72, Satrec

from groundshare.errors import InvalidInputError
from groundshare.timeutil import sgp4_epoch_days
from groundshare.units import DAY_S

_DEG = math.pi / 180.0
# TLE/OMM derivative units to SGP4's internal rad/min^2 and rad/min^3 (SGP4.cpp).
_NDOT_UNITS = 1036800.0 / math.pi
_NDDOT_UNITS = 2985984000.0 / 2.0 / math.pi
# sgp4's Satrec holds catalogue numbers up to 339999 (Alpha-5 Z9999).
SATREC_MAX_SATNUM = 339_999


@dataclass(frozen=True, slots=True)
class ElementSet:
    """Mean elements of one satellite for SGP4/SDP4.

    ``epoch`` is an aware UTC datetime.  ``mean_motion_dot`` and ``mean_motion_ddot``
    are as printed in a TLE or OMM (rev/day^2 and rev/day^3, the first already halved,
    the second divided by six).  ``bstar`` is in inverse Earth radii.  ``line1`` and
    ``line2`` keep the original TLE lines when the set came from one, so that SGP4 is
    initialised exactly as every other TLE user does.  ``source`` says where it came
    from, e.g. ``cubesats.tle:14``.
    """

    norad_id: int
    name: str
    epoch: datetime
    mean_motion_rev_day: float
    eccentricity: float
    inclination_deg: float
    raan_deg: float
    arg_perigee_deg: float
    mean_anomaly_deg: float
    bstar: float = 0.0
    mean_motion_dot: float = 0.0
    mean_motion_ddot: float = 0.0
    classification: str = "U"
    object_id: str = ""
    element_set_no: int = 999
    rev_at_epoch: int = 0
    ephemeris_type: int = 0
    line1: str | None = field(default=None, repr=False, compare=False)
    line2: str | None = field(default=None, repr=False, compare=False)
    source: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        check_physics(self)

    @classmethod
    def from_tle(cls, line1: str, line2: str, name: str | None = None, *, source: str = "") -> ElementSet:
        """Return the element set of one TLE after checking every column (see ``tle.parse_tle``)."""
        from groundshare.orbits.tle import parse_tle  # tle imports this module

        return parse_tle(line1, line2, name, source=source)

    @classmethod
    def from_omm(cls, fields: Mapping[str, str | float | int], *, source: str = "") -> ElementSet:
        """Return the element set of one OMM ``KEY -> value`` mapping (see ``omm.elements_from_omm``)."""
        from groundshare.orbits.omm import elements_from_omm  # omm imports this module

        return elements_from_omm(fields, source=source)

    @property
    def period_s(self) -> float:
        """Return the mean (Kozai) orbital period in seconds."""
        return DAY_S / self.mean_motion_rev_day

    def to_satrec(self) -> Satrec:
        """Return an initialised sgp4 ``Satrec`` for these elements.

        TLE-born sets go through ``Satrec.twoline2rv`` on their own lines; other sets
        through ``sgp4init`` (WGS72, improved mode, as ``twoline2rv`` does).  Catalogue
        numbers that a ``Satrec`` cannot hold get the placeholder 0 there; groundshare
        keeps the real ``norad_id`` itself.
        """
        if self.line1 is not None and self.line2 is not None:
            return Satrec.twoline2rv(self.line1, self.line2)
        sat = Satrec()
        satnum = self.norad_id if 0 <= self.norad_id <= SATREC_MAX_SATNUM else 0
        sat.sgp4init(
            WGS72, "i", satnum, sgp4_epoch_days(self.epoch), self.bstar,
            self.mean_motion_dot / _NDOT_UNITS, self.mean_motion_ddot / _NDDOT_UNITS,
            self.eccentricity, self.arg_perigee_deg * _DEG, self.inclination_deg * _DEG,
            self.mean_anomaly_deg * _DEG, self.mean_motion_rev_day / 720.0 * math.pi,
            self.raan_deg * _DEG,
        )
        return sat


def check_physics(elements: ElementSet) -> None:
    """Raise ``InvalidInputError`` naming the field when the elements cannot be an orbit."""
    where = f"{elements.source}: " if elements.source else ""
    label = f"NORAD {elements.norad_id}"
    numbers = {
        "mean_motion_rev_day": elements.mean_motion_rev_day,
        "eccentricity": elements.eccentricity,
        "inclination_deg": elements.inclination_deg,
        "raan_deg": elements.raan_deg,
        "arg_perigee_deg": elements.arg_perigee_deg,
        "mean_anomaly_deg": elements.mean_anomaly_deg,
        "bstar": elements.bstar,
        "mean_motion_dot": elements.mean_motion_dot,
        "mean_motion_ddot": elements.mean_motion_ddot,
    }
    for name, value in numbers.items():
        if not isinstance(value, (int, float)) or not math.isfinite(value):
            raise InvalidInputError(f"{where}{label}: {name} must be a finite number, got {value!r}",
                                    loc=(name,))
    if elements.norad_id < 0:
        raise InvalidInputError(f"{where}{label}: norad_id must be 0 or more", loc=("norad_id",))
    if elements.mean_motion_rev_day <= 0.0:
        raise InvalidInputError(
            f"{where}{label}: mean motion must be greater than 0 rev/day, "
            f"got {elements.mean_motion_rev_day!r}", loc=("mean_motion_rev_day",))
    if not 0.0 <= elements.eccentricity < 1.0:
        raise InvalidInputError(
            f"{where}{label}: eccentricity must be in [0, 1) for SGP4, got {elements.eccentricity!r}",
            loc=("eccentricity",))
    if not 0.0 <= elements.inclination_deg <= 180.0:
        raise InvalidInputError(
            f"{where}{label}: inclination must be in [0, 180] deg, got {elements.inclination_deg!r}",
            loc=("inclination_deg",))
    if elements.epoch.tzinfo is None:
        raise InvalidInputError(f"{where}{label}: epoch must be an aware UTC datetime", loc=("epoch",))
