"""The application factory: one engine and session factory per app, no module-level state.

Requests pass ``api.limits.RequestGate`` first (token and body size, before the body is
read), then the routes; errors are mapped to statuses in ``api.errors``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.routing import APIRoute

import groundshare
from groundshare.api.errors import ERROR_RESPONSES, install_error_handlers
from groundshare.api.limits import install_request_gate, use_threaded_json
from groundshare.api.routes import (
    agent,
    artifacts,
    clock,
    commanding,
    contacts,
    events,
    executive,
    exports,
    frames,
    ledger,
    leop,
    leop_evidence,
    orgs,
    policies,
    requests,
    satellites,
    satnogs,
    schedule,
    stations,
    tokens,
    uplink,
    webhooks,
)
from groundshare.api.settings import Settings
from groundshare.api.wakeups import FrameStreams, Wakeups
from groundshare.store import (
    create_engine_for,
    default_storage_url,
    init_db,
    make_session_factory,
    staging_dir_for,
    storage_from_url,
)


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
                  generate_unique_id_function=operation_id,
                  docs_url=None, redoc_url=None)  # /docs from vendored Swagger UI (groundshare.web.docs), no CDN
    app.state.settings = settings
    app.state.engine = engine
    app.state.session_factory = make_session_factory(engine)
    app.state.planning_gate = schedule.PlanningGate(settings.max_concurrent_plan_runs,
                                                    lock_dir=settings.planning_lock_dir)
    frames.check_frame_window(settings.frame_window_s)
    app.state.frame_streams = FrameStreams(settings.max_frame_streams_per_org)
    app.state.uplink_wakeups = Wakeups()  # live uplink: station relays and contact sessions (routes.commanding)
    # Contact sessions are counted per organisation apart from frame streams, with the same bound.
    app.state.contact_sessions = FrameStreams(settings.max_frame_streams_per_org)
    # Artifacts: a folder beside the SQLite file (or ./groundshare-artifacts), or what artifact_storage_url names.
    app.state.artifact_storage = storage_from_url(settings.artifact_storage_url
                                                  or default_storage_url(settings.database_url))
    app.state.artifact_staging_dir = staging_dir_for(app.state.artifact_storage)
    install_error_handlers(app)
    routers = [module.router for module in (orgs, tokens, stations, satellites, policies, requests, contacts,
                                            schedule, agent, frames, artifacts, ledger, executive, exports, clock,
                                            events, webhooks, satnogs, leop, leop_evidence, uplink, commanding)]
    for router in routers:
        use_threaded_json(router)
        app.include_router(router, responses=ERROR_RESPONSES)
    # Every request is authenticated (API routes) and bounded in size before its body is read.
    install_request_gate(app, [route for router in routers for route in router.routes], settings)
    from groundshare.web import install_dashboard  # the dashboard's static pages at /dashboard/ (no API routes)
    install_dashboard(app)
    return app
