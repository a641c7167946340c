"""Thin wrapper over sgp4's ``SatrecArray``: (n_sat, n_time) arrays and error codes.

``propagate_teme`` and ``propagate_pairs`` return SGP4's own TEME states;
``propagate_itrs`` and ``propagate_pairs_itrs`` rotate them into the Earth-fixed frame
(``orbits.frames``: GMST 1982, UT1 = UTC, no polar motion) at the same split Julian
dates, which is what look angles start from (``passes.look``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

import numpy as np
from sgp4.api import SGP4_ERRORS, SatrecArray

from groundshare.orbits.elements import ElementSet
from groundshare.orbits.frames import gmst82_rad, teme_to_itrs
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


def propagate_itrs(sats: SatrecArray, start: datetime, t_s: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Propagate every satellite to ``start + t_s`` seconds, in the Earth-fixed frame.

    Returns error codes (n_sat, n_time), positions in km and velocities in km/s
    relative to the rotating Earth, each (n_sat, n_time, 3): ``propagate_teme``'s
    states through ``frames.teme_to_itrs``.
    """
    jd, fr = jd_fr(start, t_s)
    err, r_teme, v_teme = sats.sgp4(jd, fr)
    theta, theta_dot = gmst82_rad(jd, fr)
    r_km, v_km_s = teme_to_itrs(r_teme, v_teme, theta, theta_dot)
    return err, r_km, v_km_s


def error_message(code: int) -> str:
    """Return sgp4's explanation of a non-zero error code."""
    return SGP4_ERRORS.get(int(code), f"unknown SGP4 error code {code}")


def propagate_pairs(satrecs: Sequence | Mapping, sat_index: np.ndarray, start: datetime, t_s: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Propagate satellite ``satrecs[sat_index[i]]`` to ``start + t_s[i]``, for every i.

    ``satrecs`` is indexed by satellite index (a list, or a dict holding the ones used).
    Returns error codes (m,), TEME positions (m, 3) in km and velocities (m, 3) in
    km/s.  One ``sgp4_array`` call per satellite involved: the Python loop runs over
    satellites, never over times.
    """
    jd, fr = jd_fr(start, np.asarray(t_s, dtype=float))
    return sgp4_pairs(satrecs, np.asarray(sat_index), jd, fr)


def propagate_pairs_itrs(satrecs: Sequence | Mapping, sat_index: np.ndarray, start: datetime, t_s: np.ndarray
                         ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return ``propagate_pairs`` results rotated into the Earth-fixed frame (km, km/s)."""
    jd, fr = jd_fr(start, np.asarray(t_s, dtype=float))
    err, r_teme, v_teme = sgp4_pairs(satrecs, np.asarray(sat_index), jd, fr)
    theta, theta_dot = gmst82_rad(jd, fr)
    r_km, v_km_s = teme_to_itrs(r_teme, v_teme, theta, theta_dot)
    return err, r_km, v_km_s


def sgp4_pairs(satrecs: Sequence | Mapping, sat_index: np.ndarray, jd: np.ndarray, fr: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return ``propagate_pairs`` results for split Julian dates ``jd + fr``."""
    err = np.zeros(jd.size, dtype=np.uint8)
    r = np.zeros((jd.size, 3))
    v = np.zeros((jd.size, 3))
    order = np.argsort(sat_index, kind="stable")
    for rows in np.split(order, np.flatnonzero(np.diff(sat_index[order])) + 1):
        if rows.size:
            err[rows], r[rows], v[rows] = satrecs[int(sat_index[rows[0]])].sgp4_array(jd[rows], fr[rows])
    return err, r, v
