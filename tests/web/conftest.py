"""Fixtures of the dashboard tests: Chromium, the served demo network (one per test module) and a watched page."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.dashboard import DemoServer, launched_browser, require_chromium, served_demo, watched_page


@pytest.fixture(scope="module")
def chromium_path() -> Path:
    return require_chromium()


@pytest.fixture(scope="module")
def demo(chromium_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoServer]:
    """The demo network served for one test module (its changes reach no other module's)."""
    with served_demo(tmp_path_factory.mktemp("web")) as server:
        yield server


@pytest.fixture(scope="module")
def browser(chromium_path: Path) -> Iterator[Any]:
    with launched_browser(chromium_path) as browser:
        yield browser


@pytest.fixture
def page(browser: Any, demo: DemoServer) -> Iterator[Any]:
    """A fresh browser context (empty sessionStorage) at desktop size; fails the test on any browser problem."""
    with watched_page(browser, demo) as page:
        yield page
