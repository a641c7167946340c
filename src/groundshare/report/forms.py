"""The forms a report comes in: its format and its language (the command line and the API take the same)."""

from __future__ import annotations

from enum import StrEnum


class ReportFormat(StrEnum):
    """pdf: the document; html: the same as one web page; json: every figure the document shows."""

    PDF = "pdf"
    HTML = "html"
    JSON = "json"


class ReportLanguage(StrEnum):
    """The partners' languages, each with a catalogue in ``report/i18n``."""

    EN = "en"
    ES = "es"
    KO = "ko"
