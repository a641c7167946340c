"""Where artifact bytes live: one small interface, a directory on disk or an S3-compatible object store.

Both are content-addressed: the key of a file is derived from its SHA-256 (``sha[:2]/sha``),
so the same content stored twice is one object, and a key never changes meaning.

- ``DirectoryStorage(root)``: ``root/ab/abcdef...``.  A file is written next to its final
  place under a temporary name, flushed to disk (``fsync``), then renamed over it
  (``os.replace``, atomic on POSIX) and the directory synced: a reader sees the whole
  file or none, also after a crash.  Where the source is on the same file system it is
  hard-linked instead of copied (same bytes, no second write).
- ``S3Storage(bucket, endpoint_url=..., prefix=...)``: boto3 (the ``s3`` extra, imported
  when first used).  An S3 object appears only once its upload (multipart for large files)
  completes, so it is never half-written either.

``storage_from_url`` picks one from a URL (``file:///abs/dir``, a plain path, or
``s3://bucket/prefix?endpoint_url=http://host:port``); ``default_storage_url`` is the
folder ``artifacts/`` beside a SQLite database file, else ``./groundshare-artifacts``.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any, BinaryIO, Protocol
from urllib.parse import parse_qs, unquote, urlsplit

from sqlalchemy.engine import make_url

from groundshare.errors import InvalidInputError
from groundshare.extras import MissingExtraError, installed

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
#: Bytes read at a time when copying or hashing a file.
COPY_CHUNK_BYTES = 1024 * 1024
#: The artifact folder for a database that is not a SQLite file (relative to the server's working folder).
DEFAULT_ARTIFACT_DIR = "groundshare-artifacts"


class ArtifactStorage(Protocol):
    """Content-addressed storage of artifact files."""

    def put_file(self, path: Path, sha256: str) -> str:
        """Store the file at ``path`` (whose SHA-256 the caller checked) and return its key."""
        ...

    def open(self, key: str) -> BinaryIO:
        """Return the stored file open for reading (``NotFoundError``-free: the caller knows the key exists)."""
        ...

    def size(self, key: str) -> int | None:
        """Return the stored file's size in bytes, or None if nothing is stored under ``key``."""
        ...

    def describe(self) -> str:
        """Return where the files go, for logs and ``serve``'s start-up line."""
        ...


def content_key(sha256: str) -> str:
    """Return the key of content with this SHA-256 (lower-case hex): ``ab/abcdef...``."""
    if not isinstance(sha256, str) or not _SHA256.match(sha256):
        raise InvalidInputError(f"sha256 must be 64 lower-case hexadecimal digits, got {sha256!r}", loc=("sha256",))
    return f"{sha256[:2]}/{sha256}"


class DirectoryStorage:
    """Artifacts in a folder: ``root/ab/abcdef...``, written atomically (module docstring)."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root).expanduser().absolute()

    def __repr__(self) -> str:
        return f"DirectoryStorage({str(self.root)!r})"

    def describe(self) -> str:
        return f"the folder {self.root}"

    def _path(self, key: str) -> Path:
        first, _, sha = key.partition("/")
        if not _SHA256.match(sha) or first != sha[:2]:
            raise InvalidInputError(f"{key!r} is not an artifact key (ab/<SHA-256>)", loc=("storage_key",))
        return self.root / first / sha

    def put_file(self, path: Path, sha256: str) -> str:
        key = content_key(sha256)
        final = self._path(key)
        size = Path(path).stat().st_size
        if final.exists() and final.stat().st_size == size:
            return key  # the same content is already there
        final.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=f".{sha256[:16]}.", suffix=".tmp", dir=final.parent)
        os.close(handle)
        try:
            if not _link(Path(path), Path(temporary)):
                with open(path, "rb") as source, open(temporary, "wb") as target:
                    shutil.copyfileobj(source, target, COPY_CHUNK_BYTES)
            with open(temporary, "rb+") as written:
                os.fsync(written.fileno())
            os.replace(temporary, final)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
            raise
        _sync_folder(final.parent)
        return key

    def open(self, key: str) -> BinaryIO:
        return open(self._path(key), "rb")

    def size(self, key: str) -> int | None:
        try:
            return self._path(key).stat().st_size
        except FileNotFoundError:
            return None


class S3Storage:
    """Artifacts in an S3 bucket (AWS, MinIO, Ceph...): ``prefix + ab/abcdef...``, through boto3."""

    def __init__(self, bucket: str, *, endpoint_url: str | None = None, prefix: str = "",
                 client: Any | None = None) -> None:
        if not bucket:
            raise InvalidInputError("an S3 artifact storage needs a bucket name (s3://BUCKET/prefix)",
                                    loc=("artifact_storage_url",))
        self.bucket = bucket
        self.endpoint_url = endpoint_url
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self._client = client

    def __repr__(self) -> str:
        return f"S3Storage({self.bucket!r}, endpoint_url={self.endpoint_url!r}, prefix={self.prefix!r})"

    def describe(self) -> str:
        where = f" at {self.endpoint_url}" if self.endpoint_url else ""
        return f"the S3 bucket {self.bucket}{where} under {self.prefix or '/'}"

    @property
    def client(self) -> Any:
        """The boto3 S3 client, made when first needed (``MissingExtraError`` without the ``s3`` extra)."""
        if self._client is None:
            if not installed("s3"):
                raise MissingExtraError("keeping artifacts in an S3 object store", ("s3",))
            import boto3

            self._client = boto3.client("s3", endpoint_url=self.endpoint_url)
        return self._client

    def put_file(self, path: Path, sha256: str) -> str:
        key = content_key(sha256)
        size = Path(path).stat().st_size
        if self._object_size(self.prefix + key) == size:
            return key
        self.client.upload_file(str(path), self.bucket, self.prefix + key)
        return key

    def open(self, key: str) -> BinaryIO:
        return self.client.get_object(Bucket=self.bucket, Key=self.prefix + key)["Body"]

    def size(self, key: str) -> int | None:
        return self._object_size(self.prefix + key)

    def _object_size(self, full_key: str) -> int | None:
        from botocore.exceptions import ClientError

        try:
            return int(self.client.head_object(Bucket=self.bucket, Key=full_key)["ContentLength"])
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in {"404", "NoSuchKey", "NotFound"}:
                return None
            raise


def storage_from_url(url: str) -> DirectoryStorage | S3Storage:
    """Return the storage a URL names.

    ``file:///abs/dir`` or a plain path: a ``DirectoryStorage``; ``s3://bucket/prefix``
    with an optional ``?endpoint_url=http://host:port`` (an S3-compatible server; AWS
    itself without): an ``S3Storage`` (credentials and region come from boto3's usual
    places: ``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_DEFAULT_REGION``,
    ``~/.aws``).  ``InvalidInputError`` names ``artifact_storage_url`` otherwise.
    """
    if not isinstance(url, str) or not url.strip():
        raise InvalidInputError("artifact_storage_url must be a folder, file:///folder or s3://bucket/prefix, "
                                f"got {url!r}", loc=("artifact_storage_url",))
    parts = urlsplit(url)
    if parts.scheme == "s3":
        query = parse_qs(parts.query)
        unknown = sorted(set(query) - {"endpoint_url"})
        if unknown:
            raise InvalidInputError(f"artifact_storage_url {url!r}: unknown option {unknown[0]!r}; the one option "
                                    "is endpoint_url", loc=("artifact_storage_url",))
        endpoint = query.get("endpoint_url", [None])[-1]
        return S3Storage(parts.netloc, endpoint_url=endpoint, prefix=unquote(parts.path))
    if parts.scheme == "file":
        if parts.netloc not in ("", "localhost"):
            raise InvalidInputError(f"artifact_storage_url {url!r}: a file URL names a local folder, "
                                    "file:///absolute/folder", loc=("artifact_storage_url",))
        return DirectoryStorage(unquote(parts.path))
    if parts.scheme and len(parts.scheme) > 1:  # one letter: a Windows drive
        raise InvalidInputError(f"artifact_storage_url {url!r}: expected a folder, file:///folder or "
                                "s3://bucket/prefix", loc=("artifact_storage_url",))
    return DirectoryStorage(url)


def default_storage_url(database_url: str | None = None) -> str:
    """Return the default artifact folder: ``artifacts/`` beside a SQLite database file (default: the
    default database's), else ``./groundshare-artifacts`` (PostgreSQL, an in-memory SQLite), as an absolute path."""
    if database_url is None:
        from groundshare.store.db import default_database_path  # only for the default: db imports much

        return str(default_database_path().parent / "artifacts")
    try:
        url = make_url(database_url)
    except Exception:  # a bad database URL is reported where the database is opened
        url = None
    if url is not None and url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:" \
            and not url.database.startswith("file:"):
        return str(Path(url.database).expanduser().absolute().parent / "artifacts")
    return str(Path(DEFAULT_ARTIFACT_DIR).absolute())


def staging_dir_for(storage: ArtifactStorage, fallback: Path | str | None = None) -> Path:
    """Return where partial uploads wait: ``root/.staging`` of a folder storage (same file system, so a
    finished file is linked, not copied), else ``fallback`` or a folder in the system's temporary folder."""
    if isinstance(storage, DirectoryStorage):
        return storage.root / ".staging"
    if fallback is not None:
        return Path(fallback)
    return Path(tempfile.gettempdir()) / "groundshare-artifact-staging"


def _link(source: Path, target: Path) -> bool:
    """Hard-link ``source`` as ``target`` (replacing it); False where links do not work (other file system)."""
    try:
        os.unlink(target)
        os.link(source, target)
    except OSError as exc:
        if exc.errno in (errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP, errno.EOPNOTSUPP):
            target.touch()
            return False
        raise
    return True


def _sync_folder(folder: Path) -> None:
    """Make a rename in ``folder`` durable (fsync of the directory; not possible everywhere)."""
    with contextlib.suppress(OSError):
        descriptor = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
