"""Fixtures of the dashboard tests: Chromium, the served demo network (one per test module) and a watched page."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.dashboard import DemoServer, launched_browser, require_chromium, served_demo, watched_page


@pytest.fixture(scope="module")
def chromium_path() -> Path:
    return require_chromium()


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the demo network is loaded once for this test run, shared by the pytest-xdist workers of the run."""
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID")
    if run is None:  # one process: its own temporary folder
        return tmp_path_factory.mktemp("demo-template")
    return tmp_path_factory.getbasetemp().parent / f"demo-template-{run}"


@pytest.fixture(scope="module")
def demo(chromium_path: Path, tmp_path_factory: pytest.TempPathFactory, demo_template: Path) -> Iterator[DemoServer]:
    """The demo network served for one test module, from its own copy (its changes reach no other module's)."""
    with served_demo(tmp_path_factory.mktemp("web"), shared=demo_template) as server:
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
