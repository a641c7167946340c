"""``serve``: the shared network's REST API (``api.create_app``), on a database migrated first.

It needs the server extra; without the schedule extra as well it serves, and warns that
planning runs (``POST /schedule/runs``) cannot solve.  Artifacts (recordings) go to the
folder or object store of ``--artifact-storage``; ``--frame-window-s`` is how far apart two
stations' receptions of one payload may be and still be one frame.  On SIGTERM or SIGINT
the live frame streams end first, so the server does not wait for clients that never
hang up.
"""

from __future__ import annotations

from collections.abc import Callable
from types import FrameType
from typing import Annotated, Any

import typer

from groundshare.cli.console import needs_extras, user_errors
from groundshare.cli.options import DatabaseUrlOpt
from groundshare.extras import MissingExtraError, installed

HostOpt = Annotated[str, typer.Option("--host", metavar="ADDRESS", help="Address to listen on.")]
PortOpt = Annotated[int, typer.Option("--port", metavar="PORT", min=1, max=65535, help="TCP port to listen on.")]
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


def serve(ctx: typer.Context, host: HostOpt = "127.0.0.1", port: PortOpt = 8000,
          database_url: DatabaseUrlOpt = None, max_body_bytes: MaxBodyOpt = None,
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
        application = create_app(Settings(database_url=url, **chosen))
        typer.echo(f"serving groundshare at http://{host}:{port} (API documentation at /docs); "
                   f"database {shown_url(url)}; artifacts in {application.state.artifact_storage.describe()}",
                   err=True)
        if not installed("schedule"):
            typer.echo(f"warning: {MissingExtraError('POST /schedule/runs (planning runs)', ('schedule',))}",
                       err=True)
    server = _stoppable_server(uvicorn.Config(application, host=host, port=port, log_level="warning"),
                               on_exit=application.state.frame_streams.stopping.set)
    server.run()
    if not server.started:
        raise typer.Exit(3)  # uvicorn's own start-up failure status (it logged why)


def _stoppable_server(config: Any, *, on_exit: Callable[[], None]) -> Any:
    """Return uvicorn's server for ``config`` that calls ``on_exit`` when asked to stop, before it waits for clients."""
    import uvicorn

    class StoppableServer(uvicorn.Server):
        def handle_exit(self, sig: int, frame: FrameType | None) -> None:
            on_exit()
            super().handle_exit(sig, frame)

    return StoppableServer(config)
