"""The dashboard: a static front end (plain ES modules, vendored d3) served by the API's own app.

``install_dashboard(app)`` mounts ``static/`` at ``/dashboard/`` (``index.html`` there),
redirects ``GET /`` to it, serves the API docs at ``/docs`` on the vendored Swagger UI
(``web.docs``) and adds the security headers to every response (``web.security``: a
Content-Security-Policy allowing the server's own scripts only, ``frame-ancestors
'none'``, ``nosniff``, ``no-referrer``).  None of these appears in the OpenAPI schema.  The
pages call the JSON API with relative URLs and the user's bearer token, so they work
behind any host and port, and with no network beyond the server (no CDN, no map tiles).
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles

from groundshare.web.docs import DOCS_PATH, install_docs
from groundshare.web.security import SECURITY_HEADERS, SecurityHeadersMiddleware

__all__ = ["DASHBOARD_PATH", "DOCS_PATH", "SECURITY_HEADERS", "install_dashboard", "static_dir"]

#: Where the dashboard lives in the URL space.
DASHBOARD_PATH = "/dashboard"


def static_dir() -> Path:
    """Return the folder of the dashboard's static files (shipped as package data)."""
    return Path(str(files(__package__) / "static"))


def install_dashboard(app: FastAPI) -> None:
    """Serve the dashboard at ``/dashboard/`` and the docs at ``/docs``, redirect ``/``, add the security headers."""
    app.mount(DASHBOARD_PATH, StaticFiles(directory=static_dir(), html=True), name="dashboard")

    @app.get("/", include_in_schema=False, tags=["dashboard"])  # a tag: create_app names operations by it
    def dashboard_redirect() -> RedirectResponse:
        return RedirectResponse(f"{DASHBOARD_PATH}/", status_code=307)

    install_docs(app)
    app.add_middleware(SecurityHeadersMiddleware)
