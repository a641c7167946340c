"""Frames decoded into telemetry with satnogs-decoders' Kaitai structs, loaded only when asked for.

satnogs-decoders (AGPL-3.0, the ``decoders`` extra) holds one Kaitai Struct decoder per
satellite, named by its module (``painani``, ``snuglite``, ``ax25frames``, ...): the name a
satellite's ``decoder`` column holds.  Nothing here imports it at module level: the first
call that needs it imports ``satnogsdecoders.decoder`` (every decoder at once, about 0.2 s,
then cached), so ``import groundshare.telemetry`` costs nothing and works without the extra.

The method, per frame:

1. ``Decoder.from_bytes(payload)`` parses the whole frame.  Whatever goes wrong in there
   (a short frame, a magic number that does not match, text that is not ASCII) comes back
   as ``DecodedFrame.error`` with no fields: a bad frame is data, never a crash.
2. The parsed object is walked depth first, in field order: first what the struct read
   (its ``seq``), then its computed values (Kaitai ``instances``, Python properties; one that
   fails on this frame is left out).  Every scalar becomes one entry keyed by its dotted
   path from the root (``ax25_frame.payload.info.pld_id.battery_voltage``), list items by
   their index (``rtc_raw.0``); a computed value that is ``None`` on this frame (a branch the
   frame does not take) is left out.  Values are JSON-safe: bytes as lower-case hex, enums by
   name, NaN and infinities as ``None``, strings (and hex) cut at ``MAX_STRING_CHARS``.
3. The walk is bounded: at most ``MAX_FIELDS`` fields, ``MAX_NODES`` objects visited and
   ``MAX_DEPTH`` levels, each object once (a computed value pointing back at a parent is not
   followed), so a hostile frame cannot make a frame's telemetry large or its decoding slow.

satnogs-decoders' own ``get_fields`` maps the ``:field name: path`` lines of each decoder's
docstring instead; those lists are hand-written and miss fields (PAINANI's names a
``byttery_voltage`` that its struct spells ``battery_voltage``), so the walk reads the
parsed object itself: every value the struct holds, under a name that says where it is.
"""

from __future__ import annotations

import difflib
import enum
import importlib
import itertools
import math
import pkgutil
from dataclasses import dataclass, field
from functools import cache
from types import ModuleType
from typing import Any

from groundshare.errors import InvalidInputError
from groundshare.extras import MissingExtraError, installed

#: At most this many fields per frame (a 4 KiB frame of single bits would otherwise give 32,768).
MAX_FIELDS = 2_000
#: Strings, and the hex of byte fields, are cut to this many characters.
MAX_STRING_CHARS = 1_000
#: Objects (structs and lists) visited per frame, fields or not: bounds the walk's time.
MAX_NODES = 10_000
#: Nesting deeper than this is not followed (real decoders nest fewer than 15 levels).
MAX_DEPTH = 64
#: Close names suggested for a decoder name that does not exist.
SUGGESTIONS = 5

_WHAT = "telemetry decoding (satnogs-decoders)"


@dataclass(frozen=True)
class DecodedFrame:
    """One frame through one decoder: flat JSON-safe ``fields``, or ``error`` saying why there are none.

    ``decoder`` is the decoder's name, ``version`` the satnogs-decoders version that decoded it
    ("" when the extra is missing).
    """

    fields: dict[str, Any] = field(default_factory=dict)
    decoder: str = ""
    version: str = ""
    error: str | None = None

    @property
    def ok(self) -> bool:
        """Return whether the frame decoded."""
        return self.error is None


def decoders_installed() -> bool:
    """Return whether the ``decoders`` extra (satnogs-decoders) is installed, without importing it."""
    return installed("decoders")


def decoder_names() -> tuple[str, ...]:
    """Return the names of every decoder satnogs-decoders has, sorted; ``MissingExtraError`` without it."""
    return tuple(sorted(_catalogue().classes))


def check_decoder_name(name: str) -> str:
    """Return the decoder's name as satnogs-decoders spells it (``"PAINANI "`` -> ``"painani"``).

    ``InvalidInputError`` when there is no such decoder, naming the closest names;
    ``MissingExtraError`` when the extra is not installed.
    """
    catalogue = _catalogue()
    if not isinstance(name, str) or not name.strip():
        raise InvalidInputError("decoder: expected the name of a satnogs-decoders decoder, e.g. 'painani'",
                                loc=("decoder",))
    wanted = _normalise(name)
    if wanted in catalogue.classes:
        return wanted
    close = difflib.get_close_matches(wanted, catalogue.classes, n=SUGGESTIONS, cutoff=0.6)
    hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else \
        f"; satnogs-decoders {catalogue.version} has {len(catalogue.classes)} decoders (see decoder_names())"
    raise InvalidInputError(f"decoder: no satnogs-decoders decoder is named {name.strip()!r}{hint}",
                            loc=("decoder",))


def decode(name: str, payload: bytes) -> DecodedFrame:
    """Decode ``payload`` with the decoder ``name``; never raises for a bad frame or an unknown decoder.

    A frame the decoder refuses, a decoder name that does not exist and a missing extra all give a
    ``DecodedFrame`` with no fields and ``error`` saying why, so that the raw frame can be kept.
    """
    shown = name if isinstance(name, str) else repr(name)
    try:
        catalogue = _catalogue()
    except MissingExtraError as exc:
        return DecodedFrame(decoder=shown, error=_cut(str(exc)))
    try:
        canonical = check_decoder_name(name)
    except InvalidInputError as exc:
        return DecodedFrame(decoder=shown, version=catalogue.version, error=_cut(str(exc)))
    try:
        parsed = catalogue.classes[canonical].from_bytes(bytes(payload))
    except Exception as exc:  # a decoder may raise anything on a bad frame: it is data
        return DecodedFrame(decoder=canonical, version=catalogue.version, error=_cut(_describe(exc)))
    return DecodedFrame(fields=flatten(parsed), decoder=canonical, version=catalogue.version)


def flatten(parsed: object) -> dict[str, Any]:
    """Return the scalars of a parsed Kaitai object keyed by dotted path (bounded, see the module docstring)."""
    fields: dict[str, Any] = {}
    seen: set[int] = set()
    nodes = 0
    # Depth first in field order: a stack of (path, value, depth), children pushed in reverse.
    stack: list[tuple[str, object, int]] = [("", parsed, 0)]
    while stack and len(fields) < MAX_FIELDS:
        path, value, depth = stack.pop()
        if _is_struct(value) or isinstance(value, list):
            nodes += 1
            if nodes > MAX_NODES or depth > MAX_DEPTH or id(value) in seen:
                continue
            seen.add(id(value))
            children = enumerate(value) if isinstance(value, list) else _attributes(value)
            prefix = f"{path}." if path else ""
            stack.extend(reversed([(f"{prefix}{key}", child, depth + 1)
                                   for key, child in itertools.islice(children, MAX_FIELDS)]))
        elif path and value is not None:  # None: a conditional value this frame does not have
            scalar = _json_safe(value)
            if scalar is not _SKIP:
                fields[path] = scalar
    return fields


@dataclass(frozen=True)
class _Catalogue:
    version: str
    classes: dict[str, type]


def _catalogue() -> _Catalogue:
    if not decoders_installed():
        raise MissingExtraError(_WHAT, ("decoders",))
    return _load()


@cache
def _load() -> _Catalogue:
    try:
        package = importlib.import_module("satnogsdecoders")
        decoders = importlib.import_module("satnogsdecoders.decoder")
    except ImportError as exc:  # installed but broken (e.g. kaitaistruct missing): same remedy
        raise MissingExtraError(_WHAT, ("decoders",)) from exc
    return _Catalogue(version=str(getattr(package, "__version__", "")), classes=_classes(decoders))


def _classes(decoders: ModuleType) -> dict[str, type]:
    """Return each decoder module's struct class by module name, as satnogs-decoders' own __init__ finds them."""
    from kaitaistruct import KaitaiStruct

    classes: dict[str, type] = {}
    for module in pkgutil.iter_modules(decoders.__path__):
        cls = getattr(decoders, module.name.capitalize().replace("_", ""), None)
        if isinstance(cls, type) and issubclass(cls, KaitaiStruct):
            classes[module.name] = cls
    return classes


def _normalise(name: str) -> str:
    return name.strip().lower()


def _is_struct(value: object) -> bool:
    # Duck-typed so that this module never imports kaitaistruct at module level.
    return hasattr(value, "_io") and hasattr(value, "_root")


def _attributes(struct: object) -> list[tuple[str, object]]:
    """Return a struct's public values: read fields in reading order, then computed values that succeed."""
    found = [(key, value) for key, value in vars(struct).items() if not key.startswith("_")]
    names = {key for key, _ in found}
    for key in _computed_names(type(struct)):
        if key in names:
            continue
        try:
            found.append((key, getattr(struct, key)))
        except Exception:  # a computed value this frame cannot give is left out
            continue
    return found


@cache
def _computed_names(cls: type) -> tuple[str, ...]:
    """Return the public properties (Kaitai instances) of a struct class and its bases, kaitaistruct's aside."""
    names: dict[str, None] = {}
    for klass in cls.__mro__:
        if klass is object or klass.__module__.startswith("kaitaistruct"):
            continue
        names.update((key, None) for key, member in vars(klass).items()
                     if not key.startswith("_") and isinstance(member, property))
    return tuple(names)


_SKIP = object()


def _json_safe(value: object) -> object:
    if isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, enum.Enum):
        return value.name
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value[: MAX_STRING_CHARS // 2]).hex()
    if isinstance(value, str):
        return value[:MAX_STRING_CHARS]
    if callable(value):
        return _SKIP
    return _cut(str(value))


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _cut(text: str) -> str:
    return text[:MAX_STRING_CHARS]
