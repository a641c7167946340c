"""A loopback HTTP proxy in front of a real ``groundshare serve`` that can alter one route's answers.

Every request goes to the real server as it came (method, path, query, token, body), and
its answer comes back as the server gave it, except the JSON answers of ``GET`` requests
to ``path``, which pass through ``tamper`` first: the agent then meets a malformed or
oversized schedule while its lease, clock and reports are the real server's.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

Tamper = Callable[[Any], Any]
FORWARDED_HEADERS = ("authorization", "content-type", "accept")


@contextmanager
def tampering_proxy(upstream: str, path: str = "", tamper: Tamper = lambda body: body, *,
                    host: str = "127.0.0.1") -> Iterator[str]:
    """Yield the base URL of a proxy to ``upstream`` that passes ``GET path`` answers through ``tamper``.

    It listens on ``host`` (loopback unless said otherwise).
    """
    client = httpx.Client(base_url=upstream, timeout=60.0)

    class Handler(BaseHTTPRequestHandler):
        def _forward(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length else None
            headers = {k: v for k, v in self.headers.items() if k.lower() in FORWARDED_HEADERS}
            answer = client.request(self.command, self.path, content=body, headers=headers)
            content = answer.content
            if self.command == "GET" and self.path.split("?")[0] == path and answer.status_code == 200:
                content = json.dumps(tamper(answer.json())).encode()
            self.send_response(answer.status_code)
            if answer.headers.get("content-type"):
                self.send_header("Content-Type", answer.headers["content-type"])
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client stopped reading, as
                self.wfile.write(content)  # the agent does past its bound

        # http.server dispatches on these names.
        do_GET = do_POST = do_DELETE = do_PATCH = _forward  # noqa: N815

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer((host, 0), Handler)
    thread = threading.Thread(target=server.serve_forever, name="api-proxy", daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        client.close()
