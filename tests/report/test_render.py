"""The executive report's document: the figures of the JSON form in the PDF's text and in the HTML, per language.

The PDF is read back with Debian's poppler-utils (``pdftotext -layout``) and its pages are drawn
with ``pdftoppm`` into ``build/test-artifacts/report/`` to be looked at.  The expected texts are
written out by hand, as each language writes them (``1,204.3`` / ``1.204,3``), so that a wrong
separator, a lost figure or an untranslated label fails.
"""

from __future__ import annotations

import copy
import json
import re
import shutil
import string
import subprocess
from pathlib import Path

import pytest

from groundshare.errors import InvalidInputError
from groundshare.report import render
from groundshare.report.render import LANGUAGES, MissingFontError, load_catalogue, render_report
from tests.support.environment import unavailable

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "build" / "test-artifacts" / "report"
SAMPLE = json.loads((Path(__file__).with_name("sample_report.json")).read_text(encoding="utf-8"))

#: What the document shows of the sample, in each language: counts with the language's thousands
#: separator, hours to one decimal (rounded half up: 71.25 h is 71.3 h), shares and data sizes.
FIGURES = {
    "en": ["1,412", "1,620", "1,533", "47", "74", "84.2%", "96.3", "118.5", "+22.2", "71.3", "47.3", "-12.8",
           "1,204.3", "987.5", "+216.8", "-148.5", "23,456", "15,321", "2.3 GB", "1.5 GB", "813.6 MB", "225.0 MB",
           "97.3%", "41.2%", "21.4%", "92.1%", "0.8 days", "1,288", "104.5", "+3.1 pts", "▲ +32 (+2.3%)",
           "▼ -5 (-9.6%)", "+244.7 MB (+11.6%)"],
    "es": ["1.412", "1.620", "1.533", "47", "74", "84,2 %", "96,3", "118,5", "+22,2", "71,3", "47,3", "-12,8",
           "1.204,3", "987,5", "+216,8", "-148,5", "23.456", "15.321", "2,3 GB", "1,5 GB", "813,6 MB", "225,0 MB",
           "97,3 %", "41,2 %", "21,4 %", "92,1 %", "0,8 d", "1.288", "104,5", "+3,1 pp", "▲ +32 (+2,3 %)",
           "▼ -5 (-9,6 %)", "+244,7 MB (+11,6 %)"],
    "ko": ["1,412", "1,620", "1,533", "47", "74", "84.2%", "96.3", "118.5", "+22.2", "71.3", "47.3", "-12.8",
           "1,204.3", "987.5", "+216.8", "-148.5", "23,456", "15,321", "2.3GB", "1.5GB", "813.6MB", "225.0MB",
           "97.3%", "41.2%", "21.4%", "92.1%", "0.8일", "1,288", "104.5", "+3.1 %p", "▲ +32 (+2.3%)",
           "▼ -5 (-9.6%)", "+244.7MB (+11.6%)"],
}
#: What the document shows as given: names, reasons, ISO dates and times.
VERBATIM = ["Agencia Espacial Mexicana (AEM)", "Korea Aerospace Research Institute (KARI)",
            "Universidad Autónoma del Estado de Quintana Roo", "CUBESAT XI-IV (CO-57)", "SWISSCUBE", "mexico-city",
            "no signal above the noise floor", "rotctld: connection refused", "rotator maintenance",
            "2025-11-12 04:00 UTC", "2025-11-24 02:00 UTC", "2025-11-01", "2025-11-30", "2025-10-31", "#412",
            "expires 2025-12-15"]
#: Catalogue texts every document holds (section titles and the labels of the summary).
HEADINGS = ["summary.title", "contacts.title", "reciprocity.title", "data.title", "stations.title",
            "freshness.title", "ahead.title", "charts.title", "summary.key.contacts_executed",
            "summary.key.balance_hours", "contacts.failure_reasons", "freshness.state.warning",
            "charts.hours_by_month", "charts.contacts_by_week", "charts.data_by_satellite"]


def _need_poppler() -> None:
    if shutil.which("pdftotext") is None or shutil.which("pdftoppm") is None:
        unavailable("pdftotext/pdftoppm are missing: install Debian's poppler-utils (apt-get install poppler-utils)",
                    what="the report's PDF tests")


def _need_hangul() -> None:
    found = subprocess.run(["fc-list", ":lang=ko"], capture_output=True, text=True) if shutil.which("fc-list") else None
    if found is None or not found.stdout.strip():
        unavailable("no font with Hangul is installed: apt-get install fonts-noto-cjk", what="the Korean report tests")


def _pdftotext(pdf: bytes) -> str:
    """The PDF's text as ``pdftotext -layout`` reads it, with no-break spaces as spaces."""
    _need_poppler()
    done = subprocess.run(["pdftotext", "-layout", "-enc", "UTF-8", "-", "-"], input=pdf, capture_output=True,
                          check=True)
    return done.stdout.decode().replace("\u00a0", " ").replace("\u202f", " ")


def _pages(pdf: bytes, name: str) -> list[Path]:
    """Draw the PDF's pages at 60 dpi into build/test-artifacts/report/<name>-<n>.png."""
    _need_poppler()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for old in ARTIFACTS.glob(f"{name}-*.png"):
        old.unlink()
    (ARTIFACTS / f"{name}.pdf").write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", "60", "-png", str(ARTIFACTS / f"{name}.pdf"), str(ARTIFACTS / name)],
                   check=True)
    return sorted(ARTIFACTS.glob(f"{name}-*.png"))


def _html_text(html: bytes) -> str:
    """The HTML's text: the document's own strings, tags and inline SVG left out."""
    text = re.sub(r"<svg.*?</svg>", " ", html.decode(), flags=re.S)
    text = re.sub(r"<style>.*?</style>", " ", text, flags=re.S)
    text = re.sub(r"<[^>]+>", "\n", text)
    for entity, char in (("&lt;", "<"), ("&gt;", ">"), ("&#34;", '"'), ("&#39;", "'"), ("&amp;", "&")):
        text = text.replace(entity, char)
    return text.replace("\u00a0", " ").replace("\u202f", " ")


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_pdf_shows_every_figure_in_the_language_and_is_the_same_twice(lang: str) -> None:
    if lang == "ko":
        _need_hangul()
    pdf = render_report(SAMPLE, "pdf", lang)
    assert pdf.startswith(b"%PDF-")
    assert render_report(copy.deepcopy(SAMPLE), "pdf", lang) == pdf  # the same inputs, the same bytes
    text = _pdftotext(pdf)
    missing = [figure for figure in FIGURES[lang] + VERBATIM if figure not in text]
    assert not missing, f"{lang}: the PDF's text lacks {missing}"
    catalogue = load_catalogue(lang)
    assert [key for key in HEADINGS if catalogue[key] not in text] == []
    assert catalogue["summary.contacts"].format(executed=FIGURES[lang][0], failed="47",
                                                served=FIGURES[lang][5]) in text
    assert b"/CreationDate (D:20251201000000" in pdf or b"D:20251201000000" in pdf  # the period's end, no clock
    pages = _pages(pdf, f"sample-{lang}")
    assert len(pages) >= 2 and all(page.stat().st_size > 5_000 for page in pages)


def test_the_korean_pdf_is_written_in_hangul_with_a_hangul_font(tmp_path) -> None:
    _need_hangul()
    pdf = render_report(SAMPLE, "pdf", "ko")
    text = _pdftotext(pdf)
    assert len(re.findall(r"[\uac00-\ud7a3]", text)) > 500
    for key in ("document.kicker", "summary.title", "reciprocity.intro", "ahead.open_requests", "period.month"):
        assert load_catalogue("ko")[key] in text
    (tmp_path / "ko.pdf").write_bytes(pdf)
    fonts = subprocess.run(["pdffonts", str(tmp_path / "ko.pdf")], capture_output=True, check=True, text=True).stdout
    # The Hangul is drawn with the Hangul font fontconfig found (embedded), not with boxes of a Latin font.
    assert render.hangul_font().family.replace(" ", "").lower() in fonts.replace(" ", "").lower()


def test_the_html_is_one_self_contained_document_with_the_same_figures() -> None:
    _need_hangul()  # the Korean page's charts are drawn with the Hangul font
    for lang in LANGUAGES:
        html = render_report(SAMPLE, "html", lang)
        assert render_report(copy.deepcopy(SAMPLE), "html", lang) == html
        text = _html_text(html)
        missing = [figure for figure in FIGURES[lang] + VERBATIM if figure not in text]
        assert not missing, f"{lang}: the HTML lacks {missing}"
        catalogue = load_catalogue(lang)
        assert [key for key in HEADINGS if catalogue[key] not in text] == []
        page = html.decode()
        assert page.startswith("<!DOCTYPE html>") and f'<html lang="{lang}">' in page
        assert page.count("<svg") == 3 and "<?xml" not in page  # the three charts, inline
        assert "<dc:date>" not in page  # Matplotlib wrote no date into them
        assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)  # nothing fetched from elsewhere
        assert "<script" not in page and "<link" not in page
        (ARTIFACTS / f"sample-{lang}.html").write_bytes(html)


def test_the_html_escapes_the_names_it_is_given() -> None:
    data = copy.deepcopy(SAMPLE)
    data["organisation"]["name"] = "<script>alert(1)</script> & Co."
    html = render_report(data, "html", "en").decode()
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co." in html
    pdf_text = _pdftotext(render_report(data, "pdf", "en"))
    assert "<script>alert(1)</script> & Co." in pdf_text  # Typst shows the name as text, never as markup


def test_the_json_form_is_the_data() -> None:
    out = render_report(SAMPLE, "json", "es")
    assert json.loads(out) == SAMPLE
    assert "Autónoma".encode() in out  # UTF-8, not \\u escapes


def test_an_empty_period_renders_with_none_where_there_is_nothing() -> None:
    data = copy.deepcopy(SAMPLE)
    data["contacts"]["failure_reasons"] = []
    data["reciprocity"]["partners"] = []
    data["data"]["per_satellite"] = data["data"]["per_station"] = []
    data["stations"], data["freshness"] = [], []
    data["ahead"]["policies"], data["ahead"]["open_requests_unserved"] = [], []
    data["series"] = {"hours_by_month": [], "contacts_by_week": [], "data_by_satellite": []}
    for lang in ("en", "es"):
        text = _pdftotext(render_report(data, "pdf", lang))
        assert text.count(load_catalogue(lang)["common.none"]) >= 10
    assert "<svg" not in render_report(data, "html", "en").decode()


def test_bad_format_language_or_data_is_refused_naming_the_field() -> None:
    with pytest.raises(InvalidInputError, match="format must be one of pdf, html, json, got 'docx'") as caught:
        render_report(SAMPLE, "docx", "en")
    assert caught.value.loc == ("format",)
    with pytest.raises(InvalidInputError, match="lang must be one of en, es, ko, got 'fr'") as caught:
        render_report(SAMPLE, "pdf", "fr")
    assert caught.value.loc == ("lang",)
    data = copy.deepcopy(SAMPLE)
    del data["contacts"]["executed"]
    with pytest.raises(InvalidInputError, match=r"no contacts\.executed: render_report takes Report\.to_dict") as c:
        render_report(data, "html", "en")
    assert c.value.loc == ("data", "contacts", "executed")
    data = copy.deepcopy(SAMPLE)
    del data["reciprocity"]["partners"][1]["cumulative_balance_hours"]
    with pytest.raises(InvalidInputError, match=r"no reciprocity\.partners\[1\]\.cumulative_balance_hours") as c:
        render_report(data, "pdf", "es")
    assert c.value.loc == ("data", "reciprocity", "partners[1]", "cumulative_balance_hours")
    data = copy.deepcopy(SAMPLE)
    data["stations"] = {"mexico-city": {}}
    with pytest.raises(InvalidInputError, match="stations must be a list"):
        render_report(data, "html", "en")
    data = copy.deepcopy(SAMPLE)
    data["period"]["end"] = "December"
    with pytest.raises(InvalidInputError, match=r"period\.end must be an ISO UTC time") as c:
        render_report(data, "pdf", "en")
    assert c.value.loc == ("data", "period", "end")


def test_korean_without_a_hangul_font_is_refused_saying_what_to_install(monkeypatch, tmp_path) -> None:
    """A machine without fontconfig's Hangul fonts: no Korean document with empty boxes, and the rest still works."""
    monkeypatch.setenv("PATH", str(tmp_path))  # fc-list is not found: no font with Hangul is known
    render.hangul_font.cache_clear()
    try:
        for fmt in ("pdf", "html"):
            with pytest.raises(MissingFontError, match=r"the Korean report needs a font with Hangul .*"
                                                       r"apt-get install fonts-noto-cjk"):
                render_report(SAMPLE, fmt, "ko")
        assert render_report(SAMPLE, "pdf", "es").startswith(b"%PDF-")
        assert json.loads(render_report(SAMPLE, "json", "ko")) == SAMPLE
    finally:
        render.hangul_font.cache_clear()


def test_the_three_catalogues_have_the_same_keys_and_placeholders() -> None:
    catalogues = {lang: load_catalogue(lang) for lang in LANGUAGES}
    keys = set(catalogues["en"])
    for lang, catalogue in catalogues.items():
        assert set(catalogue) == keys, f"{lang}: missing {keys - set(catalogue)}, extra {set(catalogue) - keys}"
    for key in keys:
        fields = {lang: sorted(f for _, f, _, _ in string.Formatter().parse(c[key]) if f)
                  for lang, c in catalogues.items()}
        assert fields["es"] == fields["en"] == fields["ko"], key
        assert all(c[key].strip() for c in catalogues.values()), key
    # Translated, not copied: Spanish differs from English in most texts, Korean is written in Hangul.
    assert sum(catalogues["es"][k] != catalogues["en"][k] for k in keys) > 0.8 * len(keys)
    assert sum(bool(re.search(r"[\uac00-\ud7a3]", catalogues["ko"][k])) for k in keys) > 0.8 * len(keys)
