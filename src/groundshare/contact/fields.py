"""Read the fields of a JSON object one by one, refusing a bad one with a message that names it.

``JsonFields`` is what every ``from_json`` of a contact's contracts reads with: a field is
named by its path (``satellite.norad_id``), and a value of the wrong form is refused with
what was expected and what came (``shown``).  The caller chooses the error: the agent's
``ContactError`` naming the contact, or ``SnapshotError`` naming a stored snapshot.

>>> fields = JsonFields()
>>> fields.positive({"az_slew_deg_s": 6}, "antenna.az_slew_deg_s")
6.0
>>> fields.positive({"az_slew_deg_s": "fast"}, "antenna.az_slew_deg_s")
Traceback (most recent call last):
...
groundshare.errors.InvalidInputError: antenna.az_slew_deg_s must be a positive number or null, got 'fast'
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, NoReturn

from groundshare.errors import InvalidInputError
from groundshare.timeutil import parse_utc

#: The time every refusal of a time shows as an example.
TIME_EXAMPLE = "2025-11-07T03:12:00Z"

#: Makes the exception for a refused field from the message and the field's path as a ``loc``.
ErrorFactory = Callable[[str, tuple[str, ...]], Exception]


def _invalid(message: str, loc: tuple[str, ...]) -> Exception:
    return InvalidInputError(message, loc=loc)


class JsonFields:
    """Typed reads of one JSON object's fields; a bad one raises ``error(message, loc)`` (see the module docstring).

    Each read takes the object and the field's path (``"antenna.az_slew_deg_s"``: the
    field ``az_slew_deg_s`` of the object found at ``antenna``); a field that is absent
    reads as null.
    """

    def __init__(self, error: ErrorFactory = _invalid) -> None:
        self.error = error

    def fail(self, path: str, message: str) -> NoReturn:
        """Raise the error for the field at ``path``."""
        raise self.error(message, tuple(path.split(".")))

    def object(self, body: Mapping[str, Any], path: str) -> Mapping[str, Any]:
        """Return the JSON object at ``path``, ``{}`` where it is null."""
        value = _value(body, path)
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            self.fail(path, f"{path} must be a JSON object or null, got {shown(value)}")
        return value

    def time(self, body: Mapping[str, Any], path: str) -> datetime:
        """Return the ISO 8601 time (``Z`` or an offset) at ``path`` as an aware UTC datetime."""
        value = _value(body, path)
        if isinstance(value, str):
            try:
                return parse_utc(value, path, allow_now=False)
            except InvalidInputError:
                pass
        self.fail(path, f"{path} must be an ISO 8601 UTC time such as {TIME_EXAMPLE}, got {shown(value)}")

    def optional_time(self, body: Mapping[str, Any], path: str) -> datetime | None:
        """Return the time at ``path`` (as ``time`` does), or None where it is null."""
        return None if _value(body, path) is None else self.time(body, path)

    def whole(self, body: Mapping[str, Any], path: str, *, minimum: int | None = None,
              required: bool = False) -> int | None:
        """Return the whole number at ``path`` (at least ``minimum``), or None where it is null and not ``required``."""
        value = _value(body, path)
        if value is None and not required:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or (minimum is not None and value < minimum):
            at_least = f" of at least {minimum}" if minimum is not None else ""
            self.fail(path, f"{path} must be a whole number{at_least}{'' if required else ' or null'}, "
                            f"got {shown(value)}")
        return value

    def number(self, body: Mapping[str, Any], path: str, low: float = -math.inf, high: float = math.inf, *,
               required: bool = False) -> float | None:
        """Return the finite number at ``path`` in ``[low, high]``, or None where it is null and not ``required``."""
        value = _value(body, path)
        if value is None and not required:
            return None
        if not _is_number(value) or not low <= value <= high:
            within = f" from {low:g} to {high:g}" if math.isfinite(low) and math.isfinite(high) else ""
            self.fail(path, f"{path} must be a number{within}{'' if required or within else ' or null'}, "
                            f"got {shown(value)}")
        return float(value)

    def positive(self, body: Mapping[str, Any], path: str) -> float | None:
        """Return the positive number at ``path``, or None where it is null."""
        value = _value(body, path)
        if value is None:
            return None
        if not _is_number(value) or value <= 0:
            self.fail(path, f"{path} must be a positive number or null, got {shown(value)}")
        return float(value)

    def nonnegative(self, body: Mapping[str, Any], path: str, *, required: bool = False) -> float | None:
        """Return the number of at least 0 at ``path``, or None where it is null and not ``required``."""
        value = _value(body, path)
        if value is None and not required:
            return None
        if not _is_number(value) or value < 0:
            self.fail(path, f"{path} must be a number of at least 0{'' if required else ' or null'}, "
                            f"got {shown(value)}")
        return float(value)

    def text(self, body: Mapping[str, Any], path: str, max_length: int | None, *,
             required: bool = False) -> str | None:
        """Return the text at ``path`` (not blank, at most ``max_length`` characters), or None where it is null."""
        value = _value(body, path)
        if value is None and not required:
            return None
        if not isinstance(value, str) or not value.strip() or (max_length is not None and len(value) > max_length):
            size = f"of 1 to {max_length} characters" if max_length is not None else "that is not blank"
            self.fail(path, f"{path} must be text {size}{'' if required else ' or null'}, got {shown(value)}")
        return value

    def horizon_mask(self, body: Mapping[str, Any], path: str) -> tuple[tuple[float, float], ...] | None:
        """Return the ``[[az_deg, min_el_deg], ...]`` list at ``path`` as pairs as given, or None where it is null.

        Only the form is checked here; ``passes.HorizonMask`` checks the angles where the
        mask is used.
        """
        value = _value(body, path)
        if value is None:
            return None
        if not isinstance(value, list) or not all(
                isinstance(pair, list | tuple) and len(pair) == 2 and all(_is_number(x) for x in pair)
                for pair in value):
            self.fail(path, f"{path} must be a list of [az_deg, min_el_deg] pairs of numbers or null, "
                            f"got {shown(value)}")
        return tuple((pair[0], pair[1]) for pair in value)


def shown(value: Any, limit: int = 80) -> str:
    """Return ``repr(value)`` cut to ``limit`` characters, naming its JSON type when it is not text or a number."""
    kind = {dict: "an object ", list: "a list "}.get(type(value), "")
    text = repr(value)
    return kind + (text if len(text) <= limit else text[:limit] + "...")


def _value(body: Mapping[str, Any], path: str) -> Any:
    return body.get(path.rsplit(".", 1)[-1])


def _is_number(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, int | float) and math.isfinite(value)
