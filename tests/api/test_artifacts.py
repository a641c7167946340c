"""Artifacts through the API: a station's recordings uploaded whole or resumably, checked, and downloaded.

Each test keeps the artifacts in a folder of its own (the application's storage pointed at
``tmp_path``), so nothing is written beside the PostgreSQL tests' working folder.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from groundshare.store import Role
from groundshare.store.artifact_storage import DirectoryStorage, staging_dir_for

PASS_START = datetime(2030, 5, 1, 3, 0, tzinfo=UTC)
RECORDING = bytes(range(256)) * 1000  # 256,000 bytes
SHA = hashlib.sha256(RECORDING).hexdigest()


def iso(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def book(client, org, antenna_id, satellite_id):
    body = {"antenna_id": antenna_id, "satellite_id": satellite_id, "start": iso(PASS_START),
            "end": iso(PASS_START + timedelta(minutes=10)), "allow_outside_pass": True}
    response = client.post("/contacts", json=body, headers=org.auth())
    assert response.status_code == 201, response.text
    return response.json()["id"]


def put(client, contact_id, org, data, *, name="pass.wav", sha256=SHA, content_range=None, role=Role.OPERATOR):
    headers = {**org.auth(role), "Content-Type": "application/octet-stream"}
    if sha256 is not None:
        headers["X-Content-SHA256"] = sha256
    if content_range is not None:
        headers["Content-Range"] = content_range
    return client.put(f"/agent/contacts/{contact_id}/artifacts/{name}", content=data, headers=headers)


def chunk(data, start, end):
    """Return (body, Content-Range) of bytes [start, end) of ``data``."""
    return data[start:end], f"bytes {start}-{end - 1}/{len(data)}"


@pytest.fixture
def storage(app, tmp_path) -> Iterator[DirectoryStorage]:
    """The application's artifact folder for this test (put back after it)."""
    folder = DirectoryStorage(tmp_path / "artifacts")
    before = app.state.artifact_storage, app.state.artifact_staging_dir
    app.state.artifact_storage, app.state.artifact_staging_dir = folder, staging_dir_for(folder)
    try:
        yield folder
    finally:
        app.state.artifact_storage, app.state.artifact_staging_dir = before


@pytest.fixture
def contacts(client, world, storage):
    k, a = world.kasa, world.aem
    return {"kasa_own": book(client, k, k.unshared_antenna_id, k.satellite_id),  # private satellite
            "kasa_hears_aem": book(client, a, k.antenna_id, a.satellite_id)}  # public satellite, kasa's antenna


def stored_files(storage):
    return sorted(p.name for p in storage.root.rglob("*") if p.is_file() and ".staging" not in p.parts)


def test_a_whole_file_is_stored_listed_and_downloaded(client, world, contacts, storage):
    contact_id = contacts["kasa_own"]
    response = put(client, contact_id, world.kasa, RECORDING)
    assert response.status_code == 201, response.text
    artifact = response.json()
    assert artifact | {"created_at": None} == {"name": "pass.wav", "size_bytes": len(RECORDING), "sha256": SHA,
                                               "created_at": None,
                                               "url": f"/contacts/{contact_id}/artifacts/pass.wav"}
    assert stored_files(storage) == [SHA]

    listed = client.get(f"/contacts/{contact_id}/artifacts", headers=world.kasa.auth(Role.VIEWER)).json()
    assert listed["count"] == 1 and listed["data"][0]["sha256"] == SHA
    download = client.get(artifact["url"], headers=world.kasa.auth())
    assert download.status_code == 200
    assert download.content == RECORDING
    assert download.headers["content-type"] == "application/octet-stream"
    assert download.headers["etag"] == f'"{SHA}"'
    assert download.headers["content-disposition"] == 'attachment; filename="pass.wav"'
    cached = client.get(artifact["url"], headers={**world.kasa.auth(), "If-None-Match": f'"{SHA}"'})
    assert cached.status_code == 304 and cached.content == b""


def test_a_file_uploads_in_chunks_and_resumes_where_it_stands(client, world, contacts, storage):
    contact_id, k = contacts["kasa_own"], world.kasa
    state_url = f"/agent/contacts/{contact_id}/artifacts/pass.wav/upload"
    assert client.get(state_url, params={"sha256": SHA}, headers=k.auth()).json() == {
        "received_bytes": 0, "total_bytes": None, "complete": False}

    first = put(client, contact_id, k, *chunk(RECORDING, 0, 100_000)[:1],
                content_range=chunk(RECORDING, 0, 100_000)[1])
    assert first.status_code == 202, first.text
    assert first.json() == {"received_bytes": 100_000, "total_bytes": len(RECORDING)}
    # The agent lost the answer and resends the first chunk: 409 naming where to go on.
    body, content_range = chunk(RECORDING, 0, 100_000)
    again = put(client, contact_id, k, body, content_range=content_range)
    assert again.status_code == 409 and "offset 100000" in again.json()["detail"][0]["msg"]
    # A chunk skipping ahead is refused the same way.
    body, content_range = chunk(RECORDING, 200_000, len(RECORDING))
    assert put(client, contact_id, k, body, content_range=content_range).status_code == 409
    assert client.get(state_url, params={"sha256": SHA}, headers=k.auth()).json() == {
        "received_bytes": 100_000, "total_bytes": len(RECORDING), "complete": False}
    assert stored_files(storage) == []

    body, content_range = chunk(RECORDING, 100_000, 200_000)
    assert put(client, contact_id, k, body, content_range=content_range).status_code == 202
    body, content_range = chunk(RECORDING, 200_000, len(RECORDING))
    last = put(client, contact_id, k, body, content_range=content_range)
    assert last.status_code == 201 and last.json()["sha256"] == SHA
    assert client.get(state_url, params={"sha256": SHA}, headers=k.auth()).json() == {
        "received_bytes": len(RECORDING), "total_bytes": len(RECORDING), "complete": True}
    assert client.get(last.json()["url"], headers=k.auth()).content == RECORDING


def test_a_sha256_mismatch_is_refused_and_nothing_is_stored(client, world, contacts, storage):
    contact_id, k = contacts["kasa_own"], world.kasa
    corrupted = RECORDING[:-1] + b"\x00"
    response = put(client, contact_id, k, corrupted)
    assert response.status_code == 422, response.text
    error = response.json()["detail"][0]
    assert error["loc"] == ["header", "X-Content-SHA256"] and "nothing was stored" in error["msg"]
    # Chunked, the last chunk finds the mismatch: nothing stored, the upload begins again at 0.
    body, content_range = chunk(corrupted, 0, 128_000)
    assert put(client, contact_id, k, body, content_range=content_range).status_code == 202
    body, content_range = chunk(corrupted, 128_000, len(corrupted))
    assert put(client, contact_id, k, body, content_range=content_range).status_code == 422
    assert client.get(f"/contacts/{contact_id}/artifacts", headers=k.auth()).json() == {"data": [], "count": 0}
    assert stored_files(storage) == []
    state = client.get(f"/agent/contacts/{contact_id}/artifacts/pass.wav/upload", params={"sha256": SHA},
                       headers=k.auth()).json()
    assert state["received_bytes"] == 0 and state["complete"] is False
    assert client.get(f"/contacts/{contact_id}/artifacts/pass.wav", headers=k.auth()).status_code == 404


def test_the_same_file_again_is_idempotent_and_another_under_its_name_is_409(client, world, contacts, storage):
    contact_id, k = contacts["kasa_own"], world.kasa
    assert put(client, contact_id, k, RECORDING).status_code == 201
    again = put(client, contact_id, k, RECORDING)
    assert again.status_code == 201 and again.json()["sha256"] == SHA
    other = b"another recording"
    clash = put(client, contact_id, k, other, sha256=hashlib.sha256(other).hexdigest())
    assert clash.status_code == 409 and "another name" in clash.json()["detail"][0]["msg"]
    # The same content under a second name is a second artifact, one file in the storage.
    assert put(client, contact_id, k, RECORDING, name="copy.wav").status_code == 201
    assert client.get(f"/contacts/{contact_id}/artifacts", headers=k.auth()).json()["count"] == 2
    assert stored_files(storage) == [SHA]


def test_an_empty_file_is_an_artifact(client, world, contacts):
    empty_sha = hashlib.sha256(b"").hexdigest()
    response = put(client, contacts["kasa_own"], world.kasa, b"", name="empty.log", sha256=empty_sha)
    assert response.status_code == 201 and response.json()["size_bytes"] == 0


def test_uploads_are_the_antenna_owners_agents(client, world, contacts, storage):
    assert put(client, contacts["kasa_own"], world.uni, RECORDING).status_code == 404
    assert put(client, 999_999, world.kasa, RECORDING).status_code == 404
    partner = put(client, contacts["kasa_hears_aem"], world.aem, RECORDING)
    assert partner.status_code == 403 and "antenna owner" in partner.json()["detail"][0]["msg"]
    assert put(client, contacts["kasa_own"], world.kasa, RECORDING, role=Role.VIEWER).status_code == 403
    assert client.get(f"/agent/contacts/{contacts['kasa_own']}/artifacts/pass.wav/upload", params={"sha256": SHA},
                      headers=world.uni.auth()).status_code == 404
    assert stored_files(storage) == []


def test_who_may_read_artifacts(client, world, contacts):
    k, a, u = world.kasa, world.aem, world.uni
    assert put(client, contacts["kasa_own"], k, RECORDING).status_code == 201
    assert put(client, contacts["kasa_hears_aem"], k, RECORDING).status_code == 201
    public_url = f"/contacts/{contacts['kasa_hears_aem']}/artifacts/pass.wav"
    private_url = f"/contacts/{contacts['kasa_own']}/artifacts/pass.wav"
    # A public satellite's: the antenna owner, the operator, everyone else.
    for org in (k, a, u):
        assert client.get(public_url, headers=org.auth(Role.VIEWER)).content == RECORDING
    # A private satellite's: its operator (here also the antenna owner); others 404.
    assert client.get(private_url, headers=k.auth()).status_code == 200
    for org in (a, u):
        assert client.get(private_url, headers=org.auth()).status_code == 404
        assert client.get(f"/contacts/{contacts['kasa_own']}/artifacts", headers=org.auth()).status_code == 404
    assert client.get(f"/contacts/{contacts['kasa_own']}/artifacts/other.wav", headers=k.auth()).status_code == 404


@pytest.mark.parametrize(("headers", "loc"), [
    ({"X-Content-SHA256": None}, ["header", "X-Content-SHA256"]),
    ({"X-Content-SHA256": "abc"}, ["header", "X-Content-SHA256"]),
    ({"X-Content-SHA256": "g" * 64}, ["header", "X-Content-SHA256"]),
    ({"Content-Range": "bytes 0-9"}, ["header", "Content-Range"]),
    ({"Content-Range": "bytes=0-9/10"}, ["header", "Content-Range"]),
    ({"Content-Range": "bytes 5-2/10"}, ["header", "Content-Range"]),
    ({"Content-Range": "bytes 0-10/10"}, ["header", "Content-Range"]),
    ({"Content-Range": "bytes 0-3/10"}, ["header", "Content-Range"]),  # 4 bytes announced, 10 sent
    ({"Content-Range": "bytes 0-9/99999999999999"}, ["header", "Content-Range"]),  # over max_artifact_bytes
])
def test_bad_upload_headers_are_422_naming_the_header(client, world, contacts, headers, loc):
    sha = headers.get("X-Content-SHA256", hashlib.sha256(b"0123456789").hexdigest())
    response = put(client, contacts["kasa_own"], world.kasa, b"0123456789", sha256=sha,
                   content_range=headers.get("Content-Range"))
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"][:2] == loc


@pytest.mark.parametrize("name", [".hidden", "a%20b", "x" * 201, "a;b"])
def test_bad_artifact_names_are_refused(client, world, contacts, name):
    response = put(client, contacts["kasa_own"], world.kasa, b"data", sha256=hashlib.sha256(b"data").hexdigest(),
                   name=name)
    assert response.status_code == 422, response.text


def test_a_chunk_over_the_body_limit_is_413(client, app, world, contacts, storage):
    limit = app.state.settings.max_body_bytes
    response = put(client, contacts["kasa_own"], world.kasa, b"\x00" * (limit + 1), content_range=(
        f"bytes 0-{limit}/{limit + 10}"))
    assert response.status_code == 413
    assert response.json()["detail"][0]["type"] == "too_large"
    assert stored_files(storage) == []
