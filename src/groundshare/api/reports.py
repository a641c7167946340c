"""Shared pieces of the report routes (ledger, exports): CSV written safely for spreadsheets.

A text cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is
prefixed with ``'`` so that a spreadsheet opening the file shows it as text instead of
running it as a formula (CSV injection; names and notes are typed by partners).  Numbers
and times are written as they are.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

from fastapi import Response

#: First characters that make a spreadsheet read a cell as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_text(value: str) -> str:
    """Return ``value`` safe to open in a spreadsheet (prefixed with ``'`` when it would be a formula)."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def csv_response(header: Sequence[str], rows: Iterable[Sequence[Any]], filename: str) -> Response:
    """Return a ``text/csv`` response: a header row, then ``rows``; CRLF line ends (RFC 4180)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})
