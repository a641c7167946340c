"""Read a TOML file of groundshare's (stations, links) with errors that say what is wrong.

``read_toml`` parses the file; ``is_number``, ``describe`` and ``did_you_mean`` are the
pieces the strict loaders (``stations``, ``link.config``) build their messages from.
"""

from __future__ import annotations

import difflib
import math
import tomllib
from pathlib import Path
from typing import Any

from groundshare.errors import InvalidInputError


def read_toml(path: str | Path, kind: str) -> dict[str, Any]:
    """Return the parsed document of a TOML file; ``kind`` names it in messages ("station file").

    Raises ``InvalidInputError`` for a missing or unreadable file, a folder, text that is
    not UTF-8 and a TOML syntax error (with tomllib's line and column).
    """
    where = str(path)
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        raise InvalidInputError(f"{kind} {where!r} does not exist", loc=("file", where)) from None
    except IsADirectoryError:
        raise InvalidInputError(f"{kind} {where!r} is a folder; give a .toml file", loc=("file", where)) from None
    except OSError as exc:
        raise InvalidInputError(f"{kind} {where!r} cannot be read: {exc.strerror}", loc=("file", where)) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInputError(f"{where} is not UTF-8 text (byte {exc.start}); {kind}s are TOML text",
                                loc=("file", where)) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # tomllib's message ends "(at line L, column C)"; Python 3.11 has no lineno attribute.
        raise InvalidInputError(
            f"{where} is not valid TOML: {exc}\n\n"
            "Check the quotes around strings and the '=' between each key and its value.",
            loc=("file", where)) from None


def is_number(value: Any) -> bool:
    """Return whether ``value`` is a finite TOML integer or float (booleans are not numbers).

    >>> is_number(36.3), is_number(True), is_number("36.3"), is_number(float("inf"))
    (True, False, False, False)
    """
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def describe(value: Any, *, toml_booleans: bool = True) -> str:
    """Return ``value`` with its TOML type, e.g. ``the string '36.3'``.

    Booleans are spelt as TOML writes them (``the boolean true``), or with
    ``toml_booleans=False`` as Python does (``the boolean True``, as station files say).

    >>> describe("36.3"), describe([1, 2]), describe(True), describe(True, toml_booleans=False), describe(7)
    ("the string '36.3'", 'the array [1, 2]', 'the boolean true', 'the boolean True', '7')
    """
    kinds = {bool: "the boolean", str: "the string", list: "the array", dict: "the table"}
    kind = next((v for k, v in kinds.items() if isinstance(value, k)), "")
    if isinstance(value, bool) and toml_booleans:
        return f"{kind} {str(value).lower()}"
    return f"{kind} {value!r}" if kind else repr(value)


def did_you_mean(name: str, known: tuple[str, ...], form: str = "{!r}") -> str:
    """Return ``" (did you mean 'x'?)"`` for the closest known name, or ``""``.

    ``form`` shows the suggestion, e.g. ``"[{}]"`` for a table name.

    >>> did_you_mean("lat_dge", ("lat_deg", "lon_deg")), did_you_mean("site", ("link",), "[{}]")
    (" (did you mean 'lat_deg'?)", '')
    """
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.5)
    return f" (did you mean {form.format(close[0])}?)" if close else ""
