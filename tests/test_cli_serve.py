"""``groundshare serve`` as a real process on loopback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import httpx
import pytest

from tests.support.environment import free_port

pytestmark = pytest.mark.service


def wait_for_docs(server: subprocess.Popen, port: int, *, timeout_s: float) -> httpx.Response:
    """Return the server's OpenAPI document once it answers (it fails the test if the server stops or is silent)."""
    deadline = time.monotonic() + timeout_s
    docs = None
    while time.monotonic() < deadline and server.poll() is None:
        try:
            docs = httpx.get(f"http://127.0.0.1:{port}/openapi.json", timeout=1.0)
            break
        except httpx.TransportError:
            time.sleep(0.2)
    assert docs is not None and docs.status_code == 200, server.stderr.read() if server.poll() else "no answer"
    return docs


def test_serve_migrates_and_answers_on_loopback(tmp_path):
    port = free_port()
    url = f"sqlite:///{tmp_path / 'served.db'}"
    env = {**os.environ, "GROUNDSHARE_DATABASE_URL": url}
    server = subprocess.Popen([sys.executable, "-m", "groundshare.cli", "serve", "--port", str(port)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        docs = wait_for_docs(server, port, timeout_s=30.0)
        assert "/contacts" in docs.json()["paths"]
        unauthorised = httpx.get(f"http://127.0.0.1:{port}/orgs/me", timeout=2.0)
        assert unauthorised.status_code == 401
        assert (tmp_path / "served.db").exists()
    finally:
        server.terminate()
        _, stderr = server.communicate(timeout=10)
    assert f"serving groundshare at http://127.0.0.1:{port}" in stderr


def test_serve_with_workers_answers_and_names_them(tmp_path):
    port = free_port()
    url = f"sqlite:///{tmp_path / 'served.db'}"
    server = subprocess.Popen([sys.executable, "-m", "groundshare.cli", "serve", "--port", str(port), "--workers", "2",
                               "--database-url", url], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for_docs(server, port, timeout_s=60.0)
    finally:
        server.terminate()
        _, stderr = server.communicate(timeout=30)
    assert server.returncode == 0, stderr
    assert f"serving groundshare at http://127.0.0.1:{port}" in stderr and "2 worker processes" in stderr


def test_serve_with_workers_on_a_taken_port_exits_with_uvicorns_startup_status(tmp_path):
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    try:
        done = subprocess.run([sys.executable, "-m", "groundshare.cli", "serve", "--port", str(taken.getsockname()[1]),
                               "--workers", "2", "--database-url", f"sqlite:///{tmp_path / 'served.db'}"],
                              capture_output=True, text=True, timeout=60)
    finally:
        taken.close()
    assert done.returncode == 3, done.stderr
    assert "address already in use" in done.stderr.lower()
