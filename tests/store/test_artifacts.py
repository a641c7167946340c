"""Artifacts (``store.artifacts``, ``store.artifact_storage``): storage on disk and in S3, resumable uploads.

S3 is moto's ``ThreadedMotoServer``: a real S3 HTTP server on a local port, spoken to by
boto3 as to any S3-compatible store.  Upload tests run on SQLite and PostgreSQL.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from groundshare.errors import ConflictError, InvalidInputError, NotFoundError
from groundshare.extras import MissingExtraError
from groundshare.store import (
    Artifact,
    ArtifactUpload,
    Contact,
    DirectoryStorage,
    S3Storage,
    append_chunk,
    artifact_get,
    artifact_list,
    begin_or_resume,
    default_storage_url,
    session_scope,
    staging_dir_for,
    storage_from_url,
    upload_state,
)
from groundshare.store import artifact_storage as storage_module
from tests.support.worlds import Network

AOS = datetime(2025, 11, 7, 10, 0, tzinfo=UTC)
CONTENT = bytes(range(256)) * 40  # 10,240 bytes
SHA = hashlib.sha256(CONTENT).hexdigest()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


# -- storage ---------------------------------------------------------------------------------------------------


def test_a_folder_stores_content_once_under_its_sha256(tmp_path):
    storage = DirectoryStorage(tmp_path / "store")
    key = storage.put_file(write(tmp_path / "a.wav", CONTENT), SHA)
    assert key == f"{SHA[:2]}/{SHA}"
    assert (tmp_path / "store" / SHA[:2] / SHA).read_bytes() == CONTENT
    assert storage.put_file(write(tmp_path / "b.wav", CONTENT), SHA) == key  # same content: the same file
    assert [p.name for p in (tmp_path / "store").rglob("*") if p.is_file()] == [SHA]  # no temporary file left
    assert storage.size(key) == len(CONTENT)
    with storage.open(key) as stored:
        assert stored.read() == CONTENT
    assert storage.size(f"00/{'0' * 64}") is None
    with pytest.raises(InvalidInputError, match="is not an artifact key"):
        storage.open("../../etc/passwd")


def test_a_folder_never_holds_a_half_written_file(tmp_path, monkeypatch):
    storage = DirectoryStorage(tmp_path / "store")

    def crash(*args: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(storage_module.os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        storage.put_file(write(tmp_path / "a.wav", CONTENT), SHA)
    assert [p for p in (tmp_path / "store").rglob("*") if p.is_file()] == []


def test_a_folder_copies_when_it_cannot_link(tmp_path, monkeypatch):
    def no_links(source: object, target: object) -> None:
        raise OSError(18, "Invalid cross-device link")  # EXDEV

    monkeypatch.setattr(storage_module.os, "link", no_links)
    storage = DirectoryStorage(tmp_path / "store")
    source = write(tmp_path / "a.wav", CONTENT)
    key = storage.put_file(source, SHA)
    source.unlink()
    assert storage.size(key) == len(CONTENT)


def test_storage_urls(tmp_path):
    assert storage_from_url(str(tmp_path)).root == tmp_path
    assert storage_from_url(f"file://{tmp_path}/a%20b").root == tmp_path / "a b"
    s3 = storage_from_url("s3://recordings/groundshare/v1?endpoint_url=http://127.0.0.1:9000")
    assert isinstance(s3, S3Storage)
    assert (s3.bucket, s3.prefix, s3.endpoint_url) == ("recordings", "groundshare/v1/", "http://127.0.0.1:9000")
    assert storage_from_url("s3://recordings").prefix == ""
    for url, message in [("", "must be a folder"), ("ftp://host/x", "expected a folder"),
                         ("file://host/x", "local folder"), ("s3://b?region=x", "unknown option 'region'"),
                         ("s3:///prefix", "needs a bucket")]:
        with pytest.raises(InvalidInputError, match=message) as caught:
            storage_from_url(url)
        assert caught.value.loc == ("artifact_storage_url",)
    assert default_storage_url(f"sqlite:///{tmp_path}/gs.db") == str(tmp_path / "artifacts")
    assert default_storage_url("postgresql://x@localhost/gs") == str(Path("groundshare-artifacts").absolute())
    assert default_storage_url("sqlite://") == str(Path("groundshare-artifacts").absolute())
    assert staging_dir_for(DirectoryStorage(tmp_path)) == tmp_path / ".staging"
    assert staging_dir_for(s3, tmp_path / "stage") == tmp_path / "stage"


def test_s3_without_boto3_names_the_extra(monkeypatch):
    monkeypatch.setattr(storage_module, "installed", lambda extra: False)
    with pytest.raises(MissingExtraError, match=r"s3 extra: pip install 'groundshare\[s3\]'"):
        S3Storage("recordings").size(f"00/{'0' * 64}")


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    """A real S3 HTTP server (moto) on a free local port, with fake credentials, and a bucket ``recordings``."""
    moto_server = pytest.importorskip("moto.server")
    boto3 = pytest.importorskip("boto3")
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    saved = {name: os.environ.get(name) for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                                                      "AWS_DEFAULT_REGION")}
    os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-east-1")
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket="recordings")
    try:
        yield endpoint
    finally:
        server.stop()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def test_an_s3_bucket_stores_content_once_under_its_sha256(tmp_path, s3_endpoint):
    storage = storage_from_url(f"s3://recordings/gs?endpoint_url={s3_endpoint}")
    assert storage.describe() == f"the S3 bucket recordings at {s3_endpoint} under gs/"
    key = storage.put_file(write(tmp_path / "a.wav", CONTENT), SHA)
    assert key == f"{SHA[:2]}/{SHA}"
    assert storage.size(key) == len(CONTENT)
    assert storage.put_file(write(tmp_path / "b.wav", CONTENT), SHA) == key
    listed = storage.client.list_objects_v2(Bucket="recordings")["Contents"]
    assert [item["Key"] for item in listed] == [f"gs/{key}"]
    assert storage.open(key).read() == CONTENT
    assert storage.size(f"00/{'0' * 64}") is None


# -- uploads ---------------------------------------------------------------------------------------------------


@pytest.fixture
def contact_id(factory: sessionmaker[Session], network: Network) -> int:
    with session_scope(factory) as session:
        contact = Contact(antenna_id=network.antenna_id, satellite_id=network.satellite_id, org_id=network.org_id,
                          start_time=AOS, end_time=AOS + timedelta(minutes=10), busy_until=AOS + timedelta(minutes=10))
        session.add(contact)
        session.flush()
        return contact.id


class Uploader:
    """Calls the upload core in units of work, as a route does."""

    def __init__(self, factory: sessionmaker[Session], contact_id: int, storage, staging: Path) -> None:
        self.factory, self.contact_id, self.storage, self.staging = factory, contact_id, storage, staging

    def chunk(self, offset: int, data: bytes, *, name: str = "pass.wav", digest: str = SHA,
              total: int = len(CONTENT)):
        with session_scope(self.factory) as session:
            contact = session.get(Contact, self.contact_id)
            return append_chunk(session, self.storage, self.staging, contact, name, digest, total, offset, data)

    def state(self, *, name: str = "pass.wav", digest: str = SHA):
        with session_scope(self.factory) as session:
            return upload_state(session, self.staging, session.get(Contact, self.contact_id), name, digest)

    def rows(self) -> tuple[int, int]:
        with session_scope(self.factory, write=False) as session:
            return (session.scalar(select(func.count()).select_from(Artifact)),
                    session.scalar(select(func.count()).select_from(ArtifactUpload)))


@pytest.fixture
def uploader(factory, contact_id, tmp_path) -> Uploader:
    storage = DirectoryStorage(tmp_path / "artifacts")
    return Uploader(factory, contact_id, storage, staging_dir_for(storage))


def stored_files(uploader: Uploader) -> list[str]:
    return sorted(p.name for p in uploader.storage.root.rglob("*") if p.is_file() and ".staging" not in p.parts)


def test_a_whole_file_is_one_chunk_and_a_repeat_changes_nothing(uploader):
    state = uploader.chunk(0, CONTENT)
    assert (state.complete, state.received_bytes, state.total_bytes) == (True, len(CONTENT), len(CONTENT))
    artifact = state.artifact
    assert (artifact.name, artifact.sha256, artifact.size_bytes) == ("pass.wav", SHA, len(CONTENT))
    assert uploader.storage.size(artifact.storage_key) == len(CONTENT)
    again = uploader.chunk(0, CONTENT)
    assert again.complete and again.artifact.id == artifact.id
    assert uploader.rows() == (1, 0)
    assert stored_files(uploader) == [SHA]
    assert list((uploader.staging).iterdir()) == []
    assert uploader.state() == again
    with pytest.raises(ConflictError, match=f"already has an artifact 'pass.wav' with SHA-256 {SHA}"):
        uploader.chunk(0, b"other", digest=sha(b"other"), total=5)
    with session_scope(uploader.factory, write=False) as session:
        assert [a.name for a in artifact_list(session, uploader.contact_id)] == ["pass.wav"]
        assert artifact_get(session, uploader.contact_id, "pass.wav").sha256 == SHA
        with pytest.raises(NotFoundError, match=r"has no artifact 'other\.wav'"):
            artifact_get(session, uploader.contact_id, "other.wav")


def test_chunks_resume_where_the_upload_stands(uploader):
    assert uploader.state() == storage_module_state(0, None)
    assert uploader.chunk(0, CONTENT[:4000]).received_bytes == 4000
    with pytest.raises(ConflictError, match="the next chunk starts at offset 4000, not 3000"):
        uploader.chunk(3000, CONTENT[3000:6000])
    assert uploader.state() == storage_module_state(4000, len(CONTENT))
    assert uploader.chunk(4000, CONTENT[4000:8000]).received_bytes == 8000
    done = uploader.chunk(8000, CONTENT[8000:])
    assert done.complete and uploader.rows() == (1, 0)
    assert uploader.storage.open(done.artifact.storage_key).read() == CONTENT


def storage_module_state(received: int, total: int | None):
    from groundshare.store import UploadState

    return UploadState(received, total, complete=False)


def test_a_sha256_mismatch_stores_nothing_and_the_upload_begins_again(uploader):
    uploader.chunk(0, CONTENT[:5000])
    corrupt = bytes([CONTENT[5000] ^ 0xFF]) + CONTENT[5001:]
    with pytest.raises(InvalidInputError, match="nothing was stored") as caught:
        uploader.chunk(5000, corrupt)
    assert caught.value.loc == ("sha256",)
    assert stored_files(uploader) == []
    assert uploader.rows()[0] == 0
    assert uploader.state().received_bytes == 0  # the staging file is gone: from offset 0 again
    assert uploader.chunk(0, CONTENT).complete


def test_bytes_written_by_a_failed_unit_of_work_do_not_count(uploader):
    uploader.chunk(0, CONTENT[:1000])
    with pytest.raises(RuntimeError, match="connection lost"), session_scope(uploader.factory) as session:
        contact = session.get(Contact, uploader.contact_id)
        append_chunk(session, uploader.storage, uploader.staging, contact, "pass.wav", SHA, len(CONTENT), 1000,
                     b"garbage" * 100)
        raise RuntimeError("connection lost")  # rolled back after the staging file was written
    assert uploader.state().received_bytes == 1000
    assert uploader.chunk(1000, CONTENT[1000:]).complete  # the garbage was cut, the SHA-256 matches


def test_a_lost_staging_file_is_asked_for_again(uploader):
    uploader.chunk(0, CONTENT[:6000])
    for path in uploader.staging.iterdir():
        path.write_bytes(CONTENT[:2000])  # cut short (a restore from an old copy)
    assert uploader.state().received_bytes == 2000
    for path in uploader.staging.iterdir():
        path.unlink()
    with pytest.raises(ConflictError, match="starts at offset 0, not 6000"):
        uploader.chunk(6000, CONTENT[6000:])
    assert uploader.chunk(0, CONTENT).complete


def test_an_empty_file_is_an_artifact(uploader):
    state = uploader.chunk(0, b"", name="empty.log", digest=sha(b""), total=0)
    assert state.complete and state.artifact.size_bytes == 0


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    ({"name": ".hidden"}, InvalidInputError, "not starting with '.'"),
    ({"name": "a/b.wav"}, InvalidInputError, "artifact name"),
    ({"name": "x" * 201}, InvalidInputError, "artifact name"),
    ({"digest": "abc"}, InvalidInputError, "64 hexadecimal digits"),
    ({"total": -1}, InvalidInputError, "total_bytes must be from 0"),
    ({"total": 10}, InvalidInputError, "ends past the file's 10 bytes"),
])
def test_bad_uploads_are_refused(uploader, kwargs, error, match):
    with pytest.raises(error, match=match):
        uploader.chunk(0, CONTENT[:100], **kwargs)
    assert uploader.rows()[0] == 0


def test_an_upload_keeps_the_total_it_began_with(uploader):
    uploader.chunk(0, CONTENT[:100])
    with pytest.raises(ConflictError, match=f"began with {len(CONTENT)} bytes in all, not 20000"):
        uploader.chunk(100, CONTENT[100:200], total=20000)


def test_an_artifact_over_the_limit_is_refused(factory, contact_id, tmp_path):
    with session_scope(factory) as session, pytest.raises(InvalidInputError, match="from 0 to 1000") as caught:
        begin_or_resume(session, tmp_path, session.get(Contact, contact_id), "big.iq", SHA, 1001, max_bytes=1000)
    assert caught.value.loc == ("total_bytes",)


def test_a_chunked_upload_to_s3(factory, contact_id, tmp_path, s3_endpoint):
    storage = storage_from_url(f"s3://recordings/uploads?endpoint_url={s3_endpoint}")
    uploader = Uploader(factory, contact_id, storage, staging_dir_for(storage, tmp_path / "staging"))
    uploader.chunk(0, CONTENT[:7000])
    done = uploader.chunk(7000, CONTENT[7000:])
    assert done.complete
    assert storage.open(done.artifact.storage_key).read() == CONTENT
    assert list((tmp_path / "staging").iterdir()) == []
