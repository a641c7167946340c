"""``groundshare serve`` as a real process on loopback."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import httpx
import pytest

from tests.support.environment import free_port

pytestmark = pytest.mark.service


def test_serve_migrates_and_answers_on_loopback(tmp_path):
    port = free_port()
    url = f"sqlite:///{tmp_path / 'served.db'}"
    env = {**os.environ, "GROUNDSHARE_DATABASE_URL": url}
    server = subprocess.Popen([sys.executable, "-m", "groundshare.cli", "serve", "--port", str(port)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30.0
        docs = None
        while time.monotonic() < deadline and server.poll() is None:
            try:
                docs = httpx.get(f"http://127.0.0.1:{port}/openapi.json", timeout=1.0)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        assert docs is not None and docs.status_code == 200, server.stderr.read() if server.poll() else "no answer"
        assert "/contacts" in docs.json()["paths"]
        unauthorised = httpx.get(f"http://127.0.0.1:{port}/orgs/me", timeout=2.0)
        assert unauthorised.status_code == 401
        assert (tmp_path / "served.db").exists()
    finally:
        server.terminate()
        _, stderr = server.communicate(timeout=10)
    assert f"serving groundshare at http://127.0.0.1:{port}" in stderr
