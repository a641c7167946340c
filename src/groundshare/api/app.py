"""The application factory: one engine and session factory per app, no module-level state."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.routing import APIRoute

import groundshare
from groundshare.api.errors import ERROR_RESPONSES, install_error_handlers
from groundshare.api.routes import (
    agent,
    clock,
    contacts,
    exports,
    ledger,
    orgs,
    policies,
    requests,
    satellites,
    schedule,
    stations,
    tokens,
)
from groundshare.api.settings import Settings
from groundshare.store import create_engine_for, init_db, make_session_factory


def operation_id(route: APIRoute) -> str:
    """Return ``tag-name`` (e.g. ``stations-create_station``), stable for the dashboard's JS."""
    return f"{route.tags[0]}-{route.name}"


def create_app(settings: Settings | None = None) -> FastAPI:
    """Return the API application on the database of ``settings`` (created if missing)."""
    settings = settings or Settings()
    engine = create_engine_for(settings.database_url, pool_size=settings.pool_size)
    init_db(engine)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        engine.dispose()

    app = FastAPI(title="groundshare", version=groundshare.__version__, lifespan=lifespan,
                  generate_unique_id_function=operation_id)
    app.state.settings = settings
    app.state.engine = engine
    app.state.session_factory = make_session_factory(engine)
    install_error_handlers(app)
    for module in (orgs, tokens, stations, satellites, policies, requests, contacts, schedule, agent, ledger, exports,
                   clock):
        app.include_router(module.router, responses=ERROR_RESPONSES)
    from groundshare.web import install_dashboard  # the dashboard's static pages at /dashboard/ (no API routes)
    install_dashboard(app)
    return app
