"""The application itself: OpenAPI, operation ids, one unit of work per request, error mapping."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from groundshare.api import Settings, create_app
from groundshare.api.deps import SessionDep
from groundshare.api.errors import response_for
from groundshare.errors import ConflictError, GroundshareError
from groundshare.store import Organisation, OrgKind


def test_openapi_operation_ids_are_tag_name(client):
    response = client.get("/openapi.json")
    assert response.status_code == 200
    ops = [(op["tags"][0], op["operationId"]) for path in response.json()["paths"].values() for op in path.values()]
    assert all(op_id.startswith(f"{tag}-") for tag, op_id in ops)
    assert len({op_id for _, op_id in ops}) == len(ops)
    assert ("contacts", "contacts-book_contact") in ops


@pytest.fixture
def scratch_app(tmp_path):
    """An application of its own (SQLite) with two extra routes that write, then succeed or fail."""
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'scratch.db'}"))

    @app.post("/test/ok", tags=["test"])
    def write_ok(session: SessionDep) -> dict[str, int]:
        session.add(Organisation(name="ok", kind=OrgKind.COMPANY))
        return {"ok": 1}

    @app.post("/test/fail", tags=["test"])
    def write_then_fail(session: SessionDep) -> dict[str, int]:
        session.add(Organisation(name="half-written", kind=OrgKind.COMPANY))
        session.flush()
        raise ConflictError("refused after writing")

    yield app
    app.state.engine.dispose()


def test_one_unit_of_work_per_request(scratch_app):
    client = TestClient(scratch_app)
    assert client.post("/test/ok").status_code == 200
    failed = client.post("/test/fail")
    assert failed.status_code == 409
    assert failed.json() == {"detail": [{"loc": [], "msg": "refused after writing", "type": "conflict"}]}
    with scratch_app.state.session_factory() as session:
        assert session.scalars(select(Organisation.name)).all() == ["ok"]
        assert session.scalar(select(func.count()).select_from(Organisation)) == 1


def test_unmapped_error_is_500_without_internals():
    response = response_for(GroundshareError("secret internals at /srv/app.py line 3"))
    assert response.status_code == 500
    assert b"secret" not in response.body and b"internal server error" in response.body


def test_busy_database_is_503():
    import sqlite3

    exc = OperationalError("INSERT", {}, sqlite3.OperationalError("database is locked"))
    response = response_for(exc)
    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"
