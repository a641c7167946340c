"""Artifacts of a contact (recordings, waterfalls), uploaded whole or in resumable chunks.

Method.  An upload is named by (contact, artifact name, SHA-256 of the whole file) and
announces its total size.  Its bytes go to a staging file (``staging_dir/upload-<id>.part``)
and ``artifact_upload.received_bytes`` says how many of them count.  A chunk must start at
exactly ``received_bytes`` (else ``ConflictError`` naming the offset expected, so a
client that lost a reply knows where to go on); the staging file is cut to that offset,
the chunk written and synced to disk, and only then is ``received_bytes`` moved on, in
the caller's unit of work.  Should that unit fail after the write, the bytes past
``received_bytes`` are cut by the next chunk; should the staging file be lost (a
restart on another machine), what is missing is asked for again (``received_bytes`` is
never more than the staging file holds).

When the last byte arrives the file's SHA-256 is computed: a mismatch discards the
staging file and stores nothing (``InvalidInputError``); a match stores the file in the
artifact storage (``store.artifact_storage``: content-addressed, atomic), writes the
``Artifact`` row and removes the upload.  A whole-file upload is one chunk at offset 0.
The same name with the same SHA-256 again is the artifact already stored (idempotent);
the same name with another SHA-256 is a ``ConflictError``.

Each call locks the contact's row first (as ``store.outcomes`` does), so the uploads of
one contact run one after the other and never interleave their chunks.  Nothing here
commits: the caller's unit of work does.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from groundshare.errors import ConflictError, InvalidInputError, NotFoundError
from groundshare.store.artifact_storage import (
    COPY_CHUNK_BYTES,
    ArtifactStorage,
    DirectoryStorage,
    S3Storage,
    default_storage_url,
    staging_dir_for,
    storage_from_url,
)
from groundshare.store.booking import locked_contact
from groundshare.store.models import Artifact, ArtifactUpload, Contact
from groundshare.timeutil import utc_now

__all__ = [
    "MAX_ARTIFACT_BYTES",
    "MAX_CHUNK_BYTES",
    "Artifact",
    "ArtifactStorage",
    "DirectoryStorage",
    "S3Storage",
    "UploadState",
    "append_chunk",
    "artifact_get",
    "artifact_list",
    "begin_or_resume",
    "check_artifact_name",
    "default_storage_url",
    "staging_dir_for",
    "storage_from_url",
    "upload_state",
]

#: Largest artifact accepted by default (bytes): 4 GiB, a long recording of a wide channel.
MAX_ARTIFACT_BYTES = 4 * 1024**3
#: Largest chunk (bytes): the API's request body limit.
MAX_CHUNK_BYTES = 8 * 1024 * 1024
_NAME = re.compile(r"^[A-Za-z0-9._-]{1,200}$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class UploadState:
    """Where an upload stands: bytes received of the total (None: not begun), and the artifact once complete."""

    received_bytes: int
    total_bytes: int | None
    complete: bool
    artifact: Artifact | None = field(default=None, compare=False)  # rows of two sessions are two objects


def check_artifact_name(name: str) -> str:
    """Return ``name`` if it is an artifact name (1 to 200 of ``A-Z a-z 0-9 . _ -``, not starting with '.')."""
    if not isinstance(name, str) or not _NAME.match(name) or name.startswith("."):
        raise InvalidInputError(f"an artifact name is 1 to 200 letters, digits, '.', '_' or '-', not starting with "
                                f"'.'; got {name!r}", loc=("name",))
    return name


def upload_state(session: Session, staging_dir: Path, contact: Contact, name: str, sha256: str) -> UploadState:
    """Return where the upload of ``name`` with this SHA-256 stands, without starting one.

    Complete when the artifact is stored; ``received_bytes`` 0 and ``total_bytes`` None
    when no upload has begun.  ``ConflictError`` when ``name`` is stored with another SHA-256.
    """
    name, sha256 = check_artifact_name(name), _check_sha256(sha256)
    stored = _stored(session, contact.id, name, sha256)
    if stored is not None:
        return stored
    upload = _upload(session, contact.id, name, sha256)
    if upload is None:
        return UploadState(0, None, complete=False)
    return UploadState(_counted_bytes(upload, Path(staging_dir)), upload.total_bytes, complete=False)


def begin_or_resume(session: Session, staging_dir: Path, contact: Contact, name: str, sha256: str,
                    total_bytes: int, *, max_bytes: int = MAX_ARTIFACT_BYTES) -> UploadState:
    """Return the upload of ``name`` (``total_bytes`` long, this SHA-256), begun now if it was not.

    Complete (with the artifact) when it is already stored.  ``InvalidInputError`` names
    ``name``, ``sha256`` or ``total_bytes`` (0 to ``max_bytes``); ``ConflictError`` when
    ``name`` is stored with another SHA-256, or this upload began with another total.
    """
    name, sha256 = check_artifact_name(name), _check_sha256(sha256)
    if isinstance(total_bytes, bool) or not isinstance(total_bytes, int) or not 0 <= total_bytes <= max_bytes:
        raise InvalidInputError(f"total_bytes must be from 0 to {max_bytes} (the largest artifact accepted), got "
                                f"{total_bytes!r}", loc=("total_bytes",))
    locked_contact(session, contact.id)
    stored = _stored(session, contact.id, name, sha256)
    if stored is not None:
        return stored
    upload = _upload(session, contact.id, name, sha256)
    if upload is None:
        upload = ArtifactUpload(contact_id=contact.id, name=name, sha256=sha256, total_bytes=total_bytes,
                                received_bytes=0)
        session.add(upload)
        session.flush()
    elif upload.total_bytes != total_bytes:
        raise ConflictError(f"the upload of {name!r} (SHA-256 {sha256}) to contact {contact.id} began with "
                            f"{upload.total_bytes} bytes in all, not {total_bytes}; a file with this SHA-256 has "
                            "one size\n\nSend the total the upload began with", )
    received = _counted_bytes(upload, Path(staging_dir))
    if received != upload.received_bytes:
        upload.received_bytes = received
        session.flush()
    return UploadState(received, upload.total_bytes, complete=False)


def append_chunk(session: Session, storage: ArtifactStorage, staging_dir: Path, contact: Contact, name: str,
                 sha256: str, total_bytes: int, offset: int, data: bytes, *,
                 max_bytes: int = MAX_ARTIFACT_BYTES) -> UploadState:
    """Add ``data`` at ``offset`` to the upload of ``name``; when it is whole, check and store it.

    Returns the state after the chunk: complete, with the ``Artifact``, when the file was
    stored (or already was: a repeat changes nothing).  ``ConflictError`` when ``offset``
    is not the bytes received so far (the message names the offset expected), when
    ``name`` is stored with another SHA-256, or the upload began with another total;
    ``InvalidInputError`` naming ``data`` for a chunk past the total or over
    ``MAX_CHUNK_BYTES``, ``sha256`` when the whole file's SHA-256 differs (the staging
    file is discarded and nothing is stored), or the field of another bad argument.
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise InvalidInputError(f"data must be bytes, got {type(data).__name__}", loc=("data",))
    if len(data) > MAX_CHUNK_BYTES:
        raise InvalidInputError(f"a chunk holds at most {MAX_CHUNK_BYTES} bytes, got {len(data)}\n\n"
                                "Send the file in smaller chunks (Content-Range)", loc=("data",))
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise InvalidInputError(f"offset must be 0 or more, got {offset!r}", loc=("offset",))
    state = begin_or_resume(session, staging_dir, contact, name, sha256, total_bytes, max_bytes=max_bytes)
    if state.complete:
        return state
    if offset + len(data) > total_bytes:
        raise InvalidInputError(f"a chunk of {len(data)} bytes at offset {offset} ends past the file's "
                                f"{total_bytes} bytes", loc=("data",))
    if offset != state.received_bytes:
        raise ConflictError(f"the upload of {name!r} to contact {contact.id} has {state.received_bytes} of "
                            f"{total_bytes} bytes; the next chunk starts at offset {state.received_bytes}, not "
                            f"{offset}\n\nResume from offset {state.received_bytes}")
    upload = _upload(session, contact.id, name, sha256)
    assert upload is not None  # begun above, under the contact's lock
    path = _staging_path(Path(staging_dir), upload)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "r+b" if path.exists() else "wb") as staging:
        staging.truncate(offset)
        staging.seek(offset)
        staging.write(data)
        staging.flush()
        os.fsync(staging.fileno())
    upload.received_bytes = offset + len(data)
    upload.updated_at = utc_now()
    session.flush()
    if upload.received_bytes < total_bytes:
        return UploadState(upload.received_bytes, total_bytes, complete=False)
    return _finish(session, storage, upload, path)


def artifact_list(session: Session, contact_id: int) -> list[Artifact]:
    """Return the contact's artifacts by name (the caller checks who may see the contact)."""
    return list(session.scalars(select(Artifact).where(Artifact.contact_id == contact_id).order_by(Artifact.name)))


def artifact_get(session: Session, contact_id: int, name: str) -> Artifact:
    """Return the contact's artifact ``name``; ``NotFoundError`` naming it when there is none."""
    artifact = session.scalars(select(Artifact).where(Artifact.contact_id == contact_id,
                                                      Artifact.name == name)).one_or_none()
    if artifact is None:
        raise NotFoundError(f"contact {contact_id} has no artifact {name!r}")
    return artifact


def _finish(session: Session, storage: ArtifactStorage, upload: ArtifactUpload, path: Path) -> UploadState:
    """Check the whole staged file's SHA-256, store it and write the ``Artifact``; discard it on a mismatch."""
    digest = _sha256_of(path)
    if digest != upload.sha256:
        # Discarded now; the unit of work rolls back, and the next call sees no staging file and begins at 0.
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        raise InvalidInputError(f"the {upload.total_bytes} bytes received for {upload.name!r} have SHA-256 "
                                f"{digest}, not {upload.sha256} as announced; nothing was stored\n\n"
                                "Upload the file again from offset 0", loc=("sha256",))
    key = storage.put_file(path, upload.sha256)
    # Gone before the rows are written: a storage may have linked it, and nothing may write into it again.
    # Should the unit of work fail now, the upload begins again at 0 and the stored copy is reused.
    path.unlink()
    artifact = Artifact(contact_id=upload.contact_id, name=upload.name, sha256=upload.sha256,
                        size_bytes=upload.total_bytes, storage_key=key)
    session.add(artifact)
    session.delete(upload)
    session.flush()
    return UploadState(artifact.size_bytes, artifact.size_bytes, complete=True, artifact=artifact)


def _stored(session: Session, contact_id: int, name: str, sha256: str) -> UploadState | None:
    """Return the complete state if ``name`` is stored with this SHA-256; ``ConflictError`` if with another."""
    artifact = session.scalars(select(Artifact).where(Artifact.contact_id == contact_id,
                                                      Artifact.name == name)).one_or_none()
    if artifact is None:
        return None
    if artifact.sha256 != sha256:
        raise ConflictError(f"contact {contact_id} already has an artifact {name!r} with SHA-256 {artifact.sha256}, "
                            f"not {sha256}; an artifact is stored once\n\nUpload the other file under another name")
    return UploadState(artifact.size_bytes, artifact.size_bytes, complete=True, artifact=artifact)


def _upload(session: Session, contact_id: int, name: str, sha256: str) -> ArtifactUpload | None:
    return session.scalars(select(ArtifactUpload).where(
        ArtifactUpload.contact_id == contact_id, ArtifactUpload.name == name, ArtifactUpload.sha256 == sha256)
        .execution_options(populate_existing=True)).one_or_none()


def _staging_path(staging_dir: Path, upload: ArtifactUpload) -> Path:
    return staging_dir / f"upload-{upload.id}-{upload.sha256[:16]}.part"


def _counted_bytes(upload: ArtifactUpload, staging_dir: Path) -> int:
    """Return the bytes of the upload that count: recorded, and still in its staging file."""
    try:
        on_disk = _staging_path(staging_dir, upload).stat().st_size
    except FileNotFoundError:
        on_disk = 0
    return min(upload.received_bytes, on_disk)


def _check_sha256(sha256: str) -> str:
    if not isinstance(sha256, str) or not _SHA256.match(sha256.lower()):
        raise InvalidInputError(f"sha256 must be the file's SHA-256 as 64 hexadecimal digits, got {sha256!r}",
                                loc=("sha256",))
    return sha256.lower()


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as source:
        while chunk := source.read(COPY_CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()
