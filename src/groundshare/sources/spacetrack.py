"""Space-Track's GP class, asked through the ``spacetrack`` library and within Space-Track's limits.

``SpaceTrackClient`` (python-astrodynamics/spacetrack, 2.x) logs in with a POST to
``/ajaxauth/login`` (a refusal is a JSON ``{"Login": "Failed"}``, raised as
``AuthenticationError``), checks each query's predicates against the class's
``/basicspacedata/modeldef/class/gp`` and throttles itself below Space-Track's limits
(under 30 requests a minute and 300 an hour, sleeping when it must).  Its ``base_url``
points it at a mirror or a test server.

What groundshare adds: GP queries batched by catalog number (``norad_cat_id/1,2,3``, at
most ``BATCH_SIZE`` numbers a request), each query at most once per ``QUERY_INTERVAL_S``
(1 hour, ``store.fetches``), and ``spacetrack_minute``: the minute past the hour a
deployment's scheduled queries use, drawn per identity away from :00 and :30 (where
everyone else's cron jobs land).  Credentials come from settings or from
``GROUNDSHARE_SPACETRACK_IDENTITY`` and ``GROUNDSHARE_SPACETRACK_PASSWORD`` and never
appear in a message, a repr or a log.

The library is part of the server extra; this module imports it only when a session is
opened.
"""

from __future__ import annotations

import hashlib
import os
import random
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

from groundshare.sources.result import FetchOutcome, FetchResult, body_excerpt, read_omm_json
from groundshare.units import HOUR_S

SPACETRACK_URL = "https://www.space-track.org"
#: The same GP query at most once per this many seconds (Space-Track asks for GP data at most hourly).
QUERY_INTERVAL_S = HOUR_S
#: Catalog numbers per GP request: keeps the URL short (about 3.5 kB) while most networks need one request.
BATCH_SIZE = 500
#: Minutes a scheduled query avoids: within 3 minutes of the hour and of the half-hour.
AVOIDED_MINUTES = frozenset({57, 58, 59, 0, 1, 2, 27, 28, 29, 30, 31, 32})
_PIECE_RE = re.compile(r"\d{4}-\d{3}[A-Z]{1,3}")  # one object of a launch, e.g. 1998-067A
IDENTITY_ENV = "GROUNDSHARE_SPACETRACK_IDENTITY"
PASSWORD_ENV = "GROUNDSHARE_SPACETRACK_PASSWORD"


@dataclass(frozen=True)
class SpaceTrackCredentials:
    """A Space-Track account; the password is never shown (not in ``repr`` nor in any message)."""

    identity: str
    password: str = field(repr=False)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> SpaceTrackCredentials | None:
        """Return the credentials in ``GROUNDSHARE_SPACETRACK_IDENTITY``/``_PASSWORD``, or None if either is unset."""
        env = os.environ if environ is None else environ
        identity, password = env.get(IDENTITY_ENV, "").strip(), env.get(PASSWORD_ENV, "")
        return cls(identity, password) if identity and password else None


def spacetrack_query(norad_ids: Sequence[int] = (), *, intdes: str | None = None) -> str:
    """Return the canonical GP query of ``norad_ids`` (sorted, without repeats), or of a launch or object.

    ``intdes`` asks by international designator instead: a launch (``2026-041``: every
    object whose OBJECT_ID starts with it, Space-Track's ``^`` operator) or one object
    (``1998-067A``).  The string is how the request URL's path ends.

    >>> spacetrack_query([41335, 25544, 25544])
    'class/gp/norad_cat_id/25544,41335/format/json'
    >>> spacetrack_query(intdes="2026-041"), spacetrack_query(intdes="1998-067A")
    ('class/gp/object_id/%5E2026-041/format/json', 'class/gp/object_id/1998-067A/format/json')
    """
    if intdes is not None:
        return f"class/gp/object_id/{quote(_intdes_predicate(intdes), safe='')}/format/json"
    return f"class/gp/norad_cat_id/{','.join(str(n) for n in sorted(set(norad_ids)))}/format/json"


def _intdes_predicate(intdes: str) -> str:
    value = intdes.strip().upper()
    return value if _PIECE_RE.fullmatch(value) else f"^{value}"


def spacetrack_batches(norad_ids: Sequence[int], *, size: int = BATCH_SIZE) -> list[tuple[int, ...]]:
    """Return ``norad_ids`` sorted, without repeats, cut into batches of at most ``size``.

    >>> spacetrack_batches([5, 3, 1, 3], size=2)
    [(1, 3), (5,)]
    """
    ids = sorted(set(norad_ids))
    return [tuple(ids[i:i + size]) for i in range(0, len(ids), size)]


def spacetrack_minute(identity: str) -> int:
    """Return the minute past the hour for this account's scheduled GP queries: fixed per identity, off :00/:30.

    Different deployments draw different minutes (a hash of the identity seeds the draw),
    so they do not all ask at once; the same deployment keeps its minute across restarts.
    """
    seed = int.from_bytes(hashlib.sha256(identity.encode()).digest()[:8], "big")
    return random.Random(seed).choice(sorted(set(range(60)) - AVOIDED_MINUTES))


def next_spacetrack_slot(after: datetime, minute: int) -> datetime:
    """Return the first time at ``minute`` past an hour (seconds zero) that is not before ``after``."""
    slot = after.replace(minute=minute, second=0, microsecond=0)
    return slot if slot >= after else slot + timedelta(hours=1)


class SpaceTrackSession:
    """A logged-in (on first use) Space-Track client for one sync; ``open_spacetrack`` makes and closes it."""

    def __init__(self, client: Any, base_url: str) -> None:
        self._client = client
        self.base_url = base_url

    def fetch_gp(self, norad_ids: Sequence[int] = (), *, intdes: str | None = None) -> FetchResult:
        """Ask the GP class for the newest set of each of ``norad_ids`` (one request: batch them first).

        ``intdes`` asks for a launch or one object instead (``spacetrack_query``).
        Failures are outcomes: ``refused_login`` when Space-Track refuses the credentials,
        ``failed`` for an HTTP error or no answer, ``bad_body`` for a body that is not
        OMM JSON.
        """
        import httpx2
        from spacetrack import AuthenticationError

        query = spacetrack_query(norad_ids, intdes=intdes)
        url = f"{self.base_url.rstrip('/')}/basicspacedata/query/{query}"
        predicate = ({"object_id": _intdes_predicate(intdes)} if intdes is not None
                     else {"norad_cat_id": sorted(set(norad_ids))})
        try:
            text = self._client.gp(**predicate, format="json")
        except AuthenticationError:
            return FetchResult(FetchOutcome.REFUSED_LOGIN, 200,
                               f"Space-Track refused the login of the configured identity at {self.base_url}; "
                               f"check {IDENTITY_ENV} and {PASSWORD_ENV} (or the settings)", url=url)
        except httpx2.HTTPStatusError as exc:
            status = exc.response.status_code
            return FetchResult(FetchOutcome.FAILED, status,
                               f"{query}: HTTP {status} from Space-Track "
                               f"({body_excerpt(_safe_text(exc.response)) or 'no body'}); nothing more is asked "
                               "of Space-Track until the next cycle", url=url)
        except (httpx2.TransportError, OSError) as exc:
            return FetchResult(FetchOutcome.FAILED, None,
                               f"{query}: Space-Track at {self.base_url} cannot be reached: "
                               f"{type(exc).__name__}", url=url)
        read = read_omm_json(text, source=f"spacetrack {query}")
        if read is None:
            return FetchResult(FetchOutcome.BAD_BODY, 200,
                               f"{query}: the answer is not OMM JSON ({body_excerpt(text) or 'empty'})", url=url)
        sets, errors = read
        if not sets and not errors:
            return FetchResult(FetchOutcome.NO_DATA, 200, f"{query}: Space-Track has no element set for them",
                               url=url)
        skipped = f", {len(errors)} record{'s' if len(errors) != 1 else ''} skipped" if errors else ""
        return FetchResult(FetchOutcome.OK, 200, f"{query}: {len(sets)} element set{'s' if len(sets) != 1 else ''}"
                           f"{skipped}", tuple(sets), tuple(errors), url=url)


def _safe_text(response: Any) -> str:
    try:
        return str(response.text)
    except Exception:  # a streamed body not read: nothing to show
        return ""


@contextmanager
def open_spacetrack(credentials: SpaceTrackCredentials, *, base_url: str = SPACETRACK_URL,
                    cache_dir: Path | None = None) -> Iterator[SpaceTrackSession]:
    """Yield a ``SpaceTrackSession`` on ``base_url``; log out and close when done.

    ``cache_dir`` is where the library keeps the GP class's predicates between runs
    (default: the user's cache folder).  Logging in happens on the first query.
    """
    from spacetrack import SpaceTrackClient

    client = SpaceTrackClient(credentials.identity, credentials.password, base_url=base_url.rstrip("/") + "/",
                              cache_path=cache_dir)
    try:
        yield SpaceTrackSession(client, base_url)
    finally:
        with suppress(Exception):  # logging out of a site that failed must not hide what happened
            client.close()
