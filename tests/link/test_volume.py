"""Data volume: fixed rate and DVB-S2 ACM on synthetic passes."""

from __future__ import annotations

import numpy as np
import pytest

from groundshare.errors import InvalidInputError
from groundshare.link.volume import DVB_S2, acm_levels, acm_volume_bytes, fixed_rate_volume_bytes, modcods_by_name


def test_efficiencies_match_en_302_307_table_13():
    # ETSI EN 302 307-1 Table 13, spectral efficiency for normal frames without pilots.
    published = {"QPSK 1/4": 0.490243, "QPSK 1/2": 0.988858, "QPSK 9/10": 1.788612, "8PSK 3/5": 1.779991,
                 "8PSK 9/10": 2.679207, "16APSK 2/3": 2.637201, "16APSK 9/10": 3.567342,
                 "32APSK 3/4": 3.703295, "32APSK 9/10": 4.453027}
    for name, value in published.items():
        assert DVB_S2[name].efficiency() == pytest.approx(value, abs=1e-6), name
    assert len(DVB_S2) == 28
    assert DVB_S2["QPSK 1/4"].efficiency(pilots=True) < DVB_S2["QPSK 1/4"].efficiency()


def test_constant_snr_pass_gives_exactly_rate_times_time():
    weights = np.array([0.5, 1.0, 1.0, 1.0, 0.75, 0.25])   # trapezoid weights of a 4.5 s pass
    owner = np.zeros(6, dtype=int)
    volume, seconds = fixed_rate_volume_bytes(np.full(6, 3.0), weights, owner, 1, 96_000.0)
    assert seconds[0] == pytest.approx(4.5)
    assert volume[0] == pytest.approx(96_000.0 * 4.5 / 8.0)
    modcods = modcods_by_name(["QPSK 1/2", "8PSK 2/3"])
    volume, seconds, level = acm_volume_bytes(np.full(6, 20.0), weights, owner, 1, modcods,
                                              symbol_rate_baud=1e6, margin_db=1.0, hysteresis_db=0.5)
    assert (level == 1).all()
    assert volume[0] == pytest.approx(1e6 * DVB_S2["8PSK 2/3"].efficiency() * 4.5 / 8.0)


def test_fixed_rate_counts_only_where_the_margin_holds():
    margin = np.array([-1.0, 0.0, 2.0, -0.1, 5.0, 1.0])
    owner = np.array([0, 0, 0, 1, 1, 1])
    volume, seconds = fixed_rate_volume_bytes(margin, np.ones(6), owner, 2, 8.0)
    assert seconds.tolist() == [2.0, 2.0] and volume.tolist() == [2.0, 2.0]


def test_acm_hysteresis_switches_up_late_and_down_on_time():
    modcods = modcods_by_name(["QPSK 1/2", "8PSK 2/3"])       # need 1.00 and 6.62 dB
    esn0 = np.array([0.0, 1.5, 2.2, 2.6, 2.1, 1.9, 7.0, 7.5, 8.2, 7.7, 7.5, 1.0, 9.0, 9.0])
    owner = np.array([0] * 12 + [1, 1])
    level = acm_levels(esn0, owner, modcods, margin_db=1.0, hysteresis_db=0.5)
    assert level.tolist() == [-1, -1, -1, 0, 0, -1, 0, 0, 1, 1, 0, -1, 1, 1]


def test_acm_without_hysteresis_uses_the_best_modcod_that_closes():
    modcods = modcods_by_name("all")
    rng = np.random.default_rng(2026)
    esn0 = rng.uniform(-5.0, 20.0, 500)
    level = acm_levels(esn0, np.zeros(500, dtype=int), modcods, margin_db=0.5, hysteresis_db=0.0)
    required = np.array([m.required_esn0_db for m in modcods])
    expected = np.array([np.flatnonzero(required + 0.5 <= x).max(initial=-1) for x in esn0])
    assert (level == expected).all()


def test_unknown_modcod_is_named():
    with pytest.raises(InvalidInputError) as info:
        modcods_by_name(["QPSK 1/2", "QPSK 7/8"])
    assert str(info.value).startswith("unknown DVB-S2 MODCOD 'QPSK 7/8'; expected names such as 'QPSK 1/2'")
