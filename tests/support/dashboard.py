"""The dashboard in a real browser: the served demo network, Debian's Chromium driven by Playwright, and a watch
on what goes wrong in the page.

- ``require_chromium``: the path of ``/usr/bin/chromium`` (``.ci/run`` installs it), or a
  skip with the reason (a failure under CI); Playwright's own browser downloads are never used;
- ``served_demo``: ``groundshare serve`` on SQLite in a folder, loaded with ``groundshare demo
  load --plan-days 1`` (the demo network, its contacts planned for 2025-11-07, its clock
  anchored at the demo's first day), with each organisation's admin token;
- ``launched_browser``, ``watched_page``: headless Chromium, and a fresh context (empty
  sessionStorage) whose console errors, page errors, failed and refused requests are kept
  in ``Problems``;
- ``sign_in`` and the JSON API's helpers (``all_rows``, ``day_start``, ``iso``).

Screenshots go to ``artifacts_dir()``: ``$GROUNDSHARE_TEST_ARTIFACTS``, default
``build/test-artifacts/web/``.  Used by the fixtures of ``tests/web/conftest.py``.
"""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from groundshare.store.admin import open_store
from groundshare.store.clock import network_time, set_network_clock

from .commands import cli
from .environment import unavailable
from .served import ServedApi, serve

CHROMIUM = Path("/usr/bin/chromium")
REPO_ROOT = Path(__file__).resolve().parents[2]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
WAIT_MS = 20_000  # the longest any page may take to draw (tracks and geometry are computed on request)

ORG_A = "Korea Aerospace Research Institute (KARI)"
ORG_B = "Agencia Espacial Mexicana (AEM)"


def artifacts_dir() -> Path:
    folder = Path(os.environ.get("GROUNDSHARE_TEST_ARTIFACTS") or REPO_ROOT / "build" / "test-artifacts" / "web")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def require_chromium() -> Path:
    """Return Debian's Chromium; skip (fail under CI) with the reason when it is missing."""
    if not CHROMIUM.exists():
        unavailable(f"{CHROMIUM} is missing: install Debian's Chromium (apt-get install chromium chromium-driver; "
                    ".ci/run does) to run the dashboard tests", what="the dashboard tests")
    return CHROMIUM


@dataclass
class DemoServer:
    """The served demo network and each organisation's admin token."""

    server: ServedApi
    tokens: dict[str, str]

    def api(self, org: str) -> httpx.Client:
        return httpx.Client(base_url=self.server.base_url, headers={"Authorization": f"Bearer {self.tokens[org]}"},
                            timeout=60.0)


def load_demo(folder: Path) -> dict[str, str]:
    """Load the demo network (and its planned first day) into ``folder``/demo.db; return each organisation's token."""
    url = f"sqlite:///{folder / 'demo.db'}"
    cli("db", "upgrade", database_url=url)
    return dict(line.split("\t") for line in cli("demo", "load", "--plan-days", "1", database_url=url).splitlines())


def shared_demo(shared: Path, folder: Path) -> dict[str, str]:
    """Copy into ``folder`` the demo network loaded once in ``shared`` (by whichever test process comes first).

    Loading and planning the demo takes seconds; every test module then starts from a copy
    of the same database (SQLite's backup, so the copy is consistent), with the same tokens.
    A lock file makes the other pytest-xdist workers wait for the first one's load.
    """
    shared.mkdir(parents=True, exist_ok=True)
    with (shared / "lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        tokens_file = shared / "tokens.json"
        if not tokens_file.exists():
            tokens = load_demo(shared)
            tokens_file.write_text(json.dumps(tokens), encoding="utf-8")
        tokens = json.loads(tokens_file.read_text(encoding="utf-8"))
        with closing(sqlite3.connect(shared / "demo.db")) as source, \
                closing(sqlite3.connect(folder / "demo.db")) as copy:
            source.backup(copy)
    restart_clock(f"sqlite:///{folder / 'demo.db'}")
    return tokens


def restart_clock(database_url: str) -> None:
    """Set the network's clock back to where it stood when the demo was loaded, as a fresh load would leave it.

    The copy's clock would otherwise have run on since the shared load, minutes earlier.
    """
    with open_store(database_url) as session:
        clock = network_time(session)
        if clock.network_at is not None and clock.wall_at is not None:
            set_network_clock(session, clock.network_at, reason=clock.reason)


@contextmanager
def served_demo(folder: Path, shared: Path | None = None) -> Iterator[DemoServer]:
    """Yield the demo network served from an SQLite file in ``folder`` (stopped at the end).

    ``shared``: a folder where the demo is loaded once and copied from (``shared_demo``);
    None loads it in ``folder``.
    """
    url = f"sqlite:///{folder / 'demo.db'}"
    tokens = load_demo(folder) if shared is None else shared_demo(shared, folder)
    with serve(url, folder / "server.log") as server:
        yield DemoServer(server, tokens)


@contextmanager
def launched_browser(chromium_path: Path) -> Iterator[Any]:
    """Yield headless Chromium (Playwright's sync API), closed at the end."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium_path), args=["--no-sandbox"])
        yield browser
        browser.close()


@dataclass
class Problems:
    """What went wrong in the browser: console errors, page errors, failed or refused requests."""

    seen: list[str] = field(default_factory=list)
    expected: frozenset[int] = frozenset()  # statuses a test provokes on purpose (a refusal the page must show)
    refused: list[str] = field(default_factory=list)  # those responses, for the test to check

    def watch(self, page: Any) -> None:
        page.on("console", lambda m: m.type == "error" and not self._expected_console(m.text)
                and self.seen.append(f"console error: {m.text}"))
        page.on("pageerror", lambda e: self.seen.append(f"page error: {e}"))
        page.on("requestfailed", lambda r: self.seen.append(f"request failed: {r.method} {r.url} {r.failure}"))
        page.on("response", self._response)

    def _response(self, response: Any) -> None:
        if response.status < 400:
            return
        line = f"HTTP {response.status}: {response.request.method} {response.url}"
        (self.refused if response.status in self.expected else self.seen).append(line)

    def _expected_console(self, text: str) -> bool:
        """Chromium logs each 4xx answer as a console error too: those of an expected status are not problems."""
        return any(f"status of {status}" in text for status in self.expected)


@contextmanager
def watched_page(browser: Any, demo: DemoServer, *, expect_refusals: frozenset[int] | set[int] = frozenset(),
                 **options: Any) -> Iterator[Any]:
    """Yield a page of a fresh context (desktop size unless ``options`` say otherwise); fail on any browser problem.

    ``options`` go to ``browser.new_context`` (e.g. ``locale="es-MX"``).  ``expect_refusals``:
    HTTP statuses the test provokes on purpose (e.g. ``{409}`` for a clashing booking); those
    answers are not problems, and ``page.refusals`` lists them ("HTTP 409: POST <url>").
    """
    context = browser.new_context(**{"viewport": DESKTOP, "base_url": demo.server.base_url, **options})
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    problems = Problems(expected=frozenset(expect_refusals))
    problems.watch(page)
    page.refusals = problems.refused
    try:
        yield page
    finally:
        seen = list(problems.seen)
        context.close()
    assert seen == [], "the browser reported problems:\n" + "\n".join(seen)


def sign_in(page: Any, token: str, org: str) -> None:
    if "#/signin" not in page.url:
        page.goto("/")
    page.locator("#token-input").fill(token)  # by id: the form speaks the page's language
    page.locator("#signin-form button[type=submit]").click()
    page.wait_for_selector("#map-svg .satellite-marker")
    assert org in page.locator("#org-name").inner_text()


def day_start(text: str) -> datetime:
    now = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return datetime(now.year, now.month, now.day, tzinfo=UTC)


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def all_rows(client: httpx.Client, path: str, **params: Any) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    while True:
        response = client.get(path, params={**params, "limit": 500, "offset": len(rows)})
        response.raise_for_status()
        body = response.json()
        rows.extend(body["data"])
        if not body["data"] or len(rows) >= body["count"]:
            return rows
