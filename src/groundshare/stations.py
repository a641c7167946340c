"""Station files: a partner network's ground stations as TOML ``[[station]]`` tables.

One table per station; positions are WGS84 geodetic, longitude east-positive::

    [[station]]
    name = "daejeon"
    lat_deg = 36.3725
    lon_deg = 127.359
    alt_m = 80.0
    min_elevation_deg = 5.0                                  # optional, default 0
    horizon_mask = [[0.0, 5.0], [90.0, 12.0], [180.0, 5.0]]  # optional [azimuth_deg, elevation_deg]

The loader is strict: an unknown or misspelt key is an error rather than silently
ignored (a typo in ``min_elevation_deg`` would otherwise change every pass), and each
message names the file, the station (1-based position and name) and the key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from groundshare.errors import InvalidInputError
from groundshare.passes import Site
from groundshare.tomlfile import describe, did_you_mean, is_number, read_toml

REQUIRED_KEYS = ("name", "lat_deg", "lon_deg", "alt_m")
OPTIONAL_KEYS = ("min_elevation_deg", "horizon_mask")
KNOWN_KEYS = REQUIRED_KEYS + OPTIONAL_KEYS
# What each key holds, for "expected ..." in messages.
EXPECTED = {
    "name": 'a non-empty string, e.g. name = "daejeon"',
    "lat_deg": "a number of degrees north, -90 to 90, e.g. lat_deg = 36.3725",
    "lon_deg": "a number of degrees east, -180 to 360 (west is negative), e.g. lon_deg = -99.13",
    "alt_m": "a number of metres above the WGS84 ellipsoid, e.g. alt_m = 80.0",
    "min_elevation_deg": "a number of degrees, -10 to 89, e.g. min_elevation_deg = 5.0",
    "horizon_mask": "a list of [azimuth_deg, elevation_deg] pairs, e.g. [[0.0, 5.0], [90.0, 12.0]]",
}
EXAMPLE = (
    '[[station]]\nname = "daejeon"\nlat_deg = 36.3725\nlon_deg = 127.359\nalt_m = 80.0\n'
    "min_elevation_deg = 5.0"
)


def load_stations(path: str | Path) -> list[Site]:
    """Return the stations of a TOML station file, in file order.

    Raises ``InvalidInputError`` naming the file, the station and the key for a
    missing file, a TOML syntax error, a file without ``[[station]]`` tables, a
    missing, unknown or wrongly typed key, a value out of range, or a name used twice.
    """
    where = str(path)
    document = read_toml(path, "station file")
    return _stations_from_document(document, where)


def _stations_from_document(document: dict[str, Any], where: str) -> list[Site]:
    """Return the sites described by a parsed station file."""
    for key in document:
        if key != "station":
            raise InvalidInputError(
                f"{where}: unknown top-level key {key!r}{did_you_mean(key, ('station',))}; "
                f"a station file holds only [[station]] tables", loc=("file", where, key))
    tables = document.get("station")
    if isinstance(tables, dict):
        raise InvalidInputError(
            f"{where}: 'station' is a single table; write [[station]] (double brackets) before each station",
            loc=("file", where, "station"))
    if not tables:
        raise InvalidInputError(f"{where} has no [[station]] tables; each station looks like\n\n{EXAMPLE}",
                                loc=("file", where))
    sites = [_site_from_table(table, where, number) for number, table in enumerate(tables, start=1)]
    first_seen: dict[str, int] = {}
    for number, site in enumerate(sites, start=1):
        if site.name in first_seen:
            raise InvalidInputError(
                f"{where}: station {number} is named {site.name!r} like station {first_seen[site.name]}; "
                f"station names must be unique", loc=("file", where, f"station {number}", "name"))
        first_seen[site.name] = number
    return sites


def _site_from_table(table: Any, where: str, number: int) -> Site:
    """Return the ``Site`` of the ``number``-th (1-based) ``[[station]]`` table."""
    name = table.get("name") if isinstance(table, dict) else None
    label = f"{where}, station {number}" + (f" ({name!r})" if isinstance(name, str) and name.strip() else "")

    def fail(key: str, message: str) -> InvalidInputError:
        return InvalidInputError(f"{label}: {message}", loc=("file", where, f"station {number}", key))

    if not isinstance(table, dict):
        raise InvalidInputError(f"{where}, station {number} is {describe(table, toml_booleans=False)}; "
                                f"expected a [[station]] table of keys", loc=("file", where, f"station {number}"))
    for key in table:
        if key not in KNOWN_KEYS:
            raise fail(key, f"unknown key {key!r}{did_you_mean(key, KNOWN_KEYS)}; "
                            f"known keys are {', '.join(KNOWN_KEYS)}")
    for key in REQUIRED_KEYS:
        if key not in table:
            raise fail(key, f"missing key {key!r}; expected {EXPECTED[key]}")
    if not isinstance(name, str) or not name.strip():
        raise fail("name", f"name is {name!r}; expected {EXPECTED['name']}")
    numbers = {}
    for key in ("lat_deg", "lon_deg", "alt_m", "min_elevation_deg"):
        if key in table:
            value = table[key]
            if not is_number(value):
                raise fail(key, f"{key} is {describe(value, toml_booleans=False)}; expected {EXPECTED[key]}")
            numbers[key] = float(value)
    mask = table.get("horizon_mask")
    if mask is not None:
        _check_mask(mask, fail)
    try:
        return Site(name, horizon_mask=mask, **numbers)
    except InvalidInputError as exc:
        # Site says "station 'name': ..."; the label above already names the station.
        message = str(exc).removeprefix(f"station {name!r}: ")
        raise InvalidInputError(f"{label}: {message}", loc=("file", where, f"station {number}", *exc.loc[1:])
                                ) from None


def _check_mask(mask: Any, fail: Any) -> None:
    """Raise ``fail(...)`` unless ``mask`` is a non-empty list of [number, number] pairs."""
    if not isinstance(mask, list) or not mask:
        raise fail("horizon_mask", f"horizon_mask is {describe(mask, toml_booleans=False)}; "
                                   f"expected {EXPECTED['horizon_mask']}")
    for i, point in enumerate(mask):
        if not (isinstance(point, list) and len(point) == 2 and all(is_number(x) for x in point)):
            raise fail("horizon_mask", f"horizon_mask point {i} is {describe(point, toml_booleans=False)}; "
                                       f"expected two numbers [azimuth_deg, elevation_deg], e.g. [90.0, 12.0]")

