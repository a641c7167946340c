"""Exports a person subscribes to: iCalendar, CSV and JSON of contacts."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/exports", tags=["exports"])
