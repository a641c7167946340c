"""GNSS planning: satellites in view and the dilution of precision of their geometry."""

from groundshare.gnss.dop import (
    Dop,
    DopSeries,
    Visibility,
    constellation_index,
    dop,
    dop_series,
    excluded,
    visible,
)
from groundshare.gnss.plot import dop_svg

__all__ = [
    "Dop", "DopSeries", "Visibility", "constellation_index", "dop", "dop_series", "dop_svg", "excluded", "visible",
]
