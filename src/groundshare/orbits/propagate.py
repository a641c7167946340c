"""Thin wrapper over sgp4's ``SatrecArray``: (n_sat, n_time) arrays and error codes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import numpy as np
from sgp4.api import SGP4_ERRORS, SatrecArray

from groundshare.orbits.elements import ElementSet
from groundshare.timeutil import jd_fr


def satrec_array(elements: Sequence[ElementSet]) -> SatrecArray:
    """Return one ``SatrecArray`` over the element sets, in order."""
    return SatrecArray([e.to_satrec() for e in elements])


def propagate_teme(sats: SatrecArray, start: datetime, t_s: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Propagate every satellite to ``start + t_s`` seconds.

    Returns:

    - error codes, shape (n_sat, n_time), 0 where SGP4 succeeded
      (``sgp4.api.SGP4_ERRORS`` explains the others);
    - TEME positions in km, shape (n_sat, n_time, 3);
    - TEME velocities in km/s, same shape.
    """
    jd, fr = jd_fr(start, t_s)
    return sats.sgp4(jd, fr)


def error_message(code: int) -> str:
    """Return sgp4's explanation of a non-zero error code."""
    return SGP4_ERRORS.get(int(code), f"unknown SGP4 error code {code}")
