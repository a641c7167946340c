"""The API docs (``/docs``): FastAPI's Swagger UI page on the vendored swagger-ui-dist, no CDN.

A station network may have no route to the Internet, so the page loads Swagger UI's
script, stylesheet and favicon from the dashboard's ``vendor/swagger-ui/`` folder
(``static/vendor/README.md`` says where they come from).  FastAPI's page starts Swagger
UI with one inline script; its SHA-256 goes into the page's own Content-Security-Policy,
the only script allowed besides the server's own files.  ReDoc is not served: its
standalone bundle injects inline styles and starts web workers from ``blob:`` URLs, which
that policy refuses, and Swagger UI already shows the whole schema.

``create_app`` turns FastAPI's own docs routes off (``docs_url=None, redoc_url=None``)
and ``install_docs`` adds this one.
"""

from __future__ import annotations

import base64
import hashlib
import re

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse

from groundshare.web.security import csp_header

#: Where the API docs live in the URL space.
DOCS_PATH = "/docs"

#: The vendored Swagger UI, below the dashboard's static mount.
SWAGGER_UI_ASSETS = "/dashboard/vendor/swagger-ui"

#: Swagger UI's settings on top of FastAPI's defaults: no schema validator badge (it would call out).
SWAGGER_UI_PARAMETERS = {"validatorUrl": None}

_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)


def script_hashes(html: str) -> list[str]:
    """Return the CSP source (``'sha256-…'``) of each inline ``<script>`` (one without attributes) in ``html``."""
    return [f"'sha256-{base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()}'"
            for body in _INLINE_SCRIPT.findall(html)]


def swagger_ui_page(openapi_url: str, title: str, root_path: str = "") -> HTMLResponse:
    """Return FastAPI's Swagger UI page on the vendored assets, with a policy allowing its inline script."""
    page = get_swagger_ui_html(
        openapi_url=root_path + openapi_url,
        title=title,
        swagger_js_url=f"{root_path}{SWAGGER_UI_ASSETS}/swagger-ui-bundle.js",
        swagger_css_url=f"{root_path}{SWAGGER_UI_ASSETS}/swagger-ui.css",
        swagger_favicon_url=f"{root_path}{SWAGGER_UI_ASSETS}/favicon-32x32.png",
        swagger_ui_parameters=SWAGGER_UI_PARAMETERS,
    )
    html = bytes(page.body).decode()
    policy = csp_header(script_src=" ".join(["'self'", *script_hashes(html)]))
    return HTMLResponse(html, headers={"Content-Security-Policy": policy})


def install_docs(app: FastAPI) -> None:
    """Serve Swagger UI at ``/docs`` from the vendored assets (kept out of the schema); no-op without a schema."""
    if app.openapi_url is None:
        return
    openapi_url = app.openapi_url
    title = f"{app.title} API docs"

    @app.get(DOCS_PATH, include_in_schema=False, tags=["docs"])  # a tag: create_app names operations by it
    def api_docs(request: Request) -> HTMLResponse:
        return swagger_ui_page(openapi_url, title, root_path=request.scope.get("root_path", "").rstrip("/"))
