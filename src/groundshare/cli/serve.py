"""``serve``: the shared network's REST API (``api.create_app``), on a database migrated first.

It needs the server extra; without the schedule extra as well it serves, and warns that
planning runs (``POST /schedule/runs``) cannot solve.  Artifacts (recordings) go to the
folder or object store of ``--artifact-storage``; ``--frame-window-s`` is how far apart two
stations' receptions of one payload may be and still be one frame.  On SIGTERM or SIGINT
the live frame streams end first, so the server does not wait for clients that never
hang up.

``--workers N`` (N > 1) serves with N processes on one socket: this process migrates the
database, binds the socket and starts N worker processes (``spawn``: each imports
groundshare afresh and builds its own application from the same ``Settings``, so nothing
is shared by accident), then only watches them.  A worker that dies is replaced; a worker
that cannot start stops them all (exit status 3, as uvicorn's own).  SIGTERM or SIGINT is
passed on to every worker, each ends its frame streams and its requests as a single
server does, and this process exits once they have (any still running after
``STOP_TIMEOUT_S`` is killed).  What each worker keeps to itself and what holds across
them is in the README's "Serving: several processes" section; planning runs are admitted
across all of them (``api.routes.schedule.PlanningGate`` with a lock folder this process
makes and removes).
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from types import FrameType
from typing import TYPE_CHECKING, Annotated, Any

import typer

from groundshare.cli.console import needs_extras, user_errors
from groundshare.cli.options import DatabaseUrlOpt
from groundshare.extras import MissingExtraError, installed

#: Largest WebSocket message the server takes, bytes: a contact session's message is one frame of at most 4 KiB as
#: hex and its name (``api.routes.commanding``); uvicorn closes the connection (1009) on a larger one.
WS_MAX_MESSAGE_BYTES = 65_536

if TYPE_CHECKING:
    from groundshare.api.settings import Settings

HostOpt = Annotated[str, typer.Option("--host", metavar="ADDRESS", help="Address to listen on.")]
PortOpt = Annotated[int, typer.Option("--port", metavar="PORT", min=1, max=65535, help="TCP port to listen on.")]
WorkersOpt = Annotated[int, typer.Option(
    "--workers", metavar="N", min=1, max=64,
    help="Server processes on the one socket (each with its own thread pool and database connections); use about "
         "one per CPU core, with PostgreSQL for more than one (SQLite serialises writers on its file).")]
MaxBodyOpt = Annotated[int | None, typer.Option(
    "--max-body-bytes", metavar="BYTES", min=1, show_default=False,
    help="Largest request body (default 8 MiB); a larger one answers 413 before it is read.")]
MaxUploadOpt = Annotated[int | None, typer.Option(
    "--max-element-upload-bytes", metavar="BYTES", min=1, show_default=False,
    help="Largest element-set upload, POST /satellites/{id}/elements (default 16 MiB); larger answers 413.")]
ArtifactStorageOpt = Annotated[str | None, typer.Option(
    "--artifact-storage", metavar="URL", show_default=False,
    help="Where artifacts (recordings) are kept: a folder, file:///folder or s3://bucket/prefix[?endpoint_url="
         "http://host:port] (the s3 extra). Default: artifacts/ beside the SQLite file, or ./groundshare-artifacts.")]
FrameWindowOpt = Annotated[float | None, typer.Option(
    "--frame-window-s", metavar="SECONDS", min=0.0, max=600.0, show_default=False,
    help="The same payload of a satellite received within this many seconds of a frame's first reception is the "
         "same frame (default 5).")]

#: Exit status of a server that could not start (uvicorn's own).
STARTUP_FAILURE = 3
#: How long the workers may take to stop after SIGTERM before they are killed, seconds.
STOP_TIMEOUT_S = 30.0
#: How often the parent checks on its workers, seconds.
WATCH_S = 0.5


def serve(ctx: typer.Context, host: HostOpt = "127.0.0.1", port: PortOpt = 8000,
          database_url: DatabaseUrlOpt = None, workers: WorkersOpt = 1, max_body_bytes: MaxBodyOpt = None,
          max_element_upload_bytes: MaxUploadOpt = None, artifact_storage: ArtifactStorageOpt = None,
          frame_window_s: FrameWindowOpt = None) -> None:
    """Serve the REST API (OpenAPI at /docs), migrating the database to this version first."""
    needs_extras(ctx, "server")
    import uvicorn

    from groundshare.api.app import create_app
    from groundshare.api.settings import Settings
    from groundshare.store import default_database_url
    from groundshare.store.admin import shown_url
    from groundshare.store.migrate import upgrade

    with user_errors(ctx):
        url = database_url if database_url is not None else default_database_url()
        upgrade(url)
        chosen = {name: value for name, value in (("max_body_bytes", max_body_bytes),
                                                  ("max_element_upload_bytes", max_element_upload_bytes),
                                                  ("artifact_storage_url", artifact_storage),
                                                  ("frame_window_s", frame_window_s))
                  if value is not None}
        settings = Settings(database_url=url, **chosen)
        application = create_app(settings)  # checks the settings here, once, before any worker starts
        storage = application.state.artifact_storage.describe()
        processes = f"; {workers} worker processes" if workers > 1 else ""
        typer.echo(f"serving groundshare at http://{host}:{port} (API documentation at /docs); "
                   f"database {shown_url(url)}; artifacts in {storage}{processes}", err=True)
        if not installed("schedule"):
            typer.echo(f"warning: {MissingExtraError('POST /schedule/runs (planning runs)', ('schedule',))}",
                       err=True)
    if workers > 1:
        application.state.engine.dispose()
        status = _serve_workers(settings, host=host, port=port, workers=workers)
        if status:
            raise typer.Exit(status)
        return
    server = _stoppable_server(uvicorn.Config(application, host=host, port=port, log_level="warning",
                                              ws_max_size=WS_MAX_MESSAGE_BYTES),
                               on_exit=application.state.frame_streams.stopping.set)
    server.run()
    if not server.started:
        raise typer.Exit(STARTUP_FAILURE)  # uvicorn's own start-up failure status (it logged why)


def _stoppable_server(config: Any, *, on_exit: Callable[[], None]) -> Any:
    """Return uvicorn's server for ``config`` that calls ``on_exit`` when asked to stop, before it waits for clients."""
    import uvicorn

    class StoppableServer(uvicorn.Server):
        def handle_exit(self, sig: int, frame: FrameType | None) -> None:
            on_exit()
            super().handle_exit(sig, frame)

    return StoppableServer(config)


@dataclass(frozen=True)
class WorkerSpec:
    """What one worker process needs to serve (picklable: it crosses to a ``spawn``-ed process)."""

    settings: Settings
    host: str
    port: int
    index: int


def run_worker(spec: WorkerSpec, sock: socket.socket) -> None:
    """Serve ``spec``'s application on the parent's bound socket ``sock`` (a worker process's entry point)."""
    import uvicorn

    from groundshare.api.app import create_app

    application = create_app(spec.settings)
    server = _stoppable_server(uvicorn.Config(application, host=spec.host, port=spec.port, log_level="warning",
                                              ws_max_size=WS_MAX_MESSAGE_BYTES),
                               on_exit=application.state.frame_streams.stopping.set)
    server.run(sockets=[sock])
    if not server.started:
        sys.exit(STARTUP_FAILURE)


def _serve_workers(settings: Settings, *, host: str, port: int, workers: int) -> int:
    """Serve with ``workers`` processes on one socket until SIGTERM/SIGINT; return the exit status."""
    import uvicorn

    config = uvicorn.Config("groundshare.api.app:create_app", host=host, port=port, log_level="warning")
    try:
        sock = config.bind_socket()
    except SystemExit:  # uvicorn logged why (the address is in use, or not ours)
        return STARTUP_FAILURE
    lock_dir = tempfile.mkdtemp(prefix="groundshare-serve-")
    # Planning runs are admitted across the workers: their gate keeps its places as file locks in this folder.
    settings = replace(settings, planning_lock_dir=lock_dir)
    multiprocessing.allow_connection_pickling()  # the bound socket is handed to each worker
    spawn = multiprocessing.get_context("spawn")
    stop = threading.Event()

    def on_signal(_sig: int, _frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}

    def start(index: int) -> multiprocessing.process.BaseProcess:
        process = spawn.Process(target=run_worker, args=(WorkerSpec(settings, host, port, index), sock),
                                name=f"groundshare-serve-worker-{index}")
        process.start()
        return process

    status = 0
    processes = [start(i) for i in range(workers)]
    try:
        while not stop.wait(WATCH_S):
            for i, process in enumerate(processes):
                if process.is_alive():
                    continue
                if process.exitcode == STARTUP_FAILURE:
                    typer.echo(f"error: worker {i} (pid {process.pid}) could not start; stopping the others", err=True)
                    status = STARTUP_FAILURE
                    stop.set()
                    break
                typer.echo(f"warning: worker {i} (pid {process.pid}) exited with status {process.exitcode}; "
                           "starting another", err=True)
                processes[i] = start(i)
    finally:
        _stop_all(processes)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        sock.close()
        shutil.rmtree(lock_dir, ignore_errors=True)
    return status


def _stop_all(processes: list[multiprocessing.process.BaseProcess]) -> None:
    """SIGTERM every live worker (each ends its frame streams and requests), then kill those still running."""
    for process in processes:
        if process.is_alive() and process.pid is not None:
            os.kill(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT_S
    for process in processes:
        process.join(max(0.0, deadline - time.monotonic()))
    for process in processes:
        if process.is_alive():
            typer.echo(f"warning: worker pid {process.pid} did not stop within {STOP_TIMEOUT_S:g} s; killing it",
                       err=True)
            process.kill()
            process.join()
