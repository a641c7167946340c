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

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

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


@contextmanager
def served_demo(folder: Path) -> Iterator[DemoServer]:
    """Yield the demo network served from an SQLite file in ``folder`` (stopped at the end)."""
    url = f"sqlite:///{folder / 'demo.db'}"
    cli("db", "upgrade", database_url=url)
    tokens = dict(line.split("\t") for line in cli("demo", "load", "--plan-days", "1", database_url=url).splitlines())
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

    def watch(self, page: Any) -> None:
        page.on("console", lambda m: m.type == "error" and self.seen.append(f"console error: {m.text}"))
        page.on("pageerror", lambda e: self.seen.append(f"page error: {e}"))
        page.on("requestfailed", lambda r: self.seen.append(f"request failed: {r.method} {r.url} {r.failure}"))
        page.on("response", lambda r: r.status >= 400
                and self.seen.append(f"HTTP {r.status}: {r.request.method} {r.url}"))


@contextmanager
def watched_page(browser: Any, demo: DemoServer, **options: Any) -> Iterator[Any]:
    """Yield a page of a fresh context (desktop size unless ``options`` say otherwise); fail on any browser problem.

    ``options`` go to ``browser.new_context`` (e.g. ``locale="es-MX"``).
    """
    context = browser.new_context(**{"viewport": DESKTOP, "base_url": demo.server.base_url, **options})
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    problems = Problems()
    problems.watch(page)
    try:
        yield page
    finally:
        seen = list(problems.seen)
        context.close()
    assert seen == [], "the browser reported problems:\n" + "\n".join(seen)


def sign_in(page: Any, token: str, org: str) -> None:
    if "#/signin" not in page.url:
        page.goto("/")
    page.get_by_label("API token").fill(token)
    page.get_by_role("button", name="Sign in").click()
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
