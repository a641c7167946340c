"""Stations and horizon masks: geometry, interpolation and the errors they give."""

from __future__ import annotations

import numpy as np
import pytest

from groundshare.errors import InvalidInputError
from groundshare.orbits.frames import enu_from_itrs, geodetic_to_itrs_km
from groundshare.passes import HorizonMask, Site


def test_mask_interpolates_linearly_and_wraps_through_north():
    mask = HorizonMask([(350.0, 10.0), (10.0, 20.0), (180.0, 0.0)])
    assert mask.min_elevation_deg(np.array([0.0, 360.0, 5.0, 95.0]))[:3] == pytest.approx([15.0, 15.0, 17.5])
    assert mask.min_elevation_deg(np.array([95.0]))[0] == pytest.approx(10.0)
    assert HorizonMask([(123.0, 7.0)]).min_elevation_deg(np.array([0.0, 200.0])) == pytest.approx([7.0, 7.0])


def test_site_threshold_is_the_higher_of_mask_and_minimum():
    site = Site("s", lat_deg=0.0, lon_deg=0.0, alt_m=0.0, min_elevation_deg=8.0,
                horizon_mask=[(0.0, 5.0), (180.0, 15.0)])
    assert site.threshold_deg(np.array([0.0, 180.0])) == pytest.approx([8.0, 15.0])
    assert site.has_mask and site.lowest_elevation_deg == 8.0
    flat = Site("f", lat_deg=0.0, lon_deg=0.0, alt_m=0.0, min_elevation_deg=8.0, horizon_mask=[(0.0, 2.0)])
    assert not flat.has_mask


def test_wgs84_geometry_of_a_known_point():
    # The equator at Greenwich is one semi-major axis out on +x; the pole is b = a (1 - f) on +z.
    assert geodetic_to_itrs_km(0.0, 0.0, 0.0) == pytest.approx([6378.137, 0.0, 0.0])
    assert geodetic_to_itrs_km(90.0, 0.0, 0.0) == pytest.approx([0.0, 0.0, 6356.7523142], abs=1e-6)
    enu = enu_from_itrs(0.0, 90.0)
    assert enu == pytest.approx(np.array([[-1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, 1.0, 0.0]]), abs=1e-15)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"lat_deg": 91.0}, "station 'x': lat_deg is 91.0; expected a number in [-90, 90]"),
        ({"lon_deg": "east"}, "station 'x': lon_deg must be a number, got 'east'"),
        ({"alt_m": float("inf")}, "station 'x': alt_m is inf; expected a number in [-500, 10000]"),
        ({"min_elevation_deg": 90.0}, "station 'x': min_elevation_deg is 90.0; expected a number in [-10, 89]"),
        ({"horizon_mask": [(400.0, 5.0)]}, "station 'x': horizon mask point 0: azimuth 400.0 deg is outside [0, 360)"),
        ({"horizon_mask": [(10.0,)]}, "station 'x': horizon mask point 0 is (10.0,); expected [azimuth_deg, "),
        ({"horizon_mask": [(10.0, 1.0), (10.0, 2.0)]}, "station 'x': horizon mask gives the same azimuth twice"),
        ({"horizon_mask": []}, "station 'x': horizon mask has no points"),
    ],
)
def test_bad_sites_name_the_field(kwargs, message):
    args = {"lat_deg": 10.0, "lon_deg": 20.0, "alt_m": 0.0} | kwargs
    with pytest.raises(InvalidInputError) as info:
        Site("x", **args)
    assert str(info.value).startswith(message)
