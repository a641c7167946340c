"""The partner ledger: hours of each organisation's antennas used by each other organisation."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/ledger", tags=["ledger"])
