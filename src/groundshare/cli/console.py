"""What every command shares at run time: the top-level options' state, error handling and output.

Tables and JSON/CSV go to stdout; summaries, warnings, progress and errors go to stderr.
``user_errors`` turns a ``GroundshareError`` into ``error: <message>`` and exit status 1
(with the traceback only under ``--verbose``).
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

import typer

from groundshare.errors import GroundshareError


@dataclass(frozen=True)
class CliState:
    """Options of the top-level callback, shared with every command through ``ctx.obj``."""

    verbose: bool = False


@contextmanager
def user_errors(ctx: typer.Context) -> Iterator[None]:
    """Turn a ``GroundshareError`` into ``error: <message>`` on stderr and exit status 1."""
    try:
        yield
    except GroundshareError as exc:
        state = ctx.find_root().obj
        if isinstance(state, CliState) and state.verbose:
            typer.echo(traceback.format_exc().rstrip(), err=True)
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None


def write_stdout(text: str) -> None:
    """Write ``text`` to stdout; a closed pipe (``| head``) is not an error."""
    if text and not text.endswith("\n"):
        text += "\n"
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:
        # Point stdout at /dev/null so that the flush at exit does not fail again
        # (the recipe of Python's signal documentation), then go on to stderr.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


def count(n: float, noun: str) -> str:
    """Return ``"1 pass"``, ``"3 passes"``, ``"0.25 days"``."""
    plural = noun + ("es" if noun.endswith("s") else "s")
    return f"{n:g} {noun if n == 1 else plural}"


def clock_text(value: datetime) -> str:
    """Return ``YYYY-MM-DD HH:MM:SS``, rounded to the nearest second."""
    return (value + timedelta(microseconds=500_000)).strftime("%Y-%m-%d %H:%M:%S")
