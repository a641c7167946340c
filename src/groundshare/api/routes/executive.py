"""The executive report: ``GET /reports``, the caller's organisation's report for one period.

The figures are ``report.figures.compute_report``'s (the same store functions as ``GET /ledger``,
so the two never disagree), for the caller's organisation only; ``format=json`` returns them as
they are, ``pdf`` and ``html`` the document ``report.render`` makes of them (the ``report``
extra), in English, Spanish or Korean.  Any token may read (viewer and up).  The period is
bounded (a range at most 366 days); a bad ``period``, ``format`` or ``lang`` is a 422 naming it.
The module is not ``reports.py``: ``api.reports`` holds the CSV helpers of the ledger and exports.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from groundshare.api.deps import CurrentOrg, SessionDep
from groundshare.errors import InvalidInputError
from groundshare.extras import install_command, installed
from groundshare.report import ReportFormat, ReportLanguage, parse_period
from groundshare.report.figures import MEDIA_TYPES, compute_report, report_bytes, report_filename

router = APIRouter(prefix="/reports", tags=["reports"])



PeriodQuery = Annotated[str, Query(max_length=40, description="A month (2025-11), a quarter (2025-Q4) or a range of "
                                                             "days (2025-11-03..2025-11-17, end exclusive), UTC; "
                                                             "at most 366 days.")]
FormatQuery = Annotated[ReportFormat, Query(description="pdf (the document), html, or json (every figure).")]
LangQuery = Annotated[ReportLanguage, Query(description="The document's language: English, Spanish or Korean.")]


@router.get("", name="get_report", response_class=Response, responses={200: {
    "content": {media: {} for media in MEDIA_TYPES.values()},
    "description": "The report as an attachment (Content-Disposition), in the format asked for."}})
def get_report(session: SessionDep, org: CurrentOrg, period: PeriodQuery, format: FormatQuery = ReportFormat.PDF,
               lang: LangQuery = ReportLanguage.EN) -> Response:
    """Return the caller's organisation's executive report for ``period`` as PDF, HTML or JSON."""
    try:
        chosen = parse_period(period)
    except InvalidInputError as exc:
        raise InvalidInputError(str(exc), loc=("query", "period")) from None
    if format is not ReportFormat.JSON and not installed("report"):
        raise InvalidInputError(f"format={format.value} needs the server's report extra ({install_command('report')});"
                                " ask for format=json, or ask the operator to install it", loc=("query", "format"))
    data = compute_report(session, org_id=org.id, start=chosen.start, end=chosen.end, period_label=chosen.label,
                          kind=chosen.kind).to_dict()
    content = report_bytes(data, format.value, lang.value)
    filename = report_filename(org.name, chosen.label, format.value)
    return Response(content, media_type=MEDIA_TYPES[format.value],
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})
