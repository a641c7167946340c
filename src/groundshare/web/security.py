"""Security headers on every response: a strict Content-Security-Policy and its companions.

The dashboard is plain ES modules and vendored scripts served by the API itself, with no
inline script, inline event handler or inline style attribute, so its policy allows only
the server's own origin (``'self'``) and ``data:`` images (the page's empty favicon and the
``data:`` SVG icons in the API docs' stylesheet).  JSON responses get the same policy: it
costs nothing, and a response opened as a page can then run nothing.

A response that sets its own ``Content-Security-Policy`` keeps it: the API docs page does,
to allow the hash of the one inline script FastAPI's Swagger UI page carries
(``groundshare.web.docs``).  The other headers are set on every response where missing.
"""

from __future__ import annotations

from collections.abc import Mapping

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: The dashboard's (and every response's default) Content-Security-Policy, directive by directive.
CSP_DIRECTIVES: Mapping[str, str] = {
    "default-src": "'self'",
    "script-src": "'self'",  # no 'unsafe-inline', no 'unsafe-eval': the pages load only their own files
    "style-src": "'self'",  # styles come from stylesheets; scripts set styles through the DOM (CSSOM) only
    "img-src": "'self' data:",
    "font-src": "'self'",
    "connect-src": "'self'",  # the JSON API, called with relative URLs
    "object-src": "'none'",
    "base-uri": "'none'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",  # no page of ours in another site's frame (clickjacking)
}


def csp_header(directives: Mapping[str, str] = CSP_DIRECTIVES, **changes: str) -> str:
    """Return a policy header value: ``directives`` with ``changes`` (``script_src=...`` for ``script-src``)."""
    merged = dict(directives)
    merged.update({name.replace("_", "-"): value for name, value in changes.items()})
    return "; ".join(f"{name} {value}" for name, value in merged.items())


#: Headers set on every HTTP response that does not set them itself.
SECURITY_HEADERS: Mapping[str, str] = {
    "Content-Security-Policy": csp_header(),
    "X-Content-Type-Options": "nosniff",  # a JSON body is never sniffed into a script or a page
    "Referrer-Policy": "no-referrer",  # no dashboard URL (nor its hash route) leaks to another site
    "X-Frame-Options": "DENY",  # frame-ancestors 'none' for browsers that predate CSP level 2
    "Cross-Origin-Opener-Policy": "same-origin",
}


class SecurityHeadersMiddleware:
    """ASGI middleware: add ``headers`` to each HTTP response that lacks them (a response's own win)."""

    def __init__(self, app: ASGIApp, headers: Mapping[str, str] = SECURITY_HEADERS) -> None:
        self.app = app
        self.headers = dict(headers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in self.headers.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)
