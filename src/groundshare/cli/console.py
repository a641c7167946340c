"""What every command shares at run time: the top-level options' state, error handling and output.

Tables and JSON/CSV go to stdout; summaries, warnings, progress and errors go to stderr.
``user_errors`` turns a ``GroundshareError`` into ``error: <message>`` and exit status 1
(with the traceback only under ``--verbose``); ``needs_extras`` is how a command that
needs an extra (``groundshare.extras``) says which to install, before it imports anything.
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
from groundshare.extras import require_extras


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


def needs_extras(ctx: typer.Context, *extras: str, option: str = "") -> None:
    """Exit with ``error: groundshare <command> needs the X extra: pip install ...`` unless ``extras`` are installed.

    Called first in a command that needs an extra (its ``--help`` never gets here), so
    that nothing is done before the refusal; ``option`` names the option that asks for
    more than the command alone needs (``demo load --plan-days``).
    """
    with user_errors(ctx):
        require_extras(" ".join(filter(None, (command_name(ctx), option))), *extras)


def command_name(ctx: typer.Context) -> str:
    """Return ``groundshare schedule plan`` for the command ``ctx`` runs, however the program was started."""
    names = []
    while ctx.parent is not None:
        names.append(ctx.info_name or "")
        ctx = ctx.parent
    return " ".join(["groundshare", *reversed(names)])


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
