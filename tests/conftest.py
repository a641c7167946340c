"""Fixtures shared by every test folder: shipped element sets and Skyfield's timescale."""

from __future__ import annotations

import pytest

from groundshare.data import data_path
from groundshare.orbits import ElementCatalog, load_elements


@pytest.fixture(scope="session")
def cubesats() -> ElementCatalog:
    return load_elements(data_path("celestrak_cubesat_2025-11-06.tle"))


@pytest.fixture(scope="session")
def active() -> ElementCatalog:
    return load_elements(data_path("celestrak_active_2026-03-19.tle"))


@pytest.fixture(scope="session")
def ts():
    skyfield_api = pytest.importorskip("skyfield.api")
    return skyfield_api.load.timescale(builtin=True)


@pytest.fixture(scope="session", autouse=True)
def _cache_in_tmp(tmp_path_factory):
    """Keep ITU-R attenuation tables built by the tests out of the user's cache folder."""
    import os

    previous = os.environ.get("GROUNDSHARE_CACHE_DIR")
    os.environ["GROUNDSHARE_CACHE_DIR"] = str(tmp_path_factory.mktemp("cache"))
    yield
    if previous is None:
        os.environ.pop("GROUNDSHARE_CACHE_DIR", None)
    else:
        os.environ["GROUNDSHARE_CACHE_DIR"] = previous
