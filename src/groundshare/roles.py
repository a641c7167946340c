"""What a partner organisation is, and what an API token may do within it.

Plain enumerations, importable without SQLAlchemy: the store maps them to SQL columns
(``store.models``) and the command line offers their values as choices.
"""

from __future__ import annotations

from enum import StrEnum


class OrgKind(StrEnum):
    """What kind of partner an organisation is."""

    AGENCY = "agency"
    COMPANY = "company"
    UNIVERSITY = "university"


class Role(StrEnum):
    """What a token may do within its organisation."""

    ADMIN = "admin"
    OPERATOR = "operator"
    VIEWER = "viewer"
