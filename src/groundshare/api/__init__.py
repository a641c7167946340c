"""The shared network's REST API: ``create_app(settings)`` builds the FastAPI application."""

from groundshare.api.app import create_app
from groundshare.api.settings import Settings

__all__ = ["Settings", "create_app"]
