"""Doppler shift and its rate from the range rate along a pass."""

from __future__ import annotations

import numpy as np

from groundshare.units import C_M_S


def doppler_shift_hz(freq_hz: float | np.ndarray, range_rate_km_s: np.ndarray) -> np.ndarray:
    """Return the Doppler shift (Hz) of a carrier at ``freq_hz`` seen at the station.

    First order in v/c: ``-f * range_rate / c`` (a receding satellite, range rate > 0,
    is heard low).  The second-order term is below 1e-9 f in LEO.
    """
    return -np.asarray(freq_hz) * np.asarray(range_rate_km_s) * 1000.0 / C_M_S


def doppler_rate_hz_s(freq_hz: float | np.ndarray, range_accel_km_s2: np.ndarray) -> np.ndarray:
    """Return the rate of change of the Doppler shift (Hz/s) from the range acceleration."""
    return -np.asarray(freq_hz) * np.asarray(range_accel_km_s2) * 1000.0 / C_M_S


def received_frequency_hz(freq_hz: float | np.ndarray, range_rate_km_s: np.ndarray) -> np.ndarray:
    """Return the frequency (Hz) to tune to at the station for a downlink sent at ``freq_hz``."""
    return np.asarray(freq_hz) + doppler_shift_hz(freq_hz, range_rate_km_s)


def uplink_frequency_hz(freq_hz: float | np.ndarray, range_rate_km_s: np.ndarray) -> np.ndarray:
    """Return the frequency (Hz) to transmit so that the satellite receives ``freq_hz``."""
    return np.asarray(freq_hz) - doppler_shift_hz(freq_hz, range_rate_km_s)
