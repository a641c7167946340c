"""The geometry and link of one contact: a satellite seen from a site, sample by sample.

The window ``[start, start + duration_s]`` is sampled as one pass
(``passes.track.sample_window``: exact SGP4 every ``step_s``, both ends included); the
Doppler-shifted downlink follows from the range rate to first order in v/c
(``link.doppler``), and the margin from the budget along the pass
(``link.along.link_along_passes``).  Samples SGP4 cannot propagate are left out and
said so in ``notes``.

The network stores a satellite's EIRP, rate and frequency and an antenna's G/T, not the
demodulator's threshold: ``downlink_config`` turns those into a fixed-rate link that
assumes the Eb/N0 of the demo UHF link (GMSK with convolutional coding,
``data/demo_link_uhf.toml``) and no pointing, polarisation, atmospheric, ionospheric or
rain loss.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from groundshare.link.along import link_along_passes
from groundshare.link.config import LinkConfig, LinkParams, NoiseModel, PathLosses, Receiver, Transmitter
from groundshare.link.doppler import received_frequency_hz
from groundshare.orbits.elements import ElementSet
from groundshare.passes.site import Site
from groundshare.passes.track import sample_window

#: Eb/N0 a stored downlink is assumed to need: the demo UHF link's (GMSK, convolutional coding).
ASSUMED_REQUIRED_EBN0_DB = 10.4


def downlink_config(*, frequency_hz: float, eirp_dbw: float, data_rate_bps: float, g_over_t_dbk: float,
                    required_ebn0_db: float = ASSUMED_REQUIRED_EBN0_DB, source: str = "") -> LinkConfig:
    """Return the fixed-rate downlink of a satellite's stored radio parameters into an antenna's G/T.

    No pointing, polarisation, atmospheric, ionospheric or rain loss is counted (the
    network does not store them); ``required_ebn0_db`` defaults to
    ``ASSUMED_REQUIRED_EBN0_DB``.
    """
    return LinkConfig(
        link=LinkParams(frequency_hz=frequency_hz, data_rate_bps=data_rate_bps, required_ebn0_db=required_ebn0_db),
        transmitter=Transmitter(eirp_dbw=eirp_dbw),
        receiver=Receiver(noise_model=NoiseModel.g_over_t, g_over_t_dbk=g_over_t_dbk),
        path=PathLosses(atmospheric_loss_db=0.0, rain_loss_db=0.0), source=source)


@dataclass(frozen=True)
class ContactSamples:
    """A contact sampled from start to end: arrays of one length, SGP4 failures left out.

    ``offset_s`` counts seconds from ``start``; azimuth is clockwise from true north.
    ``downlink_hz`` is None without a downlink frequency; ``margin_db`` and
    ``data_rate_bps`` (the link's rate where the margin is at least 0 dB, else 0) are
    None without a link.  ``max_el_deg`` is the highest elevation (None when no sample
    propagated); ``notes`` say what was left out.
    """

    start: datetime
    offset_s: np.ndarray
    az_deg: np.ndarray
    el_deg: np.ndarray
    range_km: np.ndarray
    range_rate_km_s: np.ndarray
    downlink_hz: np.ndarray | None
    margin_db: np.ndarray | None
    data_rate_bps: np.ndarray | None
    max_el_deg: float | None
    notes: tuple[str, ...]


def sample_contact(elements: ElementSet, site: Site, start: datetime, duration_s: float, *, step_s: float,
                   downlink_frequency_hz: float | None = None, link: LinkConfig | None = None) -> ContactSamples:
    """Return the geometry of ``elements`` from ``site`` every ``step_s`` over ``[start, start + duration_s]``.

    With ``downlink_frequency_hz`` the Doppler-shifted received frequency comes back too,
    and with ``link`` (e.g. ``downlink_config(...)``) the margin and data rate.
    """
    table, tracks = sample_window(elements, site, start, duration_s, step_s=step_s)
    ok = tracks.ok
    notes = []
    if not ok.all():
        notes.append(f"SGP4 cannot propagate the element set at {int((~ok).sum())} of {ok.size} sample times; "
                     "those samples are left out.")
    downlink_hz = None
    if downlink_frequency_hz is not None:
        downlink_hz = received_frequency_hz(downlink_frequency_hz, tracks.range_rate_km_s[ok])
    margin_db = data_rate_bps = None
    if link is not None:
        margin_db = np.asarray(link_along_passes(table, tracks, link, [site]).budget.margin_db)[ok]
        data_rate_bps = np.where(margin_db >= 0.0, link.link.data_rate_bps, 0.0)
    offset_s, el_deg = tracks.offset_s[ok], tracks.el_deg[ok]
    return ContactSamples(start=start, offset_s=offset_s, az_deg=tracks.az_deg[ok], el_deg=el_deg,
                          range_km=tracks.range_km[ok], range_rate_km_s=tracks.range_rate_km_s[ok],
                          downlink_hz=downlink_hz, margin_db=margin_db, data_rate_bps=data_rate_bps,
                          max_el_deg=peak_elevation_deg(offset_s, el_deg), notes=tuple(notes))


def peak_elevation_deg(offset_s: np.ndarray, el_deg: np.ndarray) -> float | None:
    """Return the highest elevation, refined by the parabola through the top three equally spaced samples.

    None when there are no samples.  The vertex of the parabola through (-h, y0), (0, y1),
    (h, y2) is ``y1 - (y2 - y0)**2 / (8 (y0 - 2 y1 + y2))``; it is used only where the
    three samples curve downwards.
    """
    if el_deg.size == 0:
        return None
    i = int(np.argmax(el_deg))
    peak = float(el_deg[i])
    if 0 < i < el_deg.size - 1 and math.isclose(offset_s[i] - offset_s[i - 1], offset_s[i + 1] - offset_s[i]):
        y0, y1, y2 = el_deg[i - 1], el_deg[i], el_deg[i + 1]
        curvature = y0 - 2.0 * y1 + y2
        if curvature < 0.0:
            peak = float(y1 - (y2 - y0) ** 2 / (8.0 * curvature))
    return peak
