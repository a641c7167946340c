"""Contact requests: what an organisation asks the network for."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/requests", tags=["requests"])
