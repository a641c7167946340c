"""The executive report's charts, drawn by Matplotlib as SVG: monthly hours, weekly contacts, data per satellite.

Each chart is one ``matplotlib.figure.Figure`` (no pyplot, so no global figure registry and no GUI
backend: the figure is saved by Matplotlib's own SVG backend) drawn from the report's ``series``
(``Report.to_dict()["series"]``) with labels already translated by the caller.

The SVG is the same bytes for the same inputs: no date in its metadata, text drawn as paths
(``svg.fonttype = "path"``, so neither the PDF nor a browser needs the chart's fonts), and ids
hashed with a fixed salt per chart (``svg.hashsalt``), different for each chart so that three
charts inlined in one HTML document do not share clip-path ids.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from matplotlib import rc_context
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

#: The charts, in the order the document shows them; each is drawn from ``series[name]``.
CHARTS: tuple[str, ...] = ("hours_by_month", "contacts_by_week", "data_by_satellite")

#: Colours: our antennas giving (blue) and partners' antennas serving us (amber); executed (green), failed (red).
GIVEN, RECEIVED, EXECUTED, FAILED, DATA = "#1f5f8b", "#e0a030", "#3b8f4a", "#c0392b", "#1f5f8b"
#: Bytes per megabyte (SI, as the document's data figures).
BYTES_PER_MB = 1_000_000
#: The chart's size on the page, inches (the PDF's text width is about 6.7 in).
WIDTH_IN, HEIGHT_IN = 6.6, 2.5


def draw_charts(series: Mapping[str, Any], labels: Mapping[str, str], *, font_families: Sequence[str],
                format_number: Callable[[float], str]) -> dict[str, str | None]:
    """Return each chart of ``CHARTS`` as an SVG document (``None`` where its series is empty).

    ``labels`` holds the catalogue's ``charts.*`` texts; ``font_families`` the Matplotlib families to
    draw text with, first choice first (a Hangul family after DejaVu Sans for Korean);
    ``format_number`` formats an axis tick as the document's language writes numbers.
    """
    drawers = {"hours_by_month": _hours_by_month, "contacts_by_week": _contacts_by_week,
               "data_by_satellite": _data_by_satellite}
    charts: dict[str, str | None] = {}
    for name in CHARTS:
        rows = series[name]
        if not rows:
            charts[name] = None
            continue
        style = {"svg.hashsalt": f"groundshare-report-{name}", "svg.fonttype": "path",
                 "font.family": list(font_families), "font.size": 8.5, "axes.spines.top": False,
                 "axes.spines.right": False, "axes.edgecolor": "#555555", "axes.labelcolor": "#333333",
                 "xtick.color": "#333333", "ytick.color": "#333333", "legend.frameon": False}
        with rc_context(style):
            # Horizontal bars grow with the satellites (a row is about 0.3 in), the others keep their height.
            height_in = max(1.6, 0.7 + 0.3 * len(rows)) if name == "data_by_satellite" else HEIGHT_IN
            figure = Figure(figsize=(WIDTH_IN, height_in), layout="constrained")
            axes = figure.add_subplot()
            axes.grid(axis="x" if name == "data_by_satellite" else "y", color="#dddddd", linewidth=0.6)
            axes.set_axisbelow(True)
            drawers[name](axes, rows, labels)
            # Quantities start at zero, and a period with none of them still has an axis from 0 to 1 (not -0.05..0.05).
            limits = axes.set_xlim if name == "data_by_satellite" else axes.set_ylim
            limits(0, max(1.0, (axes.get_xlim() if name == "data_by_satellite" else axes.get_ylim())[1]))
            ticks = axes.xaxis if name == "data_by_satellite" else axes.yaxis
            ticks.set_major_formatter(FuncFormatter(lambda value, _position: format_number(value)))
            buffer = io.StringIO()
            figure.savefig(buffer, format="svg", metadata={"Date": None})
        charts[name] = buffer.getvalue()
    return charts


def _hours_by_month(axes: Any, rows: Sequence[Mapping[str, Any]], labels: Mapping[str, str]) -> None:
    """Grouped bars: hours given and received in each month."""
    positions = range(len(rows))
    width = 0.38
    axes.bar([p - width / 2 for p in positions], [r["given_hours"] for r in rows], width, color=GIVEN,
             label=labels["charts.given"])
    axes.bar([p + width / 2 for p in positions], [r["received_hours"] for r in rows], width, color=RECEIVED,
             label=labels["charts.received"])
    axes.set_xticks(list(positions), [r["month"] for r in rows])
    axes.set_ylabel(labels["charts.hours_axis"])
    axes.legend(loc="upper left", ncols=2, bbox_to_anchor=(0, 1.18))


def _contacts_by_week(axes: Any, rows: Sequence[Mapping[str, Any]], labels: Mapping[str, str]) -> None:
    """Stacked bars: contacts executed and failed in each week."""
    positions = list(range(len(rows)))
    executed = [r["executed"] for r in rows]
    axes.bar(positions, executed, 0.6, color=EXECUTED, label=labels["charts.executed"])
    axes.bar(positions, [r["failed"] for r in rows], 0.6, bottom=executed, color=FAILED,
             label=labels["charts.failed"])
    axes.set_xticks(positions, [r["week"] for r in rows])
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_ylabel(labels["charts.contacts_axis"])
    axes.legend(loc="upper left", ncols=2, bbox_to_anchor=(0, 1.18))


def _data_by_satellite(axes: Any, rows: Sequence[Mapping[str, Any]], labels: Mapping[str, str]) -> None:
    """Horizontal bars: megabytes delivered per satellite, the largest on top."""
    positions = list(range(len(rows)))
    axes.barh(positions, [r["bytes"] / BYTES_PER_MB for r in rows], 0.6, color=DATA)
    axes.set_yticks(positions, [r["name"] for r in rows])
    axes.invert_yaxis()
    axes.set_xlabel(labels["charts.data_axis"])
