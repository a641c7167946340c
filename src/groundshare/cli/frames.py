"""``frames``: pull a satellite's frames from the network as JSON lines, CSV or a KISS file.

The command finds the satellite by its NORAD id among the satellites the token's
organisation sees (``GET /satellites``: its own and the public ones; where two
organisations registered the same NORAD id, the caller's own is taken), then pages
through ``GET /satellites/{id}/frames`` with the ``after_id`` cursor, ``PAGE_LIMIT``
frames a request.  Frames come in the order the network first stored them (frame id),
so a frame stored while the command runs is neither skipped nor written twice, and the
output is written page by page: a long history is never held in memory.  With
``--output`` the file is written beside its final name and moved there once complete
(never half-written); without it the frames go to stdout.

Formats:

- ``json``: one JSON object per line (``FrameRecord.to_json``): ``id``, ``norad_id``,
  ``received_at`` (the first reception, ISO 8601 with ``Z``), ``payload_hex``,
  ``size_bytes``, ``sha256``, ``stations`` (the stations that heard it, of those the
  caller may see), ``outside_window``, ``decoder``, ``decode_error`` and ``decoded``
  (the decoded fields, or null);
- ``csv``: the same columns, ``stations`` joined with ``;`` and ``decoded`` as JSON text;
- ``kiss``: each payload as one KISS data frame on port 0 (``groundshare.frames.kiss``),
  the byte stream a TNC gives, which Dire Wolf's and gr-satellites' tools read.
"""

from __future__ import annotations

import csv
import io
import json
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, BinaryIO

import typer

from groundshare.cli.console import needs_extras, user_errors
from groundshare.errors import GroundshareError, InvalidInputError, NotFoundError
from groundshare.timeutil import format_utc, parse_utc

if TYPE_CHECKING:
    import httpx

#: Frames asked for per request: the API's largest page.
PAGE_LIMIT = 1000
#: Satellites asked for per request of ``GET /satellites`` (the API's largest page).
SATELLITE_PAGE_LIMIT = 500
#: Seconds one request may take.
REQUEST_TIMEOUT_S = 60.0
#: The columns of ``--format csv``, in order.
CSV_COLUMNS = ("id", "norad_id", "received_at", "size_bytes", "sha256", "stations", "outside_window", "decoder",
               "decode_error", "payload_hex", "decoded")


class FrameFormat(StrEnum):
    """How ``frames`` writes the frames."""

    json = "json"
    csv = "csv"
    kiss = "kiss"


SatelliteOpt = Annotated[int, typer.Option("--satellite", metavar="NORAD", min=1, show_default=False,
                                           help="NORAD catalogue number of the satellite.")]
SinceOpt = Annotated[str | None, typer.Option(
    "--since", metavar="ISO", show_default=False,
    help="Frames first received at or after this time: ISO 8601 UTC such as 2025-11-07T00:00Z, or 'now'.")]
UntilOpt = Annotated[str | None, typer.Option(
    "--until", metavar="ISO", show_default=False, help="Frames first received before this time (ISO 8601 UTC).")]
FormatOpt = Annotated[FrameFormat, typer.Option(
    "--format", "-f", case_sensitive=False,
    help="json: one JSON object per line; csv: a table; kiss: a KISS file other tools read.")]
OutputOpt = Annotated[Path | None, typer.Option(
    "--output", "-o", metavar="FILE", show_default=False, dir_okay=False,
    help="Write to FILE (replaced once complete) instead of stdout.")]
ApiOpt = Annotated[str, typer.Option("--api", metavar="URL", envvar="GROUNDSHARE_API", show_default=False,
                                     help="The groundshare server, e.g. https://groundshare.example.org "
                                          "(or GROUNDSHARE_API).")]
TokenOpt = Annotated[str, typer.Option("--token", metavar="TOKEN", envvar="GROUNDSHARE_TOKEN", show_default=False,
                                       help="An API token of the satellite's operator, or of an organisation that "
                                            "may see its frames (or GROUNDSHARE_TOKEN).")]


@dataclass(frozen=True)
class FrameRecord:
    """One frame as ``GET /satellites/{id}/frames`` answers it, with the satellite's NORAD id."""

    id: int
    norad_id: int
    received_at: datetime
    payload: bytes
    sha256: str
    stations: tuple[str, ...]
    outside_window: bool
    decoder: str | None
    decode_error: str | None
    decoded: dict[str, Any] | None

    @classmethod
    def from_json(cls, body: Any, norad_id: int) -> FrameRecord:
        """Return the frame ``body`` describes; ``GroundshareError`` naming the field that is wrong."""
        if not isinstance(body, dict):
            raise GroundshareError(f"the API answered a frame that is {type(body).__name__}, not a JSON object")
        where = f"frame {body.get('id')!r}"
        try:
            frame_id = body["id"]
            if isinstance(frame_id, bool) or not isinstance(frame_id, int):
                raise TypeError("id")
            received_at = parse_utc(body["received_at"], f"{where}: received_at", allow_now=False)
            payload = bytes.fromhex(body["payload_hex"])
            stations = tuple(str(name) for name in body.get("stations") or ())
            decoded = body.get("decoded")
            if decoded is not None and not isinstance(decoded, dict):
                raise TypeError("decoded")
            return cls(id=frame_id, norad_id=norad_id, received_at=received_at, payload=payload,
                       sha256=str(body["sha256"]), stations=stations, outside_window=bool(body.get("outside_window")),
                       decoder=body.get("decoder"), decode_error=body.get("decode_error"), decoded=decoded)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise GroundshareError(f"the API answered a frame this command cannot read ({where}: {exc}): "
                                   f"{json.dumps(body)[:300]}") from None

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "norad_id": self.norad_id, "received_at": format_utc(self.received_at),
                "payload_hex": self.payload.hex(), "size_bytes": len(self.payload), "sha256": self.sha256,
                "stations": list(self.stations), "outside_window": self.outside_window, "decoder": self.decoder,
                "decode_error": self.decode_error, "decoded": self.decoded}


class FramesReader:
    """The two routes ``frames`` reads, with one ``httpx.Client`` holding the caller's token."""

    def __init__(self, base_url: str, token: str, *, timeout_s: float = REQUEST_TIMEOUT_S) -> None:
        import httpx

        from groundshare.agent.client import check_api_url

        try:
            self.base_url = check_api_url(base_url)
        except InvalidInputError as exc:
            raise InvalidInputError(f"--api: {exc}", loc=("--api",)) from None
        self._client = httpx.Client(base_url=self.base_url, headers={"Authorization": f"Bearer {token}"},
                                    timeout=timeout_s)

    def __enter__(self) -> FramesReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self._client.close()

    def get(self, path: str, **params: Any) -> Any:
        """Return the JSON of ``GET path``; ``GroundshareError`` saying what the server answered and what to do."""
        import httpx

        try:
            response = self._client.get(path, params={k: v for k, v in params.items() if v is not None})
        except httpx.HTTPError as exc:
            raise GroundshareError(f"--api {self.base_url} cannot be reached ({exc.__class__.__name__}: {exc}); "
                                   "check the URL and that the server runs") from None
        if response.status_code == 401:
            raise GroundshareError(f"--token was not accepted by {self.base_url} (401: {_detail(response)}); "
                                   "ask an admin of your organisation for a token (groundshare admin create-token)")
        if response.status_code >= 400:
            raise GroundshareError(f"GET {response.request.url.path} answered {response.status_code}: "
                                   f"{_detail(response)}")
        try:
            return response.json()
        except ValueError:
            raise GroundshareError(f"GET {response.request.url.path} answered text that is not JSON: "
                                   f"{response.text[:200]!r}; is --api {self.base_url} a groundshare server?") from None

    def satellite(self, norad_id: int) -> dict[str, Any]:
        """Return the satellite (``SatellitePublic``) of NORAD id ``norad_id`` that the caller sees."""
        me = self.get("/orgs/me")
        seen: list[dict[str, Any]] = []
        while True:
            page = self.get("/satellites", offset=len(seen), limit=SATELLITE_PAGE_LIMIT)
            seen.extend(page["data"])
            if not page["data"] or len(seen) >= page["count"]:
                break
        matches = [s for s in seen if s["norad_id"] == norad_id]
        if not matches:
            raise NotFoundError(f"--satellite {norad_id}: none of the {_counted(len(seen), 'satellite')} your "
                                f"organisation sees (its own and the public ones) has NORAD id {norad_id}")
        own = [s for s in matches if s["org_id"] == me["org"]["id"]]
        return (own or matches)[0]

    def frames(self, satellite_id: int, norad_id: int, *, since: datetime | None,
               until: datetime | None) -> Iterator[list[FrameRecord]]:
        """Yield the satellite's frames in id order, a page at a time, from ``since`` to before ``until``."""
        after_id: int | None = None
        while True:
            body = self.get(f"/satellites/{satellite_id}/frames", start=since and format_utc(since),
                            end=until and format_utc(until), after_id=after_id, limit=PAGE_LIMIT)
            rows = body["data"] if isinstance(body, dict) else body
            page = [FrameRecord.from_json(row, norad_id) for row in rows]
            if page:
                yield page
            if len(page) < PAGE_LIMIT:
                return
            after_id = page[-1].id


def _counted(n: int, noun: str) -> str:
    """Return ``"1 frame"``, ``"1050 frames"`` (whole numbers, never in exponent form)."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _detail(response: httpx.Response) -> str:
    """Return the API's own message of a refusal (its ``detail``), else the start of the body."""
    try:
        detail = response.json().get("detail")
    except (ValueError, AttributeError):
        return response.text[:300]
    if isinstance(detail, list):
        return "; ".join(str(d.get("msg", d)) if isinstance(d, dict) else str(d) for d in detail)
    return str(detail)


def json_lines(frames: list[FrameRecord]) -> bytes:
    """Return the frames as JSON lines (UTF-8)."""
    return "".join(json.dumps(f.to_json(), ensure_ascii=False) + "\n" for f in frames).encode()


def csv_rows(frames: list[FrameRecord], *, header: bool) -> bytes:
    """Return the frames as CSV rows (UTF-8, ``\\r\\n`` line ends as the csv module writes), with the header first."""
    text = io.StringIO()
    writer = csv.writer(text)
    if header:
        writer.writerow(CSV_COLUMNS)
    for frame in frames:
        row = frame.to_json()
        row["stations"] = ";".join(frame.stations)
        row["outside_window"] = "true" if frame.outside_window else "false"
        row["decoded"] = "" if frame.decoded is None else json.dumps(frame.decoded, ensure_ascii=False)
        writer.writerow(["" if row[c] is None else row[c] for c in CSV_COLUMNS])
    return text.getvalue().encode()


def kiss_stream(frames: list[FrameRecord]) -> bytes:
    """Return the payloads as KISS data frames on port 0, one after another."""
    from groundshare.frames.kiss import kiss_encode

    return b"".join(kiss_encode(f.payload) for f in frames)


def _encoder(output_format: FrameFormat) -> Callable[[list[FrameRecord], bool], bytes]:
    """Return ``encode(page, first)`` for ``output_format``."""
    if output_format is FrameFormat.csv:
        return lambda page, first: csv_rows(page, header=first)
    if output_format is FrameFormat.kiss:
        return lambda page, first: kiss_stream(page)
    return lambda page, first: json_lines(page)


def frames(ctx: typer.Context, satellite: SatelliteOpt, api: ApiOpt, token: TokenOpt, since: SinceOpt = None,
           until: UntilOpt = None, output_format: FormatOpt = FrameFormat.json, output: OutputOpt = None) -> None:
    """Pull a satellite's frames from the network: JSON lines, CSV, or a KISS file other tools read.

    Every frame the network keeps once, however many stations heard it, with the
    stations that did (of those your organisation may see) and its decoded fields.
    The operator of a satellite sees all of its frames; everyone sees a public
    satellite's.  Frames come in the order the network stored them.
    """
    needs_extras(ctx, "agent")
    with user_errors(ctx):
        start = parse_utc(since, "--since") if since is not None else None
        end = parse_utc(until, "--until") if until is not None else None
        if start is not None and end is not None and end <= start:
            raise InvalidInputError(f"--until {until} is not after --since {since}; give a later --until",
                                    loc=("--until",))
        if output is None and output_format is FrameFormat.kiss and sys.stdout.isatty():
            raise InvalidInputError("--format kiss writes binary frames: give --output FILE (or redirect stdout)",
                                    loc=("--output",))
        with FramesReader(api, token) as reader:
            found = reader.satellite(satellite)
            pages = reader.frames(found["id"], satellite, since=start, until=end)
            written, size_bytes = _write(pages, _encoder(output_format), output)
        where = str(output) if output is not None else "stdout"
        typer.echo(f"{_counted(written, 'frame')} of {found['name']} (NORAD {satellite}), {size_bytes} bytes of "
                   f"payload, written to {where} as {output_format.value}", err=True)


def _write(pages: Iterator[list[FrameRecord]], encode: Callable[[list[FrameRecord], bool], bytes],
           output: Path | None) -> tuple[int, int]:
    """Write every page to ``output`` (atomically) or stdout; return (frames, payload bytes)."""
    if output is None:
        try:
            return _write_to(sys.stdout.buffer, pages, encode)
        except BrokenPipeError:  # stdout closed early (| head): as write_stdout does, point it at /dev/null
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            raise GroundshareError("stdout was closed before every frame was written") from None
    folder = output.resolve().parent
    if not folder.is_dir():
        raise InvalidInputError(f"--output {output}: the folder {folder} does not exist", loc=("--output",))
    handle, temporary = tempfile.mkstemp(prefix=f".{output.name}.", suffix=".part", dir=folder)
    try:
        with os.fdopen(handle, "wb") as stream:
            totals = _write_to(stream, pages, encode)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, output)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return totals


def _write_to(stream: BinaryIO, pages: Iterator[list[FrameRecord]],
              encode: Callable[[list[FrameRecord], bool], bytes]) -> tuple[int, int]:
    written = size_bytes = 0
    first = True
    for page in pages:
        stream.write(encode(page, first))
        first = False
        written += len(page)
        size_bytes += sum(len(f.payload) for f in page)
    if first:  # no frame: a CSV still gets its header
        stream.write(encode([], True))
    stream.flush()
    return written, size_bytes
