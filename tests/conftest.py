"""Fixtures shared by every test folder: shipped element sets and Skyfield's timescale."""

from __future__ import annotations

import pytest

from groundshare.orbits import ElementCatalog
from tests.support.shipped import ACTIVE, CUBESATS, shipped_catalogue


@pytest.fixture(scope="session")
def cubesats() -> ElementCatalog:
    return shipped_catalogue(CUBESATS)


@pytest.fixture(scope="session")
def active() -> ElementCatalog:
    return shipped_catalogue(ACTIVE)


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


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the modules that are slow as a whole first; keep the order otherwise.

    ``make test`` runs pytest-xdist with ``--dist loadfile --no-loadscope-reorder``: each
    module goes whole to one worker, in this order, so the minute-long modules start at
    once and the short ones fill in around them, rather than one of them starting last.
    """
    by_path: dict[object, list[pytest.Item]] = {}
    for item in items:
        by_path.setdefault(item.path, []).append(item)
    slow = {path for path, its in by_path.items() if all(i.get_closest_marker("slow") for i in its)}
    items.sort(key=lambda item: item.path not in slow)
