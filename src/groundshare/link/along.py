"""The link along every pass: margin, Doppler and data volume, sample by sample.

Geometry comes from ``passes.track.sample_passes`` (exact SGP4, every ``step_s``); the
budget chain is ``link.budget.link_budget`` on whole arrays.  Losses the configuration
leaves out (``[path] atmospheric_loss_db``, ``rain_loss_db``) come from an atmosphere
model per station, e.g. ``link.atmosphere.ItuAtmosphere`` (ITU-R tables, built once per
station and frequency).  With a Friis-cascade receiver the sky noise those losses add
raises the system temperature too.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from groundshare.errors import InvalidInputError
from groundshare.link.budget import AtmosphereModel, LinkBudget, link_budget
from groundshare.link.doppler import doppler_rate_hz_s, doppler_shift_hz
from groundshare.link.itu_attenuation import COSMIC_BACKGROUND_K, MEAN_RADIATING_TEMPERATURE_K
from groundshare.link.parameters import LinkConfig, NoiseModel, SitePosition
from groundshare.link.volume import acm_volume_bytes, fixed_rate_volume_bytes, modcods_by_name
from groundshare.passes.site import Site
from groundshare.passes.table import PassTable
from groundshare.passes.track import PassTracks


def sky_noise_rise_k(attenuation_db: np.ndarray) -> np.ndarray:
    """Return the rise of the antenna's sky temperature (K) that an attenuation causes.

    T = T_mr (1 - 10^(-A/10)) + T_c 10^(-A/10), less the clear-sky T_c: the absorbing
    atmosphere radiates at T_mr and dims the cosmic background (ITU-R P.618 s.3).
    """
    transmission = 10.0 ** (-np.asarray(attenuation_db) / 10.0)
    return (MEAN_RADIATING_TEMPERATURE_K - COSMIC_BACKGROUND_K) * (1.0 - transmission)


@dataclass
class PassLinks:
    """The budget along every pass (per-sample arrays) and per-pass results.

    ``budget`` holds arrays aligned with ``tracks``; ``modcod_index`` is the DVB-S2
    MODCOD in use at each sample (index into ``modcods``, -1 for none) for ACM links.
    Per pass: ``min_margin_db``, ``max_margin_db``, ``volume_bytes`` and ``usable_s``
    (the time the link closes, which may be shorter than the pass).
    """

    tracks: PassTracks
    budget: LinkBudget
    atmospheric_loss_db: np.ndarray
    rain_loss_db: np.ndarray
    doppler_hz: np.ndarray
    doppler_rate_hz_s: np.ndarray
    modcods: list
    modcod_index: np.ndarray | None
    min_margin_db: np.ndarray
    max_margin_db: np.ndarray
    volume_bytes: np.ndarray
    usable_s: np.ndarray

    def columns(self) -> dict[str, np.ndarray]:
        """Return the per-pass results as columns for ``PassTable.with_columns``."""
        return {"min_margin_db": self.min_margin_db, "max_margin_db": self.max_margin_db,
                "volume_bytes": self.volume_bytes, "usable_s": self.usable_s}


def _budget_per_station(config: LinkConfig, tracks: PassTracks, sites: Sequence[Site], atmospheric: np.ndarray,
                        rain: np.ndarray) -> LinkBudget:
    """Return the budget at every sample, each station with its own receiver (``[station.NAME]``)."""
    fields: dict[str, np.ndarray | None] = {}
    for k in np.unique(tracks.site_index):
        rows = np.flatnonzero(tracks.site_index == k)
        here = config.for_station(sites[int(k)].name)
        sky_k = None
        if here.receiver.noise_model is NoiseModel.friis_cascade:
            sky_k = here.receiver.sky_temperature_k + sky_noise_rise_k(atmospheric[rows] + rain[rows])
        part = link_budget(here, range_km=tracks.range_km[rows], elevation_deg=tracks.el_deg[rows],
                           atmospheric_loss_db=atmospheric[rows], rain_loss_db=rain[rows], sky_temperature_k=sky_k)
        for name, value in dataclasses.asdict(part).items():
            if value is None:
                continue
            column = fields.setdefault(name, np.full(len(tracks), np.nan))
            column[rows] = value
    return LinkBudget(**{name: fields.get(name) for name in (f.name for f in dataclasses.fields(LinkBudget))})


def link_along_passes(table: PassTable, tracks: PassTracks, config: LinkConfig, sites: Sequence[Site], *,
                      atmosphere: AtmosphereModel | None = None) -> PassLinks:
    """Return the link budget along every pass of ``table`` (sampled in ``tracks``)."""
    link = config.link
    el_deg = tracks.el_deg
    n_pass = len(table)
    if n_pass == 0 or len(tracks) == 0:
        raise InvalidInputError("there are no passes to compute a link budget for", loc=("passes",))
    atmospheric = np.full(el_deg.shape, np.nan if config.path.atmospheric_loss_db is None
                          else config.path.atmospheric_loss_db)
    rain = np.full(el_deg.shape, np.nan if config.path.rain_loss_db is None else config.path.rain_loss_db)
    if np.isnan(atmospheric).any() or np.isnan(rain).any():
        if atmosphere is None:
            raise InvalidInputError(
                f"{config.source or 'link configuration'}: [path] atmospheric_loss_db or rain_loss_db is left "
                "to ITU-R but no atmosphere model was given; pass atmosphere=ItuAtmosphere() or give both in [path]",
                loc=("path", "atmospheric_loss_db"))
        for k in np.unique(tracks.site_index):
            rows = tracks.site_index == k
            site = sites[int(k)]
            # Tables start a little above the horizon; samples below it (masks, negative minima) use its edge.
            gas, wet = atmosphere(SitePosition(site.lat_deg, site.lon_deg, site.alt_m),
                                  frequency_hz=link.frequency_hz, elevation_deg=np.maximum(el_deg[rows], 1.0),
                                  availability_percent=link.availability_percent)
            atmospheric[rows] = np.where(np.isnan(atmospheric[rows]), gas, atmospheric[rows])
            rain[rows] = np.where(np.isnan(rain[rows]), wet, rain[rows])
    budget = _budget_per_station(config, tracks, sites, atmospheric, rain)
    margin = np.asarray(budget.margin_db, dtype=float)
    first = tracks.starts[:-1]
    owner = tracks.pass_index
    modcods: list = []
    level = None
    if link.is_acm:
        modcods = modcods_by_name(list(link.modcods))
        esn0 = np.asarray(budget.esn0_db) - link.implementation_loss_db
        volume, usable, level = acm_volume_bytes(
            esn0, tracks.weight_s, owner, n_pass, modcods, symbol_rate_baud=link.symbol_rate_baud,
            margin_db=link.acm_margin_db, hysteresis_db=link.acm_hysteresis_db, pilots=link.pilots)
    else:
        volume, usable = fixed_rate_volume_bytes(margin, tracks.weight_s, owner, n_pass, link.data_rate_bps)
    return PassLinks(
        tracks=tracks, budget=budget, atmospheric_loss_db=atmospheric, rain_loss_db=rain,
        doppler_hz=doppler_shift_hz(link.frequency_hz, tracks.range_rate_km_s),
        doppler_rate_hz_s=doppler_rate_hz_s(link.frequency_hz, tracks.range_accel_km_s2),
        modcods=modcods, modcod_index=level,
        min_margin_db=np.minimum.reduceat(margin, first), max_margin_db=np.maximum.reduceat(margin, first),
        volume_bytes=volume, usable_s=usable)
