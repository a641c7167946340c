"""The executive report as a document: PDF, HTML or JSON, in English, Spanish or Korean.

``render_report(data, fmt, lang)`` takes ``Report.to_dict()`` (the JSON form, every figure the
document shows) and nothing else: no store, no clock.  The same inputs give the same bytes.

How it is made
--------------
1. ``_view`` turns the data into a *view*: every sentence and label from the language's catalogue
   (``report/i18n/{en,es,ko}.json``, the same keys in each), every number formatted as the language
   writes it (Babel, from CLDR: ``1,412`` / ``1.412``, ``84.2%`` / ``84,2 %``, ``2.3 GB``), dates ISO.
   The view is a title block, the summary (key figures with their change against the previous
   period, arrow, sign and tone) and the sections as a list of blocks (paragraph, table, chart).
2. ``charts.draw_charts`` draws the three charts with Matplotlib as SVG.
3. One template per form lays the same view out: ``templates/report.typ`` (Typst) for the PDF,
   ``templates/report.html.j2`` (Jinja2, autoescaped, inline CSS, charts as inline SVG) for HTML.
   Both show the same strings, so the PDF's text and the HTML hold the same figures.

Why Typst for the PDF
---------------------
The candidates on PyPI, for a document an executive reads, in three scripts, installed by pip alone:

- **typst** (the Typst compiler, Rust, in the wheel): real typesetting (paragraph-level line
  breaking, hyphenation, OpenType shaping, so Hangul and Spanish accents shape properly), a
  declarative template, SVG images drawn as vectors, tagged PDF, and a reproducible build switch
  (a fixed creation ``timestamp``).  No browser and no system library; fonts embedded in the wheel
  (Libertinus Serif) for Latin, a system font folder only for Hangul.  Active releases.
- **reportlab**: mature and well kept, but the document is built in Python flowables (layout by
  hand), its SVG import needs svglib, and Korean needs a TrueType font registered by hand (its CID
  fonts are not embedded).  Lower typographic quality (no shaping of complex scripts).
- **fpdf2**: light and well kept, text shaping through uharfbuzz, but layout is low level
  (cells and coordinates), tables and page flow are the caller's work.
- **weasyprint**: HTML/CSS to PDF of high quality, but it needs Pango (and GLib, HarfBuzz) from the
  system, so ``pip install`` alone does not give a working install.
- **xhtml2pdf**: HTML to PDF on ReportLab; a limited CSS subset and ReportLab's font handling.

Matplotlib draws the charts (the well-kept plotting library; nothing chart-like is hand-written),
Jinja2 fills the HTML template, Babel formats numbers per language.  All four are the ``report``
extra of ``pyproject.toml``.

Korean needs a font with Hangul: Typst's embedded fonts have none.  ``hangul_font`` asks
fontconfig (``fc-list :lang=ko``) for one (Debian's ``fonts-noto-cjk``: Noto Serif/Sans CJK KR) and
``render_report`` refuses a Korean PDF or HTML (whose charts are drawn with it) with
``MissingFontError``, which says what to install, rather than drawing empty boxes.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, localcontext
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any, Literal

from groundshare.errors import GroundshareError, InvalidInputError
from groundshare.report.forms import ReportFormat, ReportLanguage

#: The forms and languages of the document.
FORMATS: tuple[str, ...] = tuple(f.value for f in ReportFormat)
LANGUAGES: tuple[str, ...] = tuple(lang.value for lang in ReportLanguage)
#: The summary's key figures, in the order the document shows them (the spec's fixed list).
SUMMARY_KEYS: tuple[str, ...] = ("contacts_executed", "contacts_failed", "served_share", "hours_received",
                                 "hours_given", "balance_hours", "bytes_delivered", "frames_delivered")
#: How each key figure is written, and whether more is better (True), worse (False) or neither (None).
_SUMMARY_KIND: dict[str, tuple[str, bool | None]] = {
    "contacts_executed": ("count", True), "contacts_failed": ("count", False), "served_share": ("share", True),
    "hours_received": ("hours", True), "hours_given": ("hours", None), "balance_hours": ("hours", None),
    "bytes_delivered": ("bytes", True), "frames_delivered": ("count", True)}
#: Typst's own fonts (in the wheel) for Latin text; Matplotlib's own for the charts.
_LATIN_FONT, _CHART_FONT = "Libertinus Serif", "DejaVu Sans"
#: Hangul families, first choice first: serif beside Libertinus in the text, sans in the charts.
_HANGUL_TEXT = ("Noto Serif CJK KR", "Noto Sans CJK KR", "NanumMyeongjo", "NanumGothic", "UnBatang")
_HANGUL_CHARTS = ("Noto Sans CJK KR", "NanumGothic", "Noto Serif CJK KR", "NanumMyeongjo", "UnDotum")
_INSTALL_HANGUL = ("install a font with Hangul, e.g. Debian's fonts-noto-cjk (apt-get install fonts-noto-cjk), "
                   "or ask for another language (lang en or es)")
#: SI multiples for data sizes (``2.3 GB``), with CLDR's unit names.
_BYTE_UNITS = ((1e12, "digital-terabyte"), (1e9, "digital-gigabyte"), (1e6, "digital-megabyte"),
               (1e3, "digital-kilobyte"))


class MissingFontError(GroundshareError):
    """The document's language needs a font this machine lacks; the message says what to install."""


@dataclass(frozen=True)
class HangulFont:
    """A font family with Hangul that fontconfig found, and the files that hold it."""

    family: str
    paths: tuple[Path, ...]


def render_report(data: Mapping[str, Any], fmt: Literal["pdf", "html", "json"] | str,
                  lang: Literal["en", "es", "ko"] | str = "en") -> bytes:
    """Return the report ``data`` (``Report.to_dict()``) as a ``fmt`` document in language ``lang``.

    ``json`` is the data itself (UTF-8, indented; ``lang`` does not change it).  Raises
    ``InvalidInputError`` naming ``format``, ``lang`` or the missing field of ``data``, and
    ``MissingFontError`` for Korean on a machine without a Hangul font.
    """
    if fmt not in FORMATS:
        raise InvalidInputError(f"format must be one of {', '.join(FORMATS)}, got {fmt!r}", loc=("format",))
    if lang not in LANGUAGES:
        raise InvalidInputError(f"lang must be one of {', '.join(LANGUAGES)}, got {lang!r}", loc=("lang",))
    if fmt == "json":
        return json.dumps(data, ensure_ascii=False, indent=2).encode() + b"\n"
    text_font = chart_font = None
    if lang == "ko":
        text_font, chart_font = hangul_font(_HANGUL_TEXT), hangul_font(_HANGUL_CHARTS)
        if text_font is None or chart_font is None:
            raise MissingFontError(f"the Korean report needs a font with Hangul and this machine has none "
                                   f"(fc-list :lang=ko lists none): {_INSTALL_HANGUL}")
    _check_fields(data, _FIELDS)
    catalogue = load_catalogue(lang)
    view = _view(data, lang, catalogue)
    charts = _charts(data, lang, catalogue, chart_font)
    if fmt == "html":
        return _html(view, charts)
    return _pdf(view, charts, text_font, _instant(_need(data, "period", "end"), "period.end"))


@cache
def load_catalogue(lang: str) -> dict[str, str]:
    """Return the catalogue of ``lang`` (``report/i18n/<lang>.json``): every sentence and label, by key."""
    return json.loads(files("groundshare.report").joinpath("i18n", f"{lang}.json").read_text(encoding="utf-8"))


@cache
def hangul_font(preferred: tuple[str, ...] = _HANGUL_TEXT) -> HangulFont | None:
    """Return a font family with Hangul that fontconfig knows (the first of ``preferred`` it has), or ``None``."""
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return None
    listed = subprocess.run([fc_list, ":lang=ko", "family", "file"], capture_output=True, text=True,
                            check=False).stdout
    by_family: dict[str, list[Path]] = {}
    for line in sorted(listed.splitlines()):
        path, _, families = line.partition(": ")
        for family in families.split(","):
            by_family.setdefault(family.strip(), []).append(Path(path))
    if not by_family:
        return None
    family = next((name for name in preferred if name in by_family), min(by_family))
    return HangulFont(family, tuple(sorted(set(by_family[family]))))


# -- the view: every string the templates show ------------------------------------------------------------------


class _Numbers:
    """Numbers as the document's language writes them (Babel, CLDR)."""

    def __init__(self, lang: str, catalogue: Mapping[str, str]) -> None:
        from babel import Locale
        from babel.numbers import parse_pattern

        self.locale = Locale.parse(lang)
        self.catalogue = catalogue
        self._percent = parse_pattern(self.locale.percent_formats[None].pattern)
        self._percent.frac_prec = (1, 1)

    def count(self, value: float) -> str:
        from babel.numbers import format_decimal

        with localcontext(rounding=ROUND_HALF_UP):
            return format_decimal(value, format="#,##0", locale=self.locale)

    def decimal(self, value: float, *, signed: bool = False) -> str:
        from babel.numbers import format_decimal

        with localcontext(rounding=ROUND_HALF_UP):  # 71.25 h is 71.3 h, as people round
            return format_decimal(value, format="+#,##0.0;-#,##0.0" if signed else "#,##0.0", locale=self.locale)

    def axis(self, value: float) -> str:
        """A chart tick: whole numbers without decimals."""
        return self.count(value) if float(value).is_integer() else self.decimal(value)

    def share(self, value: float | None, *, signed: bool = False) -> str:
        if value is None:
            return self.catalogue["common.not_available"]
        with localcontext(rounding=ROUND_HALF_UP):
            text = self._percent.apply(value, self.locale)
        return "+" + text if signed and value > 0 else text

    def bytes(self, value: float) -> str:
        from babel.units import format_unit

        with localcontext(rounding=ROUND_HALF_UP):
            for size, unit in _BYTE_UNITS:
                if abs(value) >= size:
                    return format_unit(value / size, unit, length="short", format="#,##0.0", locale=self.locale)
            return format_unit(value, "digital-byte", length="short", format="#,##0", locale=self.locale)

    def days(self, value: float | None) -> str:
        from babel.units import format_unit

        if value is None:
            return self.catalogue["common.not_available"]
        with localcontext(rounding=ROUND_HALF_UP):
            return format_unit(value, "duration-day", length="short", format="#,##0.0", locale=self.locale)

    def figure(self, kind: str, value: float) -> str:
        """A key figure of the summary."""
        return {"count": self.count, "share": self.share, "hours": self.decimal, "bytes": self.bytes}[kind](value)

    def change(self, kind: str, change: float) -> str:
        """A key figure's change, signed: ``+32``, ``-2.8``, ``+3.1 pts``, ``+244.7 MB``."""
        sign = "+" if change > 0 else "-" if change < 0 else ""
        if kind == "count":
            return sign + self.count(abs(change))
        if kind == "share":
            return f"{self.decimal(change * 100, signed=True)} {self.catalogue['unit.points']}"
        if kind == "bytes":
            return sign + self.bytes(abs(change))
        return self.decimal(change, signed=True)


#: The fields of ``Report.to_dict()`` the document reads (the spec's JSON form): a dict's keys, a list's items.
_FIELDS: dict[str, Any] = {
    "organisation": {"name": None},
    "period": dict.fromkeys(("label", "kind", "start", "end", "previous_start", "previous_end")),
    "generated_from": {"network_clock": None},
    "summary": [dict.fromkeys(("key", "value", "previous", "change", "change_pct"))],
    "contacts": {**dict.fromkeys(("requested", "booked", "executed", "failed", "cancelled", "served_share")),
                 "failure_reasons": [dict.fromkeys(("reason", "count"))],
                 "satisfaction": dict.fromkeys(("entitlement_share", "received_share", "satisfaction", "basis"))},
    "reciprocity": {"partners": [dict.fromkeys(("name", "given_hours", "received_hours", "balance_hours",
                                                "cumulative_given_hours", "cumulative_received_hours",
                                                "cumulative_balance_hours"))],
                    **dict.fromkeys(("given_hours", "received_hours", "balance_hours"))},
    "data": {"per_satellite": [dict.fromkeys(("name", "frames", "bytes"))],
             "per_station": [dict.fromkeys(("name", "frames", "bytes"))], "frames": None, "bytes": None},
    "stations": [{**dict.fromkeys(("name", "availability", "utilisation", "contacts", "failed")),
                  "outages": [dict.fromkeys(("start", "end", "reason"))]}],
    "freshness": [dict.fromkeys(("name", "element_age_days", "state"))],
    "ahead": {"booked_next_period": None, "booked_hours_next_period": None,
              "policies": [dict.fromkeys(("policy_id", "antenna", "partner", "note"))],
              "open_requests_unserved": [dict.fromkeys(("request_id", "satellite", "window_start", "window_end",
                                                        "reasons"))]},
    "series": {"hours_by_month": [dict.fromkeys(("month", "given_hours", "received_hours"))],
               "contacts_by_week": [dict.fromkeys(("week", "executed", "failed"))],
               "data_by_satellite": [dict.fromkeys(("name", "bytes"))]},
}


def _check_fields(value: Any, fields: Any, path: tuple[str, ...] = ()) -> None:
    """Raise ``InvalidInputError`` naming the first field of ``fields`` that ``value`` lacks (``contacts.executed``)."""
    where = ".".join(path) or "the report data"
    if isinstance(fields, dict):
        if not isinstance(value, Mapping):
            raise InvalidInputError(f"{where} must be an object: render_report takes Report.to_dict()",
                                    loc=("data", *path))
        for key, inner in fields.items():
            if key not in value:
                raise InvalidInputError(f"the report data has no {'.'.join((*path, key))}: render_report takes "
                                        f"Report.to_dict()", loc=("data", *path, key))
            _check_fields(value[key], inner, (*path, key))
    elif isinstance(fields, list):
        if not isinstance(value, list):
            raise InvalidInputError(f"{where} must be a list: render_report takes Report.to_dict()",
                                    loc=("data", *path))
        for index, item in enumerate(value):
            _check_fields(item, fields[0], (*path[:-1], f"{path[-1]}[{index}]"))


def _need(mapping: Any, *path: str | int) -> Any:
    """Return ``mapping[path[0]][path[1]]...``, or raise ``InvalidInputError`` naming the missing field."""
    value = mapping
    for depth, key in enumerate(path):
        try:
            value = value[key]
        except (KeyError, IndexError, TypeError):
            where = ".".join(str(k) for k in path[:depth + 1])
            raise InvalidInputError(f"the report data has no {where}: render_report takes Report.to_dict()",
                                    loc=("data", *map(str, path[:depth + 1]))) from None
    return value


def _instant(text: str, field: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except (TypeError, ValueError):
        raise InvalidInputError(f"{field} must be an ISO UTC time such as 2025-11-01T00:00:00Z, got {text!r}",
                                loc=("data", *field.split("."))) from None
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def _day(text: str, field: str) -> str:
    """An ISO date: ``2025-11-12``."""
    return _instant(text, field).date().isoformat()


def _last_day(text: str, field: str) -> str:
    """The last day an exclusive end covers: ``2025-12-01T00:00Z`` -> ``2025-11-30``."""
    return (_instant(text, field) - timedelta(microseconds=1)).date().isoformat()


def _minute(text: str, field: str) -> str:
    """An ISO time to the minute, UTC: ``2025-11-12 04:00 UTC``."""
    return _instant(text, field).strftime("%Y-%m-%d %H:%M UTC")


def _table(columns: Sequence[str], rows: Sequence[Sequence[str]], *, right_from: int = 1,
           total: Sequence[str] | None = None) -> dict[str, Any]:
    """A table block; columns from ``right_from`` on are figures (right-aligned)."""
    return {"kind": "table", "columns": list(columns), "rows": [list(r) for r in rows],
            "align": ["left" if i < right_from else "right" for i in range(len(columns))],
            "total": list(total) if total is not None else None}


def _paragraph(text: str, *, note: bool = False) -> dict[str, Any]:
    return {"kind": "note" if note else "paragraph", "text": text}


def _subtitle(text: str) -> dict[str, Any]:
    return {"kind": "subtitle", "text": text}


def _view(data: Mapping[str, Any], lang: str, t: Mapping[str, str]) -> dict[str, Any]:
    """Return every string of the document, laid out as title block, summary and sections."""
    n = _Numbers(lang, t)
    period = _need(data, "period")
    start, end = _day(_need(period, "start"), "period.start"), _last_day(_need(period, "end"), "period.end")
    previous = (_day(_need(period, "previous_start"), "period.previous_start"),
                _last_day(_need(period, "previous_end"), "period.previous_end"))
    organisation = str(_need(data, "organisation", "name"))
    label = str(_need(period, "label"))
    return {
        "lang": lang,
        "organisation": organisation,
        "kicker": t["document.kicker"],
        "title": t["document.title"],
        "period": t["document.period"].format(kind=t.get(f"period.{_need(period, 'kind')}", ""), label=label,
                                              start=start, end=end),
        "previous": t["document.previous"].format(start=previous[0], end=previous[1]),
        "generated": t["document.generated"].format(
            clock=_minute(_need(data, "generated_from", "network_clock"), "generated_from.network_clock")),
        "footer": t["document.footer"].format(organisation=organisation, period=label),
        "summary": _summary(data, t, n),
        "sections": [
            {"title": t["contacts.title"], "blocks": _contacts(data, t, n)},
            {"title": t["reciprocity.title"], "blocks": _reciprocity(data, t, n)},
            {"title": t["data.title"], "blocks": _data(data, t, n)},
            {"title": t["stations.title"], "blocks": _stations(data, t, n)},
            {"title": t["freshness.title"], "blocks": _freshness(data, t, n)},
            {"title": t["ahead.title"], "blocks": _ahead(data, t, n)},
            {"title": t["charts.title"], "blocks": [
                {"kind": "chart", "chart": name, "caption": t[f"charts.{name}"], "empty": t["common.none"]}
                for name in ("hours_by_month", "contacts_by_week", "data_by_satellite")]},
        ],
    }


def _summary(data: Mapping[str, Any], t: Mapping[str, str], n: _Numbers) -> dict[str, Any]:
    rows = {str(_need(row, "key")): row for row in _need(data, "summary")}
    cards = []
    for key in SUMMARY_KEYS:
        row = _need(rows, key)
        kind, more_is_better = _SUMMARY_KIND[key]
        change, change_pct = float(_need(row, "change")), _need(row, "change_pct")
        if change == 0:
            arrow, text, tone = "=", t["common.unchanged"], "neutral"
        else:
            arrow = "▲" if change > 0 else "▼"
            if change_pct is None:
                text = f"{n.change(kind, change)} ({t['common.new']})"
            elif kind == "share":
                text = n.change(kind, change)
            else:
                text = f"{n.change(kind, change)} ({n.share(change_pct / 100, signed=True)})"
            tone = "neutral" if more_is_better is None else "good" if (change > 0) == more_is_better else "bad"
        cards.append({"key": key, "label": t[f"summary.key.{key}"], "value": n.figure(kind, _need(row, "value")),
                      "arrow": arrow, "change": text, "tone": tone,
                      "previous": t["common.vs_previous"].format(previous=n.figure(kind, _need(row, "previous")))})
    contacts, reciprocity, delivered = _need(data, "contacts"), _need(data, "reciprocity"), _need(data, "data")
    lines = [
        t["summary.contacts"].format(executed=n.count(_need(contacts, "executed")),
                                     failed=n.count(_need(contacts, "failed")),
                                     served=n.share(_need(contacts, "served_share"))),
        t["summary.hours"].format(given=n.decimal(_need(reciprocity, "given_hours")),
                                  received=n.decimal(_need(reciprocity, "received_hours")),
                                  balance=n.decimal(_need(reciprocity, "balance_hours"), signed=True)),
        t["summary.data"].format(frames=n.count(_need(delivered, "frames")), bytes=n.bytes(_need(delivered, "bytes"))),
    ]
    return {"title": t["summary.title"], "lines": lines, "cards": cards}


def _contacts(data: Mapping[str, Any], t: Mapping[str, str], n: _Numbers) -> list[dict[str, Any]]:
    contacts = _need(data, "contacts")
    counts = ("requested", "booked", "executed", "failed", "cancelled")
    blocks = [_table([t[f"contacts.{c}"] for c in counts] + [t["contacts.served_share"]],
                     [[n.count(_need(contacts, c)) for c in counts] + [n.share(_need(contacts, "served_share"))]],
                     right_from=0),
              _subtitle(t["contacts.failure_reasons"])]
    reasons = _need(contacts, "failure_reasons")
    blocks.append(_table([t["contacts.reason"], t["contacts.count"]],
                         [[str(_need(r, "reason")), n.count(_need(r, "count"))] for r in reasons])
                  if reasons else _paragraph(t["common.none"]))
    satisfaction = _need(contacts, "satisfaction")
    blocks += [_subtitle(t["contacts.satisfaction"]),
               _table([t["contacts.entitlement_share"], t["contacts.received_share"], t["contacts.satisfaction_ratio"]],
                      [[n.share(_need(satisfaction, "entitlement_share")),
                        n.share(_need(satisfaction, "received_share")),
                        n.share(_need(satisfaction, "satisfaction"))]], right_from=0)]
    basis = t.get(f"contacts.basis.{_need(satisfaction, 'basis')}")
    if basis:
        blocks.append(_paragraph(basis, note=True))
    return blocks


def _reciprocity(data: Mapping[str, Any], t: Mapping[str, str], n: _Numbers) -> list[dict[str, Any]]:
    reciprocity = _need(data, "reciprocity")
    hours = ("given", "received", "balance")
    columns = [t["reciprocity.partner"], *(f"{t[f'reciprocity.{h}']}" for h in hours),
               *(f"{t[f'reciprocity.{h}']}" for h in hours)]
    rows = []
    for partner in _need(reciprocity, "partners"):
        rows.append([str(_need(partner, "name")),
                     *(n.decimal(_need(partner, f"{h}_hours"), signed=h == "balance") for h in hours),
                     *(n.decimal(_need(partner, f"cumulative_{h}_hours"), signed=h == "balance") for h in hours)])
    if not rows:
        return [_paragraph(t["reciprocity.intro"]), _paragraph(t["common.none"])]
    total = [t["common.total"], *(n.decimal(_need(reciprocity, f"{h}_hours"), signed=h == "balance") for h in hours),
             "", "", ""]
    table = _table(columns, rows, total=total)
    table["groups"] = [["", 1], [t["reciprocity.period"], 3], [t["reciprocity.cumulative"], 3]]
    return [_paragraph(t["reciprocity.intro"]), table]


def _data(data: Mapping[str, Any], t: Mapping[str, str], n: _Numbers) -> list[dict[str, Any]]:
    delivered = _need(data, "data")
    total = [t["common.total"], n.count(_need(delivered, "frames")), n.bytes(_need(delivered, "bytes"))]
    blocks = []
    for part, name in (("per_satellite", "satellite"), ("per_station", "station")):
        rows = [[str(_need(row, "name")), n.count(_need(row, "frames")), n.bytes(_need(row, "bytes"))]
                for row in _need(delivered, part)]
        blocks.append(_subtitle(t[f"data.{part}"]))
        blocks.append(_table([t[f"data.{name}"], t["data.frames"], t["data.bytes"]], rows, total=total)
                      if rows else _paragraph(t["common.none"]))
    return blocks


def _stations(data: Mapping[str, Any], t: Mapping[str, str], n: _Numbers) -> list[dict[str, Any]]:
    stations = _need(data, "stations")
    if not stations:
        return [_paragraph(t["common.none"])]
    rows, outages = [], []
    for station in stations:
        name = str(_need(station, "name"))
        its = _need(station, "outages")
        rows.append([name, n.share(_need(station, "availability")), n.share(_need(station, "utilisation")),
                     n.count(_need(station, "contacts")), n.count(_need(station, "failed")), n.count(len(its))])
        outages += [[name, _minute(_need(o, "start"), "stations.outages.start"),
                     _minute(_need(o, "end"), "stations.outages.end"), str(_need(o, "reason"))] for o in its]
    columns = [t[f"stations.{c}"] for c in ("station", "availability", "utilisation", "contacts", "failed", "outages")]
    blocks = [_table(columns, rows)]
    if outages:
        blocks += [_subtitle(t["stations.outages"]),
                   _table([t["stations.station"], t["stations.outage_start"], t["stations.outage_end"],
                           t["stations.outage_reason"]], outages, right_from=4)]
    return blocks


def _freshness(data: Mapping[str, Any], t: Mapping[str, str], n: _Numbers) -> list[dict[str, Any]]:
    rows = [[str(_need(row, "name")), n.days(_need(row, "element_age_days")),
             t.get(f"freshness.state.{_need(row, 'state')}", str(row["state"]))] for row in _need(data, "freshness")]
    if not rows:
        return [_paragraph(t["common.none"])]
    table = _table([t["freshness.satellite"], t["freshness.age"], t["freshness.state"]], rows, right_from=1)
    table["align"][2] = "left"
    return [table]


def _ahead(data: Mapping[str, Any], t: Mapping[str, str], n: _Numbers) -> list[dict[str, Any]]:
    ahead = _need(data, "ahead")
    blocks = [_paragraph(t["ahead.booked"].format(count=n.count(_need(ahead, "booked_next_period")),
                                                  hours=n.decimal(_need(ahead, "booked_hours_next_period"))))]
    policies = [[f"#{_need(p, 'policy_id')}", str(_need(p, "antenna")), str(_need(p, "partner")),
                 str(_need(p, "note"))] for p in _need(ahead, "policies")]
    blocks.append(_subtitle(t["ahead.policies"]))
    blocks.append(_table([t["ahead.policy"], t["ahead.antenna"], t["ahead.partner"], t["ahead.note"]], policies,
                         right_from=4) if policies else _paragraph(t["common.none"]))
    requests = [[f"#{_need(r, 'request_id')}", str(_need(r, "satellite")),
                 f"{_minute(_need(r, 'window_start'), 'ahead.open_requests_unserved.window_start')} – "
                 f"{_minute(_need(r, 'window_end'), 'ahead.open_requests_unserved.window_end')}",
                 "; ".join(map(str, _need(r, "reasons")))] for r in _need(ahead, "open_requests_unserved")]
    blocks.append(_subtitle(t["ahead.open_requests"]))
    blocks.append(_table([t["ahead.request"], t["ahead.satellite"], t["ahead.window"], t["ahead.reasons"]], requests,
                         right_from=4) if requests else _paragraph(t["common.none"]))
    return blocks


# -- charts and the two layouts -----------------------------------------------------------------------------------


def _charts(data: Mapping[str, Any], lang: str, t: Mapping[str, str],
            hangul: HangulFont | None) -> dict[str, str | None]:
    from groundshare.report.charts import draw_charts

    families = [_CHART_FONT]
    if hangul is not None:
        from matplotlib import font_manager

        if hangul.family not in {entry.name for entry in font_manager.fontManager.ttflist}:
            for path in hangul.paths:
                font_manager.fontManager.addfont(path)
        families.append(hangul.family)
    series = _need(data, "series")
    for name in ("hours_by_month", "contacts_by_week", "data_by_satellite"):
        _need(series, name)
    return draw_charts(series, t, font_families=families, format_number=_Numbers(lang, t).axis)


def _html(view: Mapping[str, Any], charts: Mapping[str, str | None]) -> bytes:
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
    from markupsafe import Markup

    environment = Environment(loader=PackageLoader("groundshare.report", "templates"),
                              autoescape=select_autoescape(["j2"]), undefined=StrictUndefined,
                              trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    # Matplotlib's SVG is inlined from its <svg> element on (no XML prolog or DOCTYPE inside HTML).
    inline = {name: Markup(svg[svg.index("<svg"):]) if svg else None for name, svg in charts.items()}
    return environment.get_template("report.html.j2").render(view=view, charts=inline).encode()


def _pdf(view: Mapping[str, Any], charts: Mapping[str, str | None], hangul: HangulFont | None,
         end: datetime) -> bytes:
    import typst

    fonts = [_LATIN_FONT] + ([hangul.family] if hangul else [])
    inputs = {"view": json.dumps({**view, "fonts": fonts}, ensure_ascii=False)}
    inputs.update({f"chart-{name}": svg for name, svg in charts.items() if svg})
    template = files("groundshare.report").joinpath("templates", "report.typ").read_bytes()
    # Only Typst's embedded fonts and the folders of the Hangul font's files (Typst reads fonts from folders):
    # the same document on any machine that has the same font.  The creation date is the period's end.
    folders = sorted({str(path.parent) for path in hangul.paths}) if hangul else []
    compiler = typst.Compiler(font_paths=folders, ignore_system_fonts=True)
    pdf, warnings = compiler.compile_with_warnings(template, format="pdf", sys_inputs=inputs, timestamp=end)
    unknown = [w.message for w in warnings if "unknown font family" in w.message]
    if unknown:  # Typst would draw the text with a fallback font: empty boxes for Hangul.
        raise MissingFontError(f"Typst could not load the font {hangul.family if hangul else _LATIN_FONT!r} "
                               f"({'; '.join(unknown)}): {_INSTALL_HANGUL}")
    return pdf
