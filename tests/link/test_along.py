"""The link along real passes: per-sample budgets, per-pass margins and volumes."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from groundshare.errors import InvalidInputError
from groundshare.link import link_budget, load_link_config
from groundshare.link.along import link_along_passes, sky_noise_rise_k
from groundshare.link.doppler import doppler_shift_hz
from groundshare.passes import find_passes
from groundshare.passes.track import sample_passes
from groundshare.units import DAY_S
from tests.support.shipped import CORDOBA, CUBESAT_START, DAEJEON

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def along(cubesats):
    elements, sites = cubesats[:20], [DAEJEON, CORDOBA]
    table = find_passes(elements, sites, start=CUBESAT_START, duration_s=DAY_S, workers=1)
    return table, sample_passes(table, elements, sites, step_s=2.0), sites


def test_each_sample_is_the_point_budget_at_its_geometry(along):
    table, tracks, sites = along
    config = load_link_config(DATA / "oresat1_uhf_downlink.toml")      # losses given in [path]
    links = link_along_passes(table, tracks, config, sites)
    for row in range(0, len(tracks), 211):
        rise = sky_noise_rise_k(config.path.atmospheric_loss_db + config.path.rain_loss_db)
        point = link_budget(config, range_km=tracks.range_km[row], elevation_deg=tracks.el_deg[row],
                            sky_temperature_k=config.receiver.sky_temperature_k + rise)
        assert links.budget.margin_db[row] == pytest.approx(point.margin_db, abs=1e-9)
        assert links.budget.cn0_dbhz[row] == pytest.approx(point.cn0_dbhz, abs=1e-9)
    assert np.allclose(links.doppler_hz, doppler_shift_hz(config.link.frequency_hz, tracks.range_rate_km_s))


def test_per_pass_margins_and_fixed_rate_volume(along):
    table, tracks, sites = along
    config = load_link_config(DATA / "oresat1_uhf_downlink.toml")
    links = link_along_passes(table, tracks, config, sites)
    margin = np.asarray(links.budget.margin_db)
    for i in range(0, len(table), 7):
        rows = tracks.of_pass(i)
        assert links.min_margin_db[i] == margin[rows].min() and links.max_margin_db[i] == margin[rows].max()
        usable = tracks.weight_s[rows][margin[rows] >= 0].sum()
        assert links.usable_s[i] == pytest.approx(usable)
        assert links.volume_bytes[i] == pytest.approx(usable * config.link.data_rate_bps / 8.0)
        assert links.usable_s[i] <= table.duration_s[i] + 1e-9
    # Higher passes are closer, so they close better: the best margin rises with elevation.
    assert np.corrcoef(table.max_elevation_deg, links.max_margin_db)[0, 1] > 0.8
    assert (links.volume_bytes > 0).any() and (links.volume_bytes == 0).any()


def test_acm_volume_uses_the_modcods_the_margin_allows(along):
    table, tracks, sites = along
    config = load_link_config(DATA / "acm_xband_downlink.toml")
    links = link_along_passes(table, tracks, config, sites)
    assert links.modcod_index is not None and len(links.modcods) == 4
    used = links.modcod_index >= 0
    esn0 = np.asarray(links.budget.esn0_db) - config.link.implementation_loss_db
    required = np.array([m.required_esn0_db for m in links.modcods])[links.modcod_index[used]]
    assert (esn0[used] >= required + config.link.acm_margin_db).all()
    best = int(np.argmax(links.volume_bytes))
    assert links.volume_bytes[best] > 1e8           # an X-band pass brings hundreds of megabytes
    assert links.usable_s[best] <= table.duration_s[best]


def test_left_out_losses_need_an_atmosphere(along):
    table, tracks, sites = along
    config = load_link_config(Path(__file__).parents[2] / "src/groundshare/data/demo_link_uhf.toml")
    with pytest.raises(InvalidInputError) as info:
        link_along_passes(table, tracks, config, sites)
    assert "[path] atmospheric_loss_db or rain_loss_db is left to ITU-R but no atmosphere model was given" in str(
        info.value)


def test_sky_noise_rise():
    assert sky_noise_rise_k(0.0) == 0.0
    assert sky_noise_rise_k(3.0103) == pytest.approx((275.0 - 2.7) / 2.0, rel=1e-4)
    assert sky_noise_rise_k(60.0) == pytest.approx(272.3, abs=1e-3)


def test_itu_losses_fill_what_the_link_file_leaves_out(along, tmp_path):
    from groundshare.link.atmosphere import ItuAtmosphere

    table, tracks, sites = along
    fixed_config = load_link_config(DATA / "acm_xband_downlink.toml")
    config = dataclasses.replace(fixed_config, path=dataclasses.replace(
        fixed_config.path, atmospheric_loss_db=None, rain_loss_db=None))
    links = link_along_passes(table, tracks, config, sites, atmosphere=ItuAtmosphere(cache_dir=tmp_path))
    total = links.atmospheric_loss_db + links.rain_loss_db
    assert np.isfinite(total).all() and (total > 0.0).all()
    low, high = tracks.el_deg < 10.0, tracks.el_deg > 60.0
    assert total[low].min() > total[high].max()          # a longer path through the air near the horizon
    assert 0.05 < np.median(total[high]) < 3.0            # X band, 99.5 % availability, zenith-ish
    fixed = link_along_passes(table, tracks, fixed_config, sites)
    assert not np.allclose(links.budget.margin_db, fixed.budget.margin_db)


def test_a_station_with_its_own_antenna_gets_its_own_budget(along, tmp_path):
    table, tracks, sites = along
    text = (DATA / "oresat1_uhf_downlink.toml").read_text()
    receiver = text[text.index("[receiver]"):text.index("[path]")]
    bigger = receiver.replace("[receiver]", "[station.cordoba]").replace("antenna_gain_dbi = 15.5",
                                                                          "antenna_gain_dbi = 21.5")
    path = tmp_path / "two_antennas.toml"
    path.write_text(text + "\n" + bigger)
    shared = link_along_passes(table, tracks, load_link_config(DATA / "oresat1_uhf_downlink.toml"), sites)
    own = link_along_passes(table, tracks, load_link_config(path), sites)
    at_cordoba = tracks.site_index == 1
    gain_db = np.asarray(own.budget.margin_db) - np.asarray(shared.budget.margin_db)
    assert gain_db[at_cordoba] == pytest.approx(6.0, abs=1e-9)
    assert gain_db[~at_cordoba] == pytest.approx(0.0, abs=1e-12)


def test_a_bad_station_receiver_is_named(tmp_path):
    text = (DATA / "oresat1_uhf_downlink.toml").read_text()
    path = tmp_path / "bad.toml"
    path.write_text(text + "\n[station.cordoba]\nantenna_gain_dbi = 21.5\nlna_gain = 20\n")
    with pytest.raises(InvalidInputError) as info:
        load_link_config(path)
    assert str(info.value).startswith(f"{path}, [station.cordoba] (the [receiver] of station 'cordoba'), "
                                      "[receiver] has an unknown key 'lna_gain' (did you mean 'lna_gain_db'?)")
