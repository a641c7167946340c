"""Artifacts: files a station recorded during a contact, uploaded by its agent (resumably) and downloaded.

- ``PUT /agent/contacts/{id}/artifacts/{name}``: the raw bytes of the file, or of one chunk
  of it, on a contact of the caller's antenna (404 invisible, 403 a partner's antenna).
  ``X-Content-SHA256`` (the whole file's SHA-256, hex) is required; ``Content-Range: bytes
  START-END/TOTAL`` makes the body one chunk of a file of TOTAL bytes (without it the body
  is the whole file).  Each chunk is one request, so at most the server's body limit (8 MiB
  by default); the whole file at most ``Settings.max_artifact_bytes``.  Answers 202 with
  the bytes received for a chunk that leaves the file incomplete, 201 with the artifact
  when it is whole (the SHA-256 checked; a mismatch is a 422 and nothing is stored), 409
  naming the offset to send when a chunk does not start where the upload stands.  The
  same file again is the artifact already stored; another file under the same name a 409.
- ``GET /agent/contacts/{id}/artifacts/{name}/upload?sha256=``: where an upload stands
  (resume at ``received_bytes``).
- ``GET /contacts/{id}/artifacts`` and ``GET /contacts/{id}/artifacts/{name}``: the list,
  and the bytes (``application/octet-stream``, ``ETag``: the SHA-256), for the satellite's
  operator, the antenna's owner, and everyone for a public satellite
  (``queries.data_contacts``).

``store.artifacts`` does the work (staging, checking, storing in ``store.artifact_storage``);
this module maps headers to its arguments and its errors to the headers they concern.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Annotated, Any, BinaryIO

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response, status
from fastapi.responses import StreamingResponse

from groundshare.api.deps import CurrentOrg, SessionDep, WriterToken
from groundshare.api.errors import ErrorBody
from groundshare.api.params import PathId
from groundshare.api.queries import data_contacts, get_visible, own_contact
from groundshare.api.schemas import ArtifactChunkAccepted, ArtifactPublic, ArtifactsPublic, ArtifactUploadPublic
from groundshare.api.settings import Settings
from groundshare.errors import InvalidInputError
from groundshare.store import (
    Artifact,
    Contact,
    append_chunk,
    artifact_get,
    artifact_list,
    check_artifact_name,
    upload_state,
)

router = APIRouter(tags=["artifacts"])

#: Bytes read from the storage at a time while a download streams.
DOWNLOAD_CHUNK_BYTES = 1024 * 1024
_CONTENT_RANGE = re.compile(r"^bytes (\d{1,19})-(\d{1,19})/(\d{1,19})$")

ArtifactName = Annotated[str, Path(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9._-]+$", description=(
    "The file's name: 1 to 200 letters, digits, '.', '_' or '-', not starting with '.'."))]
Sha256Header = Annotated[str, Header(alias="X-Content-SHA256", min_length=64, max_length=64,
                                     pattern=r"^[0-9A-Fa-f]{64}$",
                                     description="The whole file's SHA-256, 64 hex digits.")]
ContentRange = Annotated[str | None, Header(alias="Content-Range", max_length=100, description=(
    "'bytes START-END/TOTAL': the body is bytes START to END (inclusive) of a file of TOTAL bytes. Without it "
    "the body is the whole file."))]

#: Where in the request each argument of ``store.artifacts`` came from (its errors name the header, not the argument).
_LOC = {"sha256": ("header", "X-Content-SHA256"), "total_bytes": ("header", "Content-Range"),
        "offset": ("header", "Content-Range"), "data": ("body",), "name": ("path", "name")}

UPLOAD_RESPONSES: dict[int | str, dict[str, Any]] = {
    201: {"model": ArtifactPublic, "description": "The file is whole, checked and stored."},
    202: {"model": ArtifactChunkAccepted, "description": "The chunk is stored; send the next from received_bytes."},
    409: {"model": ErrorBody, "description": "The chunk does not start where the upload stands (the message names "
                                             "the offset to send), or the name holds another file."},
    422: {"model": ErrorBody, "description": "The file's SHA-256 is not the one announced (nothing was stored), or "
                                             "a header is malformed."},
}


async def request_bytes(request: Request) -> bytes:
    """Return the raw body (bounded by the request gate before it is read)."""
    return await request.body()


RawBody = Annotated[bytes, Depends(request_bytes)]


@router.put("/agent/contacts/{contact_id}/artifacts/{name}", name="upload_artifact",
            status_code=status.HTTP_201_CREATED, responses=UPLOAD_RESPONSES,
            openapi_extra={"requestBody": {"required": True, "content": {
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}})
def upload_artifact(contact_id: PathId, name: ArtifactName, data: RawBody, request: Request, response: Response,
                    session: SessionDep, org: CurrentOrg, _token: WriterToken, sha256: Sha256Header,
                    content_range: ContentRange = None) -> ArtifactPublic | ArtifactChunkAccepted:
    """Store a file (or one chunk of it: ``Content-Range``) the station recorded during the contact.

    201 with the artifact when the file is whole; 202 with the bytes received so far
    when more chunks are due.
    """
    _located(check_artifact_name)(name)
    contact = own_contact(session, org, contact_id, "upload artifacts of it")
    offset, total_bytes = _chunk_range(content_range, len(data))
    settings: Settings = request.app.state.settings
    state = _located(append_chunk)(session, request.app.state.artifact_storage, request.app.state.artifact_staging_dir,
                                   contact, name, sha256, total_bytes, offset, data,
                                   max_bytes=settings.max_artifact_bytes)
    if state.complete and state.artifact is not None:
        return artifact_public(state.artifact)
    response.status_code = status.HTTP_202_ACCEPTED
    return ArtifactChunkAccepted(received_bytes=state.received_bytes, total_bytes=total_bytes)


@router.get("/agent/contacts/{contact_id}/artifacts/{name}/upload", name="read_artifact_upload")
def read_upload(contact_id: PathId, name: ArtifactName, request: Request, session: SessionDep, org: CurrentOrg,
                sha256: Annotated[str, Query(min_length=64, max_length=64, pattern=r"^[0-9A-Fa-f]{64}$",
                                             description="The whole file's SHA-256.")]) -> ArtifactUploadPublic:
    """Return where the upload of the file stands: resume by sending the chunk at ``received_bytes``.

    ``total_bytes`` is null when no upload of it has begun; ``complete`` when it is stored.
    """
    _located(check_artifact_name)(name)
    contact = own_contact(session, org, contact_id, "upload artifacts of it")
    state = _located(upload_state)(session, request.app.state.artifact_staging_dir, contact, name, sha256.lower())
    return ArtifactUploadPublic(received_bytes=state.received_bytes, total_bytes=state.total_bytes,
                                complete=state.complete)


@router.get("/contacts/{contact_id}/artifacts", name="list_artifacts")
def list_artifacts(contact_id: PathId, session: SessionDep, org: CurrentOrg) -> ArtifactsPublic:
    """List the files stations recorded during the contact, by name."""
    get_visible(session, data_contacts(session, org), Contact, contact_id, "contact")
    rows = [artifact_public(artifact) for artifact in artifact_list(session, contact_id)]
    return ArtifactsPublic(data=rows, count=len(rows))


@router.get("/contacts/{contact_id}/artifacts/{name}", name="download_artifact", response_class=StreamingResponse,
            responses={200: {"content": {"application/octet-stream": {"schema": {"type": "string",
                                                                                  "format": "binary"}}},
                             "description": "The file's bytes; ETag is its SHA-256."},
                       304: {"description": "If-None-Match names the file's SHA-256: the copy held is current."}})
def download_artifact(contact_id: PathId, name: ArtifactName, request: Request, session: SessionDep,
                      org: CurrentOrg) -> Response:
    """Return the file's bytes (``ETag``: its SHA-256, so ``If-None-Match`` spares a second download)."""
    get_visible(session, data_contacts(session, org), Contact, contact_id, "contact")
    artifact = artifact_get(session, contact_id, name)
    etag = f'"{artifact.sha256}"'
    headers = {"ETag": etag, "Content-Disposition": f'attachment; filename="{artifact.name}"'}
    if etag in {tag.strip() for tag in request.headers.get("if-none-match", "").split(",")}:
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers=headers)
    handle = request.app.state.artifact_storage.open(artifact.storage_key)
    headers["Content-Length"] = str(artifact.size_bytes)
    return StreamingResponse(_chunks(handle), media_type="application/octet-stream", headers=headers)


def artifact_public(artifact: Artifact) -> ArtifactPublic:
    return ArtifactPublic(name=artifact.name, size_bytes=artifact.size_bytes, sha256=artifact.sha256,
                          created_at=artifact.created_at,
                          url=f"/contacts/{artifact.contact_id}/artifacts/{artifact.name}")


def _chunks(handle: BinaryIO) -> Iterator[bytes]:
    """Yield the file in chunks (Starlette runs a plain iterator in a worker thread) and close it."""
    with handle:
        while chunk := handle.read(DOWNLOAD_CHUNK_BYTES):
            yield chunk


def _chunk_range(header: str | None, body_bytes: int) -> tuple[int, int]:
    """Return ``(offset, total_bytes)`` of the body from ``Content-Range`` (the whole file without one)."""
    if header is None:
        return 0, body_bytes
    match = _CONTENT_RANGE.match(header.strip())
    if match is None:
        raise InvalidInputError(f"Content-Range must be 'bytes START-END/TOTAL' (END inclusive), got {header!r}",
                                loc=("header", "Content-Range"))
    start, end, total = (int(group) for group in match.groups())
    if end < start or end >= total:
        raise InvalidInputError(f"Content-Range {header!r}: END must be from START to TOTAL - 1",
                                loc=("header", "Content-Range"))
    if end - start + 1 != body_bytes:
        raise InvalidInputError(f"Content-Range {header!r} announces {end - start + 1} bytes, and the body holds "
                                f"{body_bytes}", loc=("header", "Content-Range"))
    return start, total


def _located(function: Any) -> Any:
    """Return ``function`` whose ``InvalidInputError`` names the header or path part the argument came from."""
    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except InvalidInputError as exc:
            where = _LOC.get(exc.loc[0]) if exc.loc else None
            if where is None:
                raise
            raise InvalidInputError(str(exc), loc=where) from None
    return call
