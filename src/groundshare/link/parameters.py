"""The parameters of one radio link, as frozen dataclasses: carrier, geometry, transmitter, receiver, path.

``LinkConfig`` holds them together; a TOML link file becomes one through
``link.config.load_link_config``, and the budget reads them (``link.budget``,
``link.along``).  Each class names the file table it comes from (``[link]``,
``[receiver]``, ...); units are in the field names.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from enum import StrEnum

# ETSI EN 302 307-1 Table 12, in MODCOD-number order (1 = QPSK 1/4 ... 28 = 32APSK 9/10).
# The thresholds and efficiencies live in volume.py.
DVB_S2_MODCODS: tuple[str, ...] = (
    "QPSK 1/4", "QPSK 1/3", "QPSK 2/5", "QPSK 1/2", "QPSK 3/5", "QPSK 2/3", "QPSK 3/4", "QPSK 4/5",
    "QPSK 5/6", "QPSK 8/9", "QPSK 9/10",
    "8PSK 3/5", "8PSK 2/3", "8PSK 3/4", "8PSK 5/6", "8PSK 8/9", "8PSK 9/10",
    "16APSK 2/3", "16APSK 3/4", "16APSK 4/5", "16APSK 5/6", "16APSK 8/9", "16APSK 9/10",
    "32APSK 3/4", "32APSK 4/5", "32APSK 5/6", "32APSK 8/9", "32APSK 9/10",
)
DVB_S2_ACM = "dvb-s2-acm"
# The physical temperature of a feed line when the file does not say: the IEEE reference T0.
DEFAULT_FEEDLINE_TEMPERATURE_K = 290.0


class NoiseModel(StrEnum):
    """How a ``[receiver]`` states its noise."""

    system_temperature = "system_temperature"   # system_noise_temperature_k, at the LNA input
    friis_cascade = "friis_cascade"             # sky, feed line, LNA, cable, receiver
    g_over_t = "g_over_t"                       # g_over_t_dbk or g_over_t_table


@dataclass(frozen=True, slots=True)
class LinkParams:
    """``[link]``: the carrier and either a fixed data rate or DVB-S2 ACM.

    A fixed-rate link has ``data_rate_bps`` and ``required_ebn0_db`` (the Eb/N0 its
    demodulator needs for the target bit error rate) and ``modulation`` None; a DVB-S2
    ACM link has ``modulation == "dvb-s2-acm"``, ``symbol_rate_baud`` and ``modcods``
    (in MODCOD-number order), and the fixed-rate fields None.
    """

    frequency_hz: float
    data_rate_bps: float | None = None
    required_ebn0_db: float | None = None
    modulation: str | None = None
    symbol_rate_baud: float | None = None
    modcods: tuple[str, ...] = ()
    acm_margin_db: float = 1.0
    acm_hysteresis_db: float = 0.5
    pilots: bool = False
    implementation_loss_db: float = 0.0
    availability_percent: float = 99.5

    @property
    def is_acm(self) -> bool:
        """Return whether the link adapts its MODCOD (DVB-S2 ACM) rather than keeping one rate."""
        return self.modulation == DVB_S2_ACM


@dataclass(frozen=True, slots=True)
class Geometry:
    """``[geometry]``: where the satellite is for a single-point budget.

    Either ``range_km`` (``elevation_deg`` then only feeds elevation-dependent receiver
    data), or ``altitude_km`` and ``elevation_deg`` for a slant range over a spherical Earth.
    """

    range_km: float | None = None
    altitude_km: float | None = None
    elevation_deg: float | None = None


@dataclass(frozen=True, slots=True)
class Transmitter:
    """``[transmitter]``: the satellite's downlink transmitter.

    Either ``power_w`` (with ``line_loss_db`` and ``antenna_gain_dbi``) or ``eirp_dbw``,
    which already includes both.  ``pointing_loss_db`` counts with the path losses.
    """

    power_w: float | None = None
    eirp_dbw: float | None = None
    line_loss_db: float = 0.0
    antenna_gain_dbi: float = 0.0
    pointing_loss_db: float = 0.0


@dataclass(frozen=True, slots=True)
class Receiver:
    """``[receiver]``: the station's antenna and receiving chain.

    ``noise_model`` says which fields are set:

    - ``system_temperature``: ``antenna_gain_dbi``, ``line_loss_to_lna_db`` and
      ``system_noise_temperature_k`` (referred to the LNA input);
    - ``friis_cascade``: ``antenna_gain_dbi``, ``line_loss_to_lna_db`` and the chain
      ``sky_temperature_k``, ``feedline_temperature_k``, ``lna_temperature_k``,
      ``lna_gain_db``, ``cable_after_lna_db``, ``receiver_temperature_k``, combined by
      ``budget.system_noise_temperature_k``;
    - ``g_over_t``: ``g_over_t_dbk``, or ``g_over_t_table`` as (elevation_deg,
      g_over_t_dbk) points with rising elevations; gain and line loss are inside G/T.

    ``pointing_loss_db`` applies in every model.  ``min_elevation_deg`` is the lowest
    elevation the station tracks; a ``[geometry] elevation_deg`` below it is refused.
    """

    noise_model: NoiseModel
    antenna_gain_dbi: float | None = None
    pointing_loss_db: float = 0.0
    line_loss_to_lna_db: float = 0.0
    system_noise_temperature_k: float | None = None
    sky_temperature_k: float | None = None
    feedline_temperature_k: float = DEFAULT_FEEDLINE_TEMPERATURE_K
    lna_temperature_k: float | None = None
    lna_gain_db: float | None = None
    cable_after_lna_db: float = 0.0
    receiver_temperature_k: float | None = None
    g_over_t_dbk: float | None = None
    g_over_t_table: tuple[tuple[float, float], ...] | None = None
    min_elevation_deg: float | None = None


@dataclass(frozen=True, slots=True)
class PathLosses:
    """``[path]``: losses between the antennas besides free space.

    ``atmospheric_loss_db`` or ``rain_loss_db`` None means "compute it from ITU-R
    recommendations for the ``[site]``" (gases and clouds, rain; at the link's
    ``availability_percent``).
    """

    polarization_loss_db: float = 0.0
    atmospheric_loss_db: float | None = None
    ionospheric_loss_db: float = 0.0
    rain_loss_db: float | None = None


@dataclass(frozen=True, slots=True)
class SitePosition:
    """``[site]``: the station's WGS84 position, for ITU-R attenuation statistics."""

    lat_deg: float
    lon_deg: float
    alt_m: float


@dataclass(frozen=True, slots=True)
class LinkConfig:
    """One radio link, as loaded from a link file (``source`` names it in messages)."""

    link: LinkParams
    transmitter: Transmitter
    receiver: Receiver
    path: PathLosses = PathLosses()
    geometry: Geometry | None = None
    site: SitePosition | None = None
    source: str = ""
    station_receivers: tuple[tuple[str, Receiver], ...] = ()

    def for_station(self, name: str) -> LinkConfig:
        """Return the link as received at station ``name``: its own ``[station.NAME]`` receiver, if any."""
        for station, receiver in self.station_receivers:
            if station == name:
                return dataclasses.replace(self, receiver=receiver, station_receivers=())
        return self

    @property
    def is_acm(self) -> bool:
        """Return whether the link uses DVB-S2 ACM."""
        return self.link.is_acm
