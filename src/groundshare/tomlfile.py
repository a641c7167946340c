"""Read a TOML file of groundshare's (stations, links) with errors that say what is wrong."""

from __future__ import annotations

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
