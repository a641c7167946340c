"""``serve``: the shared network's REST API (``api.create_app``), on a database migrated first.

It needs the server extra; without the schedule extra as well it serves, and warns that
planning runs (``POST /schedule/runs``) cannot solve.
"""

from __future__ import annotations

from typing import Annotated

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


def serve(ctx: typer.Context, host: HostOpt = "127.0.0.1", port: PortOpt = 8000,
          database_url: DatabaseUrlOpt = None, max_body_bytes: MaxBodyOpt = None,
          max_element_upload_bytes: MaxUploadOpt = None) -> None:
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
        limits = {name: value for name, value in (("max_body_bytes", max_body_bytes),
                                                  ("max_element_upload_bytes", max_element_upload_bytes))
                  if value is not None}
        application = create_app(Settings(database_url=url, **limits))
        typer.echo(f"serving groundshare at http://{host}:{port} (API documentation at /docs); "
                   f"database {shown_url(url)}", err=True)
        if not installed("schedule"):
            typer.echo(f"warning: {MissingExtraError('POST /schedule/runs (planning runs)', ('schedule',))}",
                       err=True)
    uvicorn.run(application, host=host, port=port, log_level="warning")
