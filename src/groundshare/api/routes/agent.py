"""The station agent's routes: fetch the station's schedule, report how each contact went."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/agent", tags=["agent"])
