"""Requests are bounded before they cost anything: token first, then size; errors never echo the input.

An application of its own with small limits (1 KiB bodies, 4 KiB element uploads), so
the limits show with small requests.  The same limits against a real ``groundshare
serve`` and tens of megabytes are in ``tests/service/test_limits.py``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from groundshare.api import Settings, create_app
from groundshare.api.errors import MAX_INPUT_EXCERPT_CHARS, MAX_VALIDATION_ERRORS
from groundshare.api.limits import INLINE_JSON_BYTES, UPLOAD_ROUTES, ThreadedJsonRoute
from groundshare.data import data_path
from groundshare.store import ApiToken, Organisation, OrgKind, Role, Satellite, session_scope

MAX_BODY_BYTES = 1024
MAX_UPLOAD_BYTES = 4096
STATION = {"name": "daejeon-1", "lat_deg": 36.37, "lon_deg": 127.36}


@pytest.fixture(scope="module")
def small_app(tmp_path_factory):
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path_factory.mktemp('limits') / 'limits.db'}",
                              max_body_bytes=MAX_BODY_BYTES, max_element_upload_bytes=MAX_UPLOAD_BYTES))
    with session_scope(app.state.session_factory) as session:
        org = Organisation(name="Korea AeroSpace Administration", kind=OrgKind.AGENCY)
        session.add(org)
        session.flush()
        session.add(Satellite(org_id=org.id, norad_id=25544, name="ISS (ZARYA)", is_public=True))
        row, token = ApiToken.issue(org.id, Role.OPERATOR, label="limits")
        session.add(row)
    app.state.test_token = token
    yield app
    app.state.engine.dispose()


@pytest.fixture
def limited(small_app) -> Iterator[TestClient]:
    with TestClient(small_app) as client:
        client.headers["Authorization"] = f"Bearer {small_app.state.test_token}"
        yield client


def satellite_id(app) -> int:
    with session_scope(app.state.session_factory, write=False) as session:
        return session.query(Satellite.id).scalar()


def only_error(response, status: int) -> dict:
    assert response.status_code == status, response.text[:500]
    [error] = response.json()["detail"]
    return error


def chunks(total_bytes: int, chunk_bytes: int = 256) -> Iterator[bytes]:
    """A body without Content-Length (sent chunked), in pieces."""
    sent = 0
    while sent < total_bytes:
        piece = min(chunk_bytes, total_bytes - sent)
        sent += piece
        yield b" " * piece


def test_413_and_429_are_documented_on_every_operation(limited):
    paths = limited.get("/openapi.json").json()["paths"]
    for path, operations in paths.items():
        for method, operation in operations.items():
            assert {"413", "429", "503"} <= set(operation["responses"]), (method, path)
    assert paths["/stations"]["post"]["responses"]["429"]["description"] == (
        "Too many requests at once: retry after Retry-After seconds.")


def test_a_body_over_the_limit_is_413_by_its_content_length(limited):
    body = {**STATION, "name": "x" * 2000}
    error = only_error(limited.post("/stations", json=body), 413)
    assert error["loc"] == ["body"] and error["type"] == "too_large"
    assert error["msg"].startswith(f"the request body is too large: a request body may be at most 1 KiB "
                                   f"({MAX_BODY_BYTES} bytes), and its Content-Length is ")


def test_a_chunked_body_is_counted_as_it_arrives(limited):
    response = limited.post("/stations", content=chunks(MAX_BODY_BYTES * 4), headers={
        "Content-Type": "application/json"})
    error = only_error(response, 413)
    assert error["msg"].startswith(f"the request body is too large: a request body may be at most 1 KiB "
                                   f"({MAX_BODY_BYTES} bytes), and more than that was sent; send less in one request")
    # Under the limit, the same request is read and validated as usual.
    assert limited.post("/stations", content=b'{"name": "x"}', headers={
        "Content-Type": "application/json"}).status_code == 422


def test_no_token_is_401_before_the_size_or_the_body(limited):
    response = limited.post("/stations", content=chunks(MAX_BODY_BYTES * 4), headers={
        "Authorization": "", "Content-Type": "application/json"})
    assert only_error(response, 401)["msg"].startswith("missing Authorization header")
    response = limited.post("/stations", content=b"x" * (MAX_BODY_BYTES * 4), headers={
        "Authorization": "Bearer gs_unknown", "Content-Type": "application/json"})
    assert response.status_code in (401, 413)


def test_element_uploads_have_their_own_limit(small_app, limited):
    assert {("POST", "/satellites/{satellite_id}/elements")} == UPLOAD_ROUTES
    path = f"/satellites/{satellite_id(small_app)}/elements"
    iss = "".join(data_path("celestrak_stations_2026-05-30.tle").read_text().splitlines(keepends=True)[:3])
    assert MAX_BODY_BYTES < len(iss.encode()) * 10 < MAX_UPLOAD_BYTES
    # Over the general limit, within the upload limit: read and parsed (one good record, padded with blank lines).
    padded = iss + "\n" * (MAX_BODY_BYTES * 2)
    response = limited.post(path, content=padded, headers={"Content-Type": "text/plain"})
    assert response.status_code == 201, response.text[:500]
    error = only_error(limited.post(path, content=iss + "\n" * MAX_UPLOAD_BYTES,
                                    headers={"Content-Type": "text/plain"}), 413)
    assert error["msg"].startswith(f"the request body is too large: an element-set upload may be at most "
                                   f"4 KiB ({MAX_UPLOAD_BYTES} bytes)")
    assert error["msg"].endswith("split the element sets into several uploads")
    chunked = limited.post(path, content=chunks(MAX_UPLOAD_BYTES + 1), headers={"Content-Type": "text/plain"})
    assert only_error(chunked, 413)["type"] == "too_large"


def test_a_422_repeats_only_an_excerpt_of_the_input(tmp_path):
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'excerpt.db'}"))
    with session_scope(app.state.session_factory) as session:
        org = Organisation(name="Universidad de Chile", kind=OrgKind.UNIVERSITY)
        session.add(org)
        session.flush()
        row, token = ApiToken.issue(org.id, Role.OPERATOR)
        session.add(row)
        session.add(Satellite(org_id=org.id, norad_id=25544, name="ISS", is_public=False))
    headers = {"Authorization": f"Bearer {token}"}
    try:
        with TestClient(app) as client:
            # A string far too long for its field.
            response = client.post("/stations", json={**STATION, "name": "x" * 1_000_000}, headers=headers)
            error = only_error(response, 422)
            assert error["loc"] == ["body", "name"]
            assert error["input"] == "x" * MAX_INPUT_EXCERPT_CHARS + (
                f"… [cut: the input is longer than {MAX_INPUT_EXCERPT_CHARS} characters]")
            assert len(response.content) < 1000
            # A huge body of the wrong kind (a list, not an object): parsed in a thread, repeated in part.
            response = client.post("/stations", json=list(range(300_000)), headers=headers)
            assert response.status_code == 422 and len(response.content) < 1000
            assert response.json()["detail"][0]["input"].startswith("[0, 1, 2, 3")
            # Thousands of bad items are reported by their first ones.
            mask = [[400.0, 100.0]] * 3000
            response = client.post("/stations", json={**STATION, "horizon_mask": mask}, headers=headers)
            assert response.status_code == 422
            detail = response.json()["detail"]
            assert len(detail) == MAX_VALIDATION_ERRORS + 1 and detail[-1]["type"] == "more_errors"
            assert len(response.content) < 20_000
            # A parser quoting the line it refused quotes an excerpt of it.
            with session_scope(app.state.session_factory, write=False) as session:
                sat_id = session.query(Satellite.id).scalar()
            bad_line = "1 " + "9" * 3_000_000
            response = client.post(f"/satellites/{sat_id}/elements", content=bad_line,
                                   headers={**headers, "Content-Type": "text/plain"})
            assert response.status_code == 422, response.text[:500]
            assert len(response.content) < 5000
            # Invalid JSON larger than the inline size is still a 422 naming the position.
            broken = b'{"name": "' + b"x" * (INLINE_JSON_BYTES * 2)
            response = client.post("/stations", content=broken, headers={**headers,
                                                                        "Content-Type": "application/json"})
            assert only_error(response, 422)["type"] == "json_invalid"
    finally:
        app.state.engine.dispose()


def test_every_api_route_parses_json_in_a_worker_thread(small_app):
    api_routes = [r for r in small_app.routes if isinstance(r, APIRoute) and r.include_in_schema]
    routes = [route for router in small_app.router.routes
              for route in getattr(getattr(router, "original_router", None), "routes", [])] or api_routes
    assert len(routes) > 40
    assert all(isinstance(route, ThreadedJsonRoute) for route in routes if isinstance(route, APIRoute))
