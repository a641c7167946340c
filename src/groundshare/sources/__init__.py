"""Element sets from the sites that publish them: CelesTrak GP and SupGP, and Space-Track GP.

Each site has a client that asks one query and returns a ``FetchResult`` (outcome, the
element sets read through ``groundshare.orbits``, the records skipped and why) and keeps
that site's rules; ``plan`` turns a network's sources into as few requests as each site
allows.  Nothing here touches the database: ``store.fetches`` remembers when a query may
be asked again and ``store.sync`` runs a whole sync.
"""

from groundshare.sources.celestrak import CELESTRAK_URL, celestrak_query, celestrak_url, fetch_celestrak
from groundshare.sources.http import HttpGet, HttpResponse, SiteUnreachableError, urllib_get
from groundshare.sources.plan import FETCHED_KINDS, PlannedRequest, RequestPlan, SourceNeed, plan_requests
from groundshare.sources.result import STOPPING_OUTCOMES, FetchOutcome, FetchResult, read_omm_json
from groundshare.sources.spacetrack import (
    SPACETRACK_URL,
    SpaceTrackCredentials,
    SpaceTrackSession,
    next_spacetrack_slot,
    open_spacetrack,
    spacetrack_batches,
    spacetrack_minute,
    spacetrack_query,
)

__all__ = [
    "CELESTRAK_URL",
    "FETCHED_KINDS",
    "SPACETRACK_URL",
    "STOPPING_OUTCOMES",
    "FetchOutcome",
    "FetchResult",
    "HttpGet",
    "HttpResponse",
    "PlannedRequest",
    "RequestPlan",
    "SiteUnreachableError",
    "SourceNeed",
    "SpaceTrackCredentials",
    "SpaceTrackSession",
    "celestrak_query",
    "celestrak_url",
    "fetch_celestrak",
    "next_spacetrack_slot",
    "open_spacetrack",
    "plan_requests",
    "read_omm_json",
    "spacetrack_batches",
    "spacetrack_minute",
    "spacetrack_query",
    "urllib_get",
]
