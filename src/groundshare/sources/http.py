"""One HTTP GET, as the element-set sites are asked: the standard library, no redirects followed silently.

``HttpGet`` is the shape every fetcher takes (``url -> HttpResponse``), so tests and
callers can pass their own; ``urllib_get`` is the default, on ``urllib.request`` (the
server extra has no HTTP client of its own, and one GET a query needs no more).
Redirects come back as responses (status 301 and its ``Location``), because a
site's rules say what to do with them (``sources.celestrak`` follows a 301 and says
so). A site that cannot be reached raises ``SiteUnreachableError``.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from groundshare import __version__
from groundshare.errors import GroundshareError

#: Seconds a request may take, connecting and reading; the largest CelesTrak group (active) is ~25 MB of JSON.
DEFAULT_TIMEOUT_S = 120.0
USER_AGENT = f"groundshare/{__version__} (element sets sync)"


class SiteUnreachableError(GroundshareError):
    """The site did not answer: no connection, a timeout, a TLS failure."""


@dataclass(frozen=True)
class HttpResponse:
    """A site's answer: status, body and headers (names lower-cased), as received."""

    url: str
    status: int
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)

    @property
    def text(self) -> str:
        """Return the body decoded as UTF-8 (bytes that are not UTF-8 become U+FFFD)."""
        return self.body.decode("utf-8", errors="replace")


HttpGet = Callable[[str], HttpResponse]


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[no-untyped-def]
        return None  # the 3xx comes back as an HTTPError, which urllib_get turns into a response


_OPENER = urllib.request.build_opener(_NoRedirects)


def urllib_get(url: str, *, timeout_s: float = DEFAULT_TIMEOUT_S) -> HttpResponse:
    """GET ``url`` and return its answer whatever its status; raise ``SiteUnreachableError`` when none comes."""
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, "Accept": "application/json"})
    try:
        with _OPENER.open(request, timeout=timeout_s) as reply:
            return HttpResponse(url, reply.status, reply.read(), _headers(reply.headers))
    except urllib.error.HTTPError as exc:
        with exc:
            body = exc.read() if exc.fp is not None else b""
            return HttpResponse(url, exc.code, body, _headers(exc.headers))
    except OSError as exc:  # URLError, timeouts and refused connections are all OSErrors
        reason = getattr(exc, "reason", exc)
        raise SiteUnreachableError(f"{_site(url)} cannot be reached: {reason}") from None


def _headers(headers: object) -> dict[str, str]:
    items = headers.items() if hasattr(headers, "items") else []
    return {str(name).lower(): str(value) for name, value in items}


def _site(url: str) -> str:
    """Return ``scheme://host[:port]`` of ``url``: what a message names, never the query."""
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0]}"
