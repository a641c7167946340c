"""Sharing policies: a station owner's grants of its antennas to partner organisations."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/policies", tags=["policies"])
