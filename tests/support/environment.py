"""The machine the tests run on: CI or not, what to do without a program they need, free ports."""

from __future__ import annotations

import os
import socket
import subprocess
from typing import NoReturn

import pytest


def in_ci() -> bool:
    """Return whether the tests run under CI (``CI`` set and not ``0``/``false``/``no``)."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def unavailable(message: str, *, what: str) -> NoReturn:
    """Skip the test with ``message``, or fail it under CI, where ``what`` must run rather than skip."""
    if in_ci():
        pytest.fail(f"{message}\n(CI is set, so {what} must run rather than skip)", pytrace=False)
    pytest.skip(message)


def free_port() -> int:
    """Return a TCP port of 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop_process(process: subprocess.Popen | None, timeout_s: float = 5.0) -> None:
    """Ask ``process`` to end (SIGTERM), and kill it if it has not within ``timeout_s``."""
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
