"""Geometry sampled along passes."""

from __future__ import annotations

import numpy as np
import pytest

from groundshare.errors import InvalidInputError
from groundshare.passes import find_passes
from groundshare.passes.track import sample_passes
from groundshare.units import DAY_S
from tests.support.shipped import CORDOBA, CUBESAT_START, DAEJEON


@pytest.fixture(scope="module")
def tracked(cubesats):
    elements, sites = cubesats[:15], [DAEJEON, CORDOBA]
    table = find_passes(elements, sites, start=CUBESAT_START, duration_s=DAY_S, workers=1)
    return elements, sites, table, sample_passes(table, elements, sites, step_s=1.0)


def test_samples_span_each_pass_and_weights_add_to_its_duration(tracked):
    _, sites, table, track = tracked
    assert track.starts[-1] == len(track) and len(track.starts) == len(table) + 1
    per_pass = np.bincount(track.pass_index, weights=track.weight_s, minlength=len(table))
    assert per_pass == pytest.approx(table.duration_s, abs=1e-9)
    first, last = track.starts[:-1], track.starts[1:] - 1
    assert (track.time[first] == table.aos).all() and (track.time[last] == table.los).all()
    whole = ~table.clipped
    threshold = np.array([s.min_elevation_deg for s in sites])[table.site_index]
    assert np.abs(track.el_deg[first][whole] - threshold[whole]).max() < 1e-3
    assert np.abs(track.el_deg[last][whole] - threshold[whole]).max() < 1e-3
    assert track.ok.all()


def test_sampled_maximum_never_beats_the_table(tracked):
    _, _, table, track = tracked
    sampled_max = np.full(len(table), -90.0)
    np.maximum.at(sampled_max, track.pass_index, track.el_deg)
    assert (sampled_max <= table.max_elevation_deg + 1e-6).all()
    # 1 s samples straddle the top; below 70 deg elevation changes slowly enough there.
    low = table.max_elevation_deg < 70.0
    assert (table.max_elevation_deg - sampled_max)[low].max() < 0.05


def test_wrong_inputs_are_refused(tracked, cubesats):
    elements, sites, table, _ = tracked
    with pytest.raises(InvalidInputError, match="step_s is 0; expected a positive number of seconds"):
        sample_passes(table, elements, sites, step_s=0)
    with pytest.raises(InvalidInputError, match="elements are not the ones this pass table was computed from"):
        sample_passes(table, cubesats[1:16], sites)
    with pytest.raises(InvalidInputError, match="sites are not the ones this pass table was computed from"):
        sample_passes(table, elements, sites[::-1])
