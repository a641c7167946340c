"""What one request to an element-set site gave: an outcome, the element sets read, the records skipped.

The body is read as OMM JSON with ``groundshare.orbits.iter_omm_records``: a bad record
is skipped with its reason (file, record and key) and the others are kept; a body that
is not a JSON list of records at all (an HTML error page, a cut-off download) makes the
whole request ``bad_body``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from groundshare.orbits import ElementSet, ElementSetError, iter_omm_records


class FetchOutcome(StrEnum):
    """How a request to a site ended (kept as ``SourceFetch.outcome``)."""

    OK = "ok"  # 200 with OMM records
    NO_DATA = "no_data"  # 200, but the site has no element set for the query
    NOT_UPDATED = "not_updated"  # CelesTrak's 403: nothing new since our last download (normal: wait)
    BAD_BODY = "bad_body"  # 200 with a body that is not OMM JSON
    FAILED = "failed"  # any other status, or no answer: the site is left alone until the next cycle
    REFUSED_LOGIN = "refused_login"  # Space-Track refused the credentials: the source is disabled


#: Outcomes after which the site is asked nothing more in this cycle.
STOPPING_OUTCOMES = frozenset({FetchOutcome.FAILED, FetchOutcome.REFUSED_LOGIN})


@dataclass(frozen=True)
class FetchResult:
    """One request's result: ``sets`` read and ``errors`` (records skipped, each naming its record and key).

    ``url`` is where the answer finally came from; ``redirects`` the ``Location`` of each
    redirect followed, in order.  ``message`` says what happened in a line a human reads.
    """

    outcome: FetchOutcome
    http_status: int | None
    message: str
    sets: tuple[ElementSet, ...] = ()
    errors: tuple[ElementSetError, ...] = ()
    url: str = ""
    redirects: tuple[str, ...] = ()


def read_omm_json(text: str, *, source: str) -> tuple[list[ElementSet], list[ElementSetError]] | None:
    """Return the element sets and skipped records of an OMM JSON body, or ``None`` if it is no JSON list.

    An empty list gives two empty lists.  ``source`` (e.g. the request's query) prefixes
    every skipped record's message.
    """
    if not text.lstrip("\ufeff \t\r\n").startswith("["):
        return None
    sets: list[ElementSet] = []
    errors: list[ElementSetError] = []
    for item in iter_omm_records(text, source=source, fmt="json"):
        if isinstance(item, ElementSetError):
            if item.field == "JSON" and not sets and not errors and "not valid JSON" in str(item):
                return None  # cut off or not JSON: the parser names no record
            errors.append(item)
        else:
            sets.append(item)
    return sets, errors


def body_excerpt(text: str, limit: int = 200) -> str:
    """Return the start of a body on one line, for a message (``...`` where cut)."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."
