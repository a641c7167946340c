"""``report``: an organisation's executive report for a month, a quarter or a range of days.

The figures come from the store (``report.figures.compute_report``, the same functions as
``GET /ledger`` and ``GET /reports``); JSON is written as they are, PDF and HTML through
``report.render`` (the ``report`` extra), in English, Spanish or Korean.  The file is written
beside ``--output`` and moved there once complete, so it is never half-written.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Annotated

import typer

from groundshare.cli.console import needs_extras, user_errors
from groundshare.cli.options import DatabaseUrlOpt
from groundshare.errors import InvalidInputError, NotFoundError
from groundshare.report.forms import ReportFormat, ReportLanguage

OrgOpt = Annotated[str, typer.Option("--org", metavar="NAME", show_default=False,
                                     help="Name of the organisation the report is for.")]
PeriodOpt = Annotated[str, typer.Option(
    "--period", metavar="PERIOD", show_default=False,
    help="A month (2025-11), a quarter (2025-Q4) or a range of days (2025-11-03..2025-11-17, end exclusive), UTC.")]
FormatOpt = Annotated[ReportFormat, typer.Option("--format", "-f", case_sensitive=False,
                                                 help="pdf and html need the report extra; json only the server's.")]
LangOpt = Annotated[ReportLanguage, typer.Option("--lang", case_sensitive=False, help="The document's language.")]
OutputOpt = Annotated[Path, typer.Option("--output", "-o", metavar="FILE", show_default=False, dir_okay=False,
                                         help="Where to write the report.")]


def report(ctx: typer.Context, org: OrgOpt, period: PeriodOpt, output: OutputOpt,
           fmt: FormatOpt = ReportFormat.PDF, lang: LangOpt = ReportLanguage.EN,
           database_url: DatabaseUrlOpt = None) -> None:
    """Write an organisation's executive report: contacts, reciprocity, data, stations and what is ahead."""
    if fmt is ReportFormat.JSON:
        needs_extras(ctx, "server")
    else:
        needs_extras(ctx, "server", "report")
    from groundshare.report import parse_period
    from groundshare.report.figures import compute_report, report_bytes
    from groundshare.store.admin import find_organisation, open_store

    with user_errors(ctx):
        chosen = parse_period(period)
        if not output.parent.is_dir():
            raise InvalidInputError(f"--output {output}: the folder {output.parent} does not exist; create it or "
                                    "give a file in an existing folder", loc=("--output",))
        with open_store(database_url) as session:
            found = find_organisation(session, org)
            if found is None:
                raise NotFoundError(f"no organisation is called {org!r}; groundshare admin create-org adds one "
                                    "(the names are exact, with their case)")
            data = compute_report(session, org_id=found.id, start=chosen.start, end=chosen.end,
                                  period_label=chosen.label, kind=chosen.kind).to_dict()
        content = report_bytes(data, fmt.value, lang.value)
        _write_whole(output, content)
        executed = data["contacts"]["executed"]
        typer.echo(f"report of {org} for {chosen.label} ({fmt.value}, {lang.value}) written to {output}: "
                   f"{executed} contacts executed, {data['reciprocity']['given_hours']:g} h given, "
                   f"{data['reciprocity']['received_hours']:g} h received", err=True)


def _write_whole(path: Path, content: bytes) -> None:
    """Write ``content`` beside ``path`` and move it there, so ``path`` is never half-written."""
    try:
        fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    except OSError as exc:
        raise InvalidInputError(f"--output {path}: cannot write there ({exc.strerror})", loc=("--output",)) from None
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(content)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
