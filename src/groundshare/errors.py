"""Exception families shared by every part of groundshare.

Sub-packages subclass these (``ElementSetError(InvalidInputError)``) so that the
CLI and the API can map whole families to an exit code or an HTTP status.
"""

from __future__ import annotations


class GroundshareError(Exception):
    """Base of every error groundshare raises on purpose."""


class InvalidInputError(GroundshareError, ValueError):
    """Input that does not have the expected form.

    ``loc`` names where the problem is, e.g. ``("file", "cubesats.tle", "line 14")``
    or ``("body", "start")``.
    """

    def __init__(self, message: str, *, loc: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.loc = loc


class NotFoundError(GroundshareError, LookupError):
    """A named thing (station, satellite, organisation) does not exist."""


class ConflictError(GroundshareError):
    """The request collides with something already stored (e.g. a double booking)."""


class PolicyError(GroundshareError):
    """A partner's sharing policy forbids the request."""
