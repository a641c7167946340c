"""The console's Reports page (``#/reports``) in a real browser: the key figures of a period, and its document.

A real ``groundshare serve`` on the demo network after a planned and simulated month
(``tests/support/report_world.py``: contacts executed by the simulated agent, some failed with
reasons; the network's clock at the month's end, 2025-12-07), driven in headless Chromium, each
result checked against what the JSON API answers to the same token (``GET /reports``):

- the page opens on the previous whole month of the network's clock; for a chosen month its
  summary (each figure, the previous period's and the change) and its reciprocity table (the
  hours given and received per partner) are the JSON form's figures, written as people read them;
- Download saves the document under the name the API gives (Content-Disposition): the PDF is
  the API's PDF byte for byte, starts with ``%PDF`` and its text (``pdftotext``) holds the
  summary's figures; the JSON file is the JSON form; the HTML is in the document language chosen,
  which is the console's language unless changed;
- a bad range (its end before its start, longer than 366 days) shows the API's refusal naming
  ``period``; a malformed day is named before anything is asked;
- a viewer may download its organisation's report.

Any browser error or unexpected refused request fails the test (``tests/support/dashboard.py``).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.dashboard import ORG_A, PHONE, DemoServer, artifacts_dir, sign_in, watched_page
from tests.support.environment import unavailable
from tests.support.report_world import ReportWorld, report_world, report_world_template  # noqa: F401
from tests.support.served import serve

pytestmark = [pytest.mark.service, pytest.mark.browser, pytest.mark.slow]

#: The summary's figures (the spec's fixed list, in its order) and how the page writes each.
FIGURES = {"contacts_executed": "count", "contacts_failed": "count", "served_share": "share",
           "hours_received": "hours", "hours_given": "hours", "balance_hours": "hours", "bytes_delivered": "bytes",
           "frames_delivered": "count"}


def _ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, f"{response.request.url} answered {response.status_code}: {response.text}"
    return response.json()


def _number(value: float, digits: int = 3) -> str:
    """``value`` as the English console writes it (``Intl.NumberFormat("en")``): grouped, up to ``digits`` decimals."""
    return f"{round(value, digits):,.{digits}f}".rstrip("0").rstrip(".")


def _bytes(n: float) -> str:
    """``bytesText`` of api.js."""
    units = ["B", "kB", "MB", "GB", "TB"]
    value, unit = float(n), 0
    while value >= 1000 and unit < len(units) - 1:
        value /= 1000
        unit += 1
    return f"{value:.{1 if unit else 0}f} {units[unit]}"


def _signed(text: str, value: float) -> str:
    return f"+{text}" if value > 0 else text


def _value(kind: str, value: float | None) -> str:
    if value is None:
        return "—"
    if kind == "share":
        return f"{_number(value * 100, 1)}%"
    if kind == "bytes":
        return _bytes(value)
    return _number(value)


def _change(kind: str, figure: dict[str, Any]) -> str:
    change, pct = figure["change"], figure["change_pct"]
    if change is None:
        return "—"
    if kind == "share":
        return f"{_signed(_number(change * 100, 1), change)} pts"
    if kind == "bytes":
        amount = f"−{_bytes(-change)}" if change < 0 else _signed(_bytes(change), change)
    else:
        amount = _signed(_number(change), change)
    return amount if pct is None else f"{amount} ({_signed(_number(pct, 1), pct)}%)"


def _month(moment: datetime, back: int = 0) -> str:
    index = moment.year * 12 + moment.month - 1 - back
    return f"{index // 12}-{index % 12 + 1:02d}"


def _day(text: str, shift_days: int = 0) -> str:
    """The UTC day of an ISO time, shifted by ``shift_days`` (an end, exclusive, to the last day it covers: -1)."""
    return (datetime.fromisoformat(text.replace("Z", "+00:00")) + timedelta(days=shift_days)).date().isoformat()


def _report(api: httpx.Client, period: str, lang: str = "en") -> dict[str, Any]:
    return _ok(api.get("/reports", params={"period": period, "format": "json", "lang": lang}))


def _weight(report: dict[str, Any]) -> float:
    """How much a report holds: its executed contacts and the hours it exchanged."""
    figures = {f["key"]: f["value"] or 0 for f in report["summary"]}
    return figures["contacts_executed"] + figures["hours_given"] + figures["hours_received"]


@pytest.fixture(scope="module")
def demo(chromium_path: Path, report_world: ReportWorld) -> Iterator[DemoServer]:  # noqa: F811
    """The simulated month served for this module (in place of ``conftest.py``'s freshly loaded demo)."""
    with serve(report_world.url, report_world.folder / "server.log") as server:
        yield DemoServer(server, report_world.tokens)


@pytest.fixture(scope="module")
def months(demo: DemoServer) -> tuple[str, str]:
    """(the page's default month: the previous whole month of the network's clock, the month with the most in it)."""
    with demo.api(ORG_A) as api:
        now = datetime.fromisoformat(_ok(api.get("/clock"))["now"].replace("Z", "+00:00"))
        previous, current = _month(now, 1), _month(now)
        richest = max((previous, current), key=lambda m: _weight(_report(api, m)))
    return previous, richest


def _open(page: Any) -> None:
    page.goto("/dashboard/#/reports")
    page.locator("#report-summary-table tr.summary-row").first.wait_for()


def _show_month(page: Any, month: str) -> None:
    page.locator("#report-month").fill(month)
    page.locator("#report-form button[type=submit]").click()
    page.locator("#report-period").filter(has_text=f", {month}:").wait_for()


def test_the_page_shows_the_json_forms_figures_for_the_chosen_month(page: Any, demo: DemoServer,
                                                                   months: tuple[str, str]) -> None:
    default, month = months
    sign_in(page, demo.tokens[ORG_A], ORG_A)
    _open(page)
    assert page.locator("#nav-links a[aria-current=page]").all_inner_texts() == ["Reports"]
    assert page.locator("#report-month").input_value() == default
    page.locator("#report-period").filter(has_text=f", {default}:").wait_for()

    _show_month(page, month)
    with demo.api(ORG_A) as api:
        report = _report(api, month)
    figures = {f["key"]: f["value"] for f in report["summary"]}
    assert figures["contacts_executed"] > 0 and figures["contacts_failed"] > 0 and figures["hours_given"] > 0, \
        f"the simulated {month} holds contacts, failures and hours to report: {figures}"
    period = report["period"]
    assert page.locator("#report-period").inner_text() == (
        f"{report['organisation']['name']}, {month}: {_day(period['start'])} to {_day(period['end'], -1)} (UTC), "
        f"compared with {_day(period['previous_start'])} to {_day(period['previous_end'], -1)}.")

    rows = page.locator("#report-summary-table tr.summary-row")
    assert rows.evaluate_all("rows => rows.map(r => r.dataset.key)") == [f["key"] for f in report["summary"]]
    assert [f["key"] for f in report["summary"]] == list(FIGURES)
    for figure in report["summary"]:
        kind = FIGURES[figure["key"]]
        cells = page.locator(f'tr.summary-row[data-key="{figure["key"]}"] td').all_inner_texts()
        assert cells[1:] == [_value(kind, figure["value"]), _value(kind, figure["previous"]), _change(kind, figure)], \
            figure

    reciprocity = report["reciprocity"]
    partners = page.locator("#report-reciprocity-table tr.partner-row")
    assert partners.count() == len(reciprocity["partners"]) > 0
    for partner in reciprocity["partners"]:
        cells = page.locator(f'tr.partner-row[data-org-id="{partner["org_id"]}"] td').all_inner_texts()
        assert cells == [partner["name"], *(_number(partner[k]) for k in (
            "given_hours", "received_hours", "balance_hours", "cumulative_given_hours", "cumulative_received_hours",
            "cumulative_balance_hours"))]
    total = page.locator("#report-reciprocity-table tr.partner-total td").all_inner_texts()
    assert total[1:4] == [_number(reciprocity[k]) for k in ("given_hours", "received_hours", "balance_hours")]
    page.screenshot(path=artifacts_dir() / "reports-summary-en-desktop.png", full_page=True)


def _download(page: Any) -> tuple[str, bytes]:
    """Click Download; return the saved file's name and bytes, once the page says it is saved."""
    with page.expect_download() as info:
        page.locator("#report-download").click()
    download = info.value
    page.locator("#report-status").filter(has_text=download.suggested_filename).wait_for()
    return download.suggested_filename, Path(download.path()).read_bytes()


def _pdf_text(pdf: bytes, folder: Path) -> str:
    if shutil.which("pdftotext") is None:
        unavailable("pdftotext is missing: install Debian's poppler-utils (apt-get install poppler-utils)",
                    what="the Reports page's PDF check")
    path = folder / "report.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True,
                          text=True).stdout


def test_download_saves_the_apis_document(page: Any, demo: DemoServer, months: tuple[str, str],
                                          tmp_path: Path) -> None:
    _, month = months
    sign_in(page, demo.tokens[ORG_A], ORG_A)
    _open(page)
    _show_month(page, month)
    with demo.api(ORG_A) as api:
        report = _report(api, month)
        answer = api.get("/reports", params={"period": month, "format": "pdf", "lang": "en"})
    assert answer.status_code == 200, answer.text
    wanted_name = re.search(r'filename="([^"]+)"', answer.headers["content-disposition"]).group(1)

    assert page.locator("#report-format").input_value() == "pdf"
    assert page.locator("#report-lang").input_value() == "en"  # the console's language
    name, pdf = _download(page)
    assert name == wanted_name and name.endswith(".pdf")
    assert pdf.startswith(b"%PDF")
    assert pdf == answer.content  # the same inputs give the same document
    text = _pdf_text(pdf, tmp_path)
    (artifacts_dir() / "reports-download.txt").write_text(text, encoding="utf-8")
    assert report["organisation"]["name"] in " ".join(text.split())
    words = " ".join(text.split())
    for figure in report["summary"]:  # as the document writes them: counts, shares to 0.1 %, hours to 0.1 h
        kind, value = FIGURES[figure["key"]], figure["value"]
        if kind == "bytes" or value is None:
            continue  # its unit is the document's choice
        written = {"count": f"{value:,}", "share": f"{value * 100:.1f}%", "hours": f"{value:,.1f}"}[kind]
        assert written in words, f"{figure['key']} = {value} ({written}) is not in the PDF's text"

    # The JSON form, downloaded: every figure the preview shows.
    page.locator("#report-format").select_option("json")
    name, body = _download(page)
    assert name.endswith(".json") and json.loads(body) == report


def test_the_document_language_is_the_consoles_unless_chosen(browser: Any, demo: DemoServer,
                                                             months: tuple[str, str]) -> None:
    _, month = months
    with watched_page(browser, demo, locale="ko-KR") as page:
        sign_in(page, demo.tokens[ORG_A], ORG_A)
        _open(page)
        assert page.locator("#main h1").inner_text() == "보고서"
        assert page.locator("#report-lang").input_value() == "ko"
        assert page.locator('tr.summary-row[data-key="contacts_executed"] td').first.inner_text() == "수행된 교신"
        _show_month(page, month)
        page.locator("#report-format").select_option("html")
        name, html = _download(page)
        assert name.endswith(".html") and re.search(rb'<html[^>]*\blang="ko"', html)
        page.locator("#report-lang").select_option("es")
        name, html = _download(page)
        assert re.search(rb'<html[^>]*\blang="es"', html)
        page.set_viewport_size(PHONE)
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        page.screenshot(path=artifacts_dir() / "reports-ko-phone.png", full_page=True)


def test_a_bad_range_shows_the_fields_error(browser: Any, demo: DemoServer) -> None:
    with watched_page(browser, demo, expect_refusals={422}) as page:
        sign_in(page, demo.tokens[ORG_A], ORG_A)
        _open(page)
        page.get_by_label("Range of days").check()
        assert page.locator("#report-from").is_visible() and not page.locator("#report-month").is_visible()
        error = page.locator("#report-error")

        # A malformed day: named before anything is asked.
        page.locator("#report-from").fill("2025-11")
        page.locator("#report-form button[type=submit]").click()
        error.filter(has_text="From (UTC day): write a UTC day as 2025-11-03.").wait_for()
        assert page.refusals == []

        for start, end in (("2025-11-17", "2025-11-03"), ("2024-01-01", "2025-06-01")):
            page.locator("#report-from").fill(start)
            page.locator("#report-to").fill(end)
            page.locator("#report-form button[type=submit]").click()
            error.filter(has_text="The report was refused").wait_for()
            reasons = error.locator("li").all_inner_texts()
            assert reasons and all("period" in reason for reason in reasons), reasons
            # The preview of the month shown before is gone: the figures never stand beside another period's form.
            assert page.locator("#report-summary-table").count() == 0
            assert page.locator("#report-period").inner_text() == ""
            page.refusals.clear()
        # Download with the same range: refused the same way, no file saved.
        page.locator("#report-download").click()
        error.filter(has_text="The report was refused").wait_for()
        page.wait_for_function("() => !document.querySelector('#report-download').disabled")
        assert page.refusals and all("/reports?period=2024-01-01..2025-06-01" in r for r in page.refusals)
        page.screenshot(path=artifacts_dir() / "reports-refused-en-desktop.png", full_page=True)


def test_a_viewer_may_download(browser: Any, demo: DemoServer, months: tuple[str, str]) -> None:
    _, month = months
    with demo.api(ORG_A) as api:
        viewer = _ok(api.post("/tokens", json={"role": "viewer", "label": "reports page viewer"}), 201)["token"]
        report = _report(api, month)
    with watched_page(browser, demo) as page:
        sign_in(page, viewer, ORG_A)
        _open(page)
        _show_month(page, month)
        page.locator("#report-format").select_option("json")
        name, body = _download(page)
        assert json.loads(body) == report
        page.locator("#report-format").select_option("pdf")
        name, pdf = _download(page)
        assert name.endswith(".pdf") and pdf.startswith(b"%PDF")
