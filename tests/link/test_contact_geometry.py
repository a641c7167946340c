"""link.contact_geometry: one contact sampled from start to end, with Doppler and margin."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from groundshare.data import data_path
from groundshare.link import NoiseModel
from groundshare.link.contact_geometry import (
    ASSUMED_REQUIRED_EBN0_DB,
    downlink_config,
    peak_elevation_deg,
    sample_contact,
)
from groundshare.link.doppler import received_frequency_hz
from groundshare.orbits import load_elements
from groundshare.passes import Site, find_passes
from groundshare.passes.track import sample_window
from groundshare.units import DAY_S

CUBESATS = data_path("celestrak_cubesat_2025-11-06.tle")
START = datetime(2025, 11, 7, tzinfo=UTC)
DAEJEON = Site("daejeon-1", lat_deg=36.3725, lon_deg=127.359, alt_m=50.0, min_elevation_deg=5.0)
#: The demo UHF downlink (data/demo_link_uhf.toml): EIRP, frequency, rate, and a small Yagi's G/T.
UHF = {"frequency_hz": 436.5e6, "eirp_dbw": 0.58, "data_rate_bps": 9600.0, "g_over_t_dbk": -11.9}
ONE_HUNDREDTH_DEG = 0.01
DECAYING_NORAD_ID = 32785  # decays in SGP4 in mid-May 2034 (tests/orbits/test_tracks.py)


@pytest.fixture(scope="module")
def best_pass():
    element_set = load_elements(CUBESATS, on_error="raise").elements[0]
    table = find_passes([element_set], [DAEJEON], start=START, duration_s=DAY_S, workers=1)
    return element_set, max((p for p in table if not p.clipped), key=lambda p: p.max_elevation_deg)


def test_downlink_config_is_a_fixed_rate_link_into_g_over_t_without_extra_losses():
    config = downlink_config(**UHF, source="satellite 7")
    assert config.link.frequency_hz == 436.5e6 and config.link.data_rate_bps == 9600.0
    assert config.link.required_ebn0_db == ASSUMED_REQUIRED_EBN0_DB and not config.is_acm
    assert config.transmitter.eirp_dbw == 0.58
    assert config.receiver.noise_model is NoiseModel.g_over_t and config.receiver.g_over_t_dbk == -11.9
    assert config.path.atmospheric_loss_db == 0.0 and config.path.rain_loss_db == 0.0
    assert config.source == "satellite 7"
    assert downlink_config(**UHF, required_ebn0_db=4.2).link.required_ebn0_db == 4.2


def test_samples_are_the_windows_samples_with_doppler_margin_and_rate(best_pass):
    element_set, best = best_pass
    duration_s = (best.los - best.aos).total_seconds()
    samples = sample_contact(element_set, DAEJEON, best.aos, duration_s, step_s=1.0,
                             downlink_frequency_hz=UHF["frequency_hz"], link=downlink_config(**UHF))
    _, tracks = sample_window(element_set, DAEJEON, best.aos, duration_s, step_s=1.0)
    assert samples.start == best.aos and samples.notes == ()
    assert np.array_equal(samples.offset_s, tracks.offset_s) and np.array_equal(samples.el_deg, tracks.el_deg)
    assert np.array_equal(samples.az_deg, tracks.az_deg) and np.array_equal(samples.range_km, tracks.range_km)
    assert np.array_equal(samples.downlink_hz, received_frequency_hz(UHF["frequency_hz"], tracks.range_rate_km_s))
    assert samples.margin_db.shape == samples.el_deg.shape
    assert np.array_equal(samples.data_rate_bps, np.where(samples.margin_db >= 0.0, 9600.0, 0.0))
    assert samples.max_el_deg == pytest.approx(best.max_elevation_deg, abs=ONE_HUNDREDTH_DEG)


def test_without_frequency_or_link_only_the_geometry_comes_back(best_pass):
    element_set, best = best_pass
    samples = sample_contact(element_set, DAEJEON, best.aos, 120.0, step_s=10.0)
    assert samples.downlink_hz is None and samples.margin_db is None and samples.data_rate_bps is None
    assert samples.offset_s.tolist() == [float(s) for s in range(0, 121, 10)]


def test_samples_sgp4_cannot_propagate_are_left_out_and_noted():
    element_set = load_elements(CUBESATS, on_error="raise").by_norad_id(DECAYING_NORAD_ID)
    start = element_set.epoch + timedelta(days=3112)
    samples = sample_contact(element_set, DAEJEON, start, DAY_S, step_s=600.0, downlink_frequency_hz=436.5e6)
    n = samples.offset_s.size
    assert 0 < n < 145 and samples.downlink_hz.size == n
    assert samples.notes == (f"SGP4 cannot propagate the element set at {145 - n} of 145 sample times; those "
                             "samples are left out.",)


@pytest.mark.parametrize(("offset_s", "el_deg", "peak"), [
    ([], [], None),
    ([0.0, 1.0, 2.0], [10.0, 30.0, 20.0], 30.0 - (20.0 - 10.0) ** 2 / (8.0 * (10.0 - 60.0 + 20.0))),
    ([0.0, 1.0, 2.0], [10.0, 20.0, 30.0], 30.0),     # highest at the end: nothing to refine
    ([0.0, 1.0, 3.0], [10.0, 30.0, 20.0], 30.0),     # unequal spacing: not refined
    ([0.0, 1.0, 2.0], [10.0, 10.0, 10.0], 10.0),     # flat: no downward curvature
    ([0.0, 1.0, 2.0, 3.0, 4.0], [-1.0, 3.0, 4.0, 3.0, -1.0], 4.0),  # symmetric: the vertex is the sample
])
def test_peak_elevation_is_the_parabolas_vertex_through_the_top_three(offset_s, el_deg, peak):
    assert peak_elevation_deg(np.array(offset_s), np.array(el_deg)) == peak
