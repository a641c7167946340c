"""CelesTrak's GP and supplemental GP (SupGP) queries, asked as CelesTrak's usage policy says.

Queries (CelesTrak, "A New Way to Obtain GP Data" and "How to Perform SupGP Queries"):

- GP: ``/NORAD/elements/gp.php?{QUERY}=VALUE&FORMAT=json`` with ``CATNR`` (one catalog
  number: CelesTrak takes no list of them), ``INTDES`` (a launch, ``yyyy-nnn``, every
  object of it) or ``GROUP`` (a group such as ``cubesat`` or ``active``);
- SupGP: ``/NORAD/elements/supplemental/sup-gp.php?{QUERY}=VALUE&FORMAT=json`` with
  ``CATNR``, ``INTDES`` or ``FILE`` (a SupGP data set, e.g. ``starlink``); SupGP may hold
  several sets of one object (several epochs or providers): all are returned.

``FORMAT=json`` is OMM in JSON, whose catalog numbers have no five-digit limit.

The rules kept (CelesTrak usage policy): the same query at most once per
``QUERY_INTERVAL_S`` (2 hours: GP data does not change faster); a 403 whose body says
"GP data has not updated since your last successful download of this data" is a normal
answer meaning "nothing new, wait"; a 301 is followed (up to ``MAX_REDIRECTS``) and
reported, since it means the configured URL is outdated; any other status that is not
200 stops every request to CelesTrak until the next cycle (``STOPPING_OUTCOMES``), with
the status logged for a human.  Remembering queries across runs is ``store.fetches``'.
"""

from __future__ import annotations

import re
from urllib.parse import urlencode, urljoin

from groundshare.errors import InvalidInputError
from groundshare.sources.http import HttpGet, SiteUnreachableError, urllib_get
from groundshare.sources.result import FetchOutcome, FetchResult, body_excerpt, read_omm_json
from groundshare.units import HOUR_S

CELESTRAK_URL = "https://celestrak.org"
GP_PATH = "/NORAD/elements/gp.php"
SUPGP_PATH = "/NORAD/elements/supplemental/sup-gp.php"
#: The same query at most once per this many seconds (CelesTrak updates GP data every 2 hours).
QUERY_INTERVAL_S = 2 * HOUR_S
#: What CelesTrak's 403 says when the data asked for has not changed since our last download.
NOT_UPDATED_TEXT = "GP data has not updated since your last successful download"
#: What CelesTrak's 200 says when no element set matches the query.
NO_DATA_TEXT = "No GP data found"
MAX_REDIRECTS = 3

#: Source kind -> (path, query kind -> CelesTrak's parameter).
_QUERIES: dict[str, tuple[str, dict[str, str]]] = {
    "celestrak": (GP_PATH, {"catnr": "CATNR", "intdes": "INTDES", "group": "GROUP"}),
    "supgp": (SUPGP_PATH, {"catnr": "CATNR", "intdes": "INTDES", "file": "FILE"}),
}
_VALUES: dict[str, tuple[re.Pattern[str], str]] = {
    "catnr": (re.compile(r"[1-9]\d{0,8}"), "a catalog number of 1 to 9 digits, e.g. 25544"),
    "intdes": (re.compile(r"\d{4}-\d{3}[A-Z]{0,3}"), "an international designator yyyy-nnn, e.g. 1998-067"),
    "group": (re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,99}"), "a CelesTrak group name, e.g. cubesat"),
    "file": (re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,99}"), "a SupGP file name, e.g. starlink"),
}


def celestrak_query(kind: str, query_kind: str, value: str) -> str:
    """Return the canonical query string of a CelesTrak request, e.g. ``CATNR=25544&FORMAT=json``.

    ``kind`` is ``celestrak`` (GP) or ``supgp``.  Raise ``InvalidInputError`` for a query
    the site does not take or a value of the wrong form.

    >>> celestrak_query("celestrak", "group", "cubesat")
    'GROUP=cubesat&FORMAT=json'
    >>> celestrak_query("supgp", "file", "starlink")
    'FILE=starlink&FORMAT=json'
    """
    if kind not in _QUERIES:
        raise InvalidInputError(f"{kind!r} is not a CelesTrak source; expected celestrak or supgp", loc=("kind",))
    params = _QUERIES[kind][1]
    if query_kind not in params:
        raise InvalidInputError(f"a {kind} source cannot ask by {query_kind!r}; expected one of "
                                f"{', '.join(params)}", loc=("query_kind",))
    value = value.strip()
    pattern, form = _VALUES[query_kind]
    if query_kind == "intdes":
        value = value.upper()
    if not pattern.fullmatch(value):
        raise InvalidInputError(f"{query_kind} {value!r} is not {form}", loc=("query_value",))
    if query_kind == "group" or query_kind == "file":
        value = value.lower()
    return urlencode({params[query_kind]: value, "FORMAT": "json"})


def celestrak_url(base_url: str, kind: str, query: str) -> str:
    """Return the URL of ``query`` (``celestrak_query``'s) at ``base_url`` (e.g. ``https://celestrak.org``).

    >>> celestrak_url("http://127.0.0.1:8123/mirror/", "celestrak", "CATNR=25544&FORMAT=json")
    'http://127.0.0.1:8123/mirror/NORAD/elements/gp.php?CATNR=25544&FORMAT=json'
    """
    return f"{base_url.rstrip('/')}{_QUERIES[kind][0]}?{query}"


def fetch_celestrak(kind: str, query: str, *, base_url: str = CELESTRAK_URL,
                    http: HttpGet = urllib_get) -> FetchResult:
    """Ask CelesTrak one query (``celestrak_query``'s string) and return what came back, failures included.

    Never raises for what the site does: an unreachable site, a 5xx or a body that is not
    OMM JSON are outcomes (``FetchOutcome``) with a message that names the status and the
    start of the body.
    """
    url = celestrak_url(base_url, kind, query)
    redirects: list[str] = []
    while True:
        try:
            response = http(url)
        except SiteUnreachableError as exc:
            return FetchResult(FetchOutcome.FAILED, None, str(exc), url=url, redirects=tuple(redirects))
        location = response.headers.get("location", "")
        if response.status == 301 and location and len(redirects) < MAX_REDIRECTS:
            url = urljoin(url, location)
            redirects.append(url)
            continue
        break
    moved = f" (moved permanently to {redirects[-1]}: update the base URL)" if redirects else ""
    text = response.text
    if response.status == 403 and NOT_UPDATED_TEXT.lower() in text.lower():
        return FetchResult(FetchOutcome.NOT_UPDATED, 403, f"{query}: not updated since the last download{moved}",
                           url=url, redirects=tuple(redirects))
    if response.status != 200:
        return FetchResult(FetchOutcome.FAILED, response.status,
                           f"{query}: HTTP {response.status} from {kind} ({body_excerpt(text) or 'no body'}); "
                           f"nothing more is asked of CelesTrak until the next cycle{moved}",
                           url=url, redirects=tuple(redirects))
    if text.strip().lower().startswith(NO_DATA_TEXT.lower()):
        return FetchResult(FetchOutcome.NO_DATA, 200, f"{query}: CelesTrak has no element set for it{moved}",
                           url=url, redirects=tuple(redirects))
    read = read_omm_json(text, source=f"{kind} {query}")
    if read is None:
        return FetchResult(FetchOutcome.BAD_BODY, 200,
                           f"{query}: the answer is not OMM JSON ({body_excerpt(text) or 'empty'}){moved}",
                           url=url, redirects=tuple(redirects))
    sets, errors = read
    if not sets and not errors:
        return FetchResult(FetchOutcome.NO_DATA, 200, f"{query}: no element set in the answer{moved}",
                           url=url, redirects=tuple(redirects))
    skipped = f", {len(errors)} record{'s' if len(errors) != 1 else ''} skipped" if errors else ""
    return FetchResult(FetchOutcome.OK, 200, f"{query}: {len(sets)} element set{'s' if len(sets) != 1 else ''}"
                       f"{skipped}{moved}", tuple(sets), tuple(errors), url=url, redirects=tuple(redirects))
