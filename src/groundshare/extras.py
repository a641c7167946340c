"""The optional parts of groundshare: which extra brings which modules, and whether it is installed.

``pip install groundshare`` is the numeric core: element sets, passes, link budgets,
Doppler and GNSS planning, on numpy, sgp4, itur, Typer and Rich.  The rest comes in the
extras of ``pyproject.toml``, named here by the modules they install:

- ``server``: the store and the REST API (SQLAlchemy, psycopg, Alembic, FastAPI, uvicorn and
  websockets for its WebSocket sessions, icalendar, and spacetrack for Space-Track's element
  sets) for ``serve``, ``db``, ``admin``, ``demo`` and ``elements sync``;
- ``schedule``: OR-Tools' CP-SAT for ``schedule solve`` and, with ``server``, ``schedule
  plan``, ``demo load --plan-days`` and the server's planning runs;
- ``agent``: httpx, the station agent's API client, for ``agent``, ``inhibit`` and ``track``;
- ``dask``: Dask distributed, for ``passes --cluster``;
- ``parquet``: pyarrow, for ``passes --output`` (a partitioned Parquet dataset) and reading it back;
- ``decoders``: satnogs-decoders (AGPL-3.0), frames decoded into telemetry;
- ``s3``: boto3, artifacts kept in an S3-compatible object store;
- ``report``: Typst, Matplotlib, Jinja2 and Babel, the executive report as PDF and HTML (``report``);
- ``fast``: numba, the pass search's refinement compiled (same passes, 1.6-1.9 times as fast).

``require_extras`` is how a command that needs one refuses to start without it, naming
the ``pip install`` to run.  The check looks modules up (``importlib.util.find_spec``)
without importing them, so it costs nothing.
"""

from __future__ import annotations

from importlib.util import find_spec

from groundshare.errors import GroundshareError

#: The top-level modules each extra installs (tests/test_extras.py holds this to pyproject.toml).
EXTRAS: dict[str, tuple[str, ...]] = {
    "server": ("alembic", "fastapi", "icalendar", "psycopg", "python_multipart", "spacetrack", "sqlalchemy", "uvicorn",
               "websockets"),
    "schedule": ("ortools",),
    "agent": ("httpx",),
    "dask": ("dask", "distributed"),
    "parquet": ("pyarrow",),
    "decoders": ("satnogsdecoders",),
    "s3": ("boto3",),
    "report": ("babel", "jinja2", "matplotlib", "typst"),
    "fast": ("numba",),
}


class MissingExtraError(GroundshareError):
    """A command needs an extra that is not installed; the message says what to install."""

    def __init__(self, what: str, extras: tuple[str, ...]) -> None:
        names = " and ".join(extras)
        super().__init__(f"{what} needs the {names} extra{'s' if len(extras) > 1 else ''}: "
                         f"{install_command(*extras)}")
        self.extras = extras


def installed(extra: str) -> bool:
    """Return whether every module of ``extra`` (a key of ``EXTRAS``) can be imported."""
    return all(find_spec(module) is not None for module in EXTRAS[extra])


def install_command(*extras: str) -> str:
    """Return ``pip install 'groundshare[server,schedule]'`` for ``extras``."""
    return f"pip install 'groundshare[{','.join(extras)}]'"


def require_extras(what: str, *extras: str) -> None:
    """Raise ``MissingExtraError`` naming those of ``extras`` not installed; ``what`` is what needs them.

    >>> require_extras("groundshare passes")
    """
    missing = tuple(extra for extra in extras if not installed(extra))
    if missing:
        raise MissingExtraError(what, missing)
