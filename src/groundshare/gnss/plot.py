"""SVG charts of a DOP series: hand-written, no plotting library."""

from __future__ import annotations

import math

import numpy as np

from groundshare.gnss.dop import DopSeries
from groundshare.timeutil import format_utc

__all__ = ["dop_svg"]


def dop_svg(series: DopSeries, pdop_max: float) -> str:
    """Return an SVG: PDOP/HDOP/VDOP over time (left) and the sky plot of the tracks (right)."""
    w, h, pad = 560.0, 360.0, 40.0
    n = len(series.times)
    pdop = np.asarray(series.pdop)
    top = float(np.nanmax(np.r_[pdop[np.isfinite(pdop)], pdop_max])) * 1.1 if n else 1.0
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w + h + 40:.0f}" height="{h + 2 * pad:.0f}" '
             'font-family="sans-serif" font-size="11">',
             f'<rect x="{pad}" y="{pad}" width="{w - pad}" height="{h - pad}" fill="none" stroke="#888"/>',
             f'<text x="{pad}" y="{pad - 10}">DOP from {format_utc(series.times[0]) if n else ""}</text>']

    def xy(i: int, v: float) -> str:
        x = pad + (w - pad) * (i / max(n - 1, 1))
        return f"{x:.1f},{pad + (h - pad) * (1 - v / top):.1f}"

    for key, colour in (("pdop", "#c00"), ("hdop", "#06c"), ("vdop", "#090")):
        values = np.asarray(getattr(series, key))
        runs, run = [], []
        for i, v in enumerate(values):
            if math.isfinite(v):
                run.append(xy(i, float(v)))
            elif run:
                runs.append(run)
                run = []
        runs.append(run)
        parts += [f'<polyline fill="none" stroke="{colour}" points="{" ".join(r)}"/>' for r in runs if r]
        parts.append(f'<text x="{w + 2}" y="{pad + 12 * ("pdop", "hdop", "vdop").index(key)}" '
                     f'fill="{colour}">{key.upper()}</text>')
    y = pad + (h - pad) * (1 - pdop_max / top)
    parts.append(f'<line x1="{pad}" x2="{w}" y1="{y:.1f}" y2="{y:.1f}" stroke="#c00" stroke-dasharray="4 3"/>')
    parts.append(f'<text x="{pad - 4}" y="{pad + 4}" text-anchor="end">{top:.1f}</text>')
    cx, cy, r = w + 40 + h / 2, pad + (h - pad) / 2, (h - pad) / 2
    parts += [f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="{r * k / 3:.1f}" fill="none" stroke="#bbb"/>'
              for k in (1, 2, 3)]
    parts.append(f'<text x="{cx:.1f}" y="{cy - r - 4:.1f}" text-anchor="middle">N</text>')
    az = np.radians(np.asarray(series.az_deg))
    rr = r * (90.0 - np.asarray(series.el_deg)) / 90.0
    for j, name in enumerate(series.names):
        shown = np.asarray(series.visible)[:, j]
        runs, run = [], []
        for i in range(n):
            if shown[i]:
                run.append(f"{cx + rr[i, j] * np.sin(az[i, j]):.1f},{cy - rr[i, j] * np.cos(az[i, j]):.1f}")
            elif run:
                runs.append(run)
                run = []
        runs.append(run)
        colour = "#06c" if "GPS" in name.upper() else "#c60"
        parts += [f'<polyline fill="none" stroke="{colour}" stroke-width="1" points="{" ".join(p)}">'
                  f"<title>{_xml(name)}</title></polyline>" for p in runs if p]
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def _xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
