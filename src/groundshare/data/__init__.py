"""Real element-set snapshots shipped with groundshare (provenance in README.md here)."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def data_path(name: str) -> Path:
    """Return the path of a shipped data file, e.g. ``celestrak_cubesat_2025-11-06.tle``."""
    return Path(str(files(__package__) / name))
