"""Element sets in, SGP4 states out."""

from groundshare.orbits.catalog import (
    ElementCatalog,
    ElementSetWarning,
    detect_format,
    load_elements,
    parse_elements,
)
from groundshare.orbits.elements import ElementSet
from groundshare.orbits.omm import elements_from_omm, iter_omm_records, omm_json_record
from groundshare.orbits.tle import ElementSetError, parse_tle

__all__ = [
    "ElementCatalog",
    "ElementSet",
    "ElementSetError",
    "ElementSetWarning",
    "detect_format",
    "elements_from_omm",
    "iter_omm_records",
    "load_elements",
    "omm_json_record",
    "parse_elements",
    "parse_tle",
]
