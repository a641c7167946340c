"""The files satnogs-client uploads, read from their names.

The client (``satnogsclient/observer/observer.py`` and ``scheduler/tasks.py``, 2.1.4)
uploads each file of its output folder alone, in a multipart PUT whose one field says
what it is, and takes the observation id from the name's second part:

- ``payload``: the recording, ``satnogs_<id>_<YYYY-MM-DDTHH-MM-SS>.ogg``;
- ``waterfall``: the waterfall image, ``waterfall_<id>_<YYYY-MM-DDTHH-MM-SS>.png``;
- ``demoddata``: one decoded frame per file, written by gr-satnogs' frame sink as
  ``data_<id>_<YYYY-MM-DDTHH-MM-SS>`` (the reception time, UTC, to the second), with a
  suffix when several frames share a second (and ``.png`` for APT images).

``parse_upload_name`` returns what a name says; the reception time of a frame is the
time in its name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from groundshare.errors import InvalidInputError

#: The client's form fields of a file upload, and the prefix of each one's file names.
UPLOAD_FIELDS = {"payload": "satnogs", "waterfall": "waterfall", "demoddata": "data"}
#: Longest file name kept (characters).
MAX_FILENAME_LENGTH = 200
_NAME = re.compile(r"^(?P<prefix>[a-z]+)_(?P<id>\d{1,12})(?:_(?P<time>\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}))?"
                   r"(?P<rest>[A-Za-z0-9._-]*)$")


@dataclass(frozen=True)
class SatnogsFile:
    """What a SatNOGS file name says: its field, observation id and (for frames) the reception time."""

    field: str
    filename: str
    observation_id: int
    recorded_at: datetime | None  # the time in the name (UTC); for ``demoddata`` the frame's reception time


def parse_upload_name(field: str, filename: str) -> SatnogsFile:
    """Return what ``filename`` of form field ``field`` says; ``InvalidInputError`` naming the field otherwise.

    >>> parse_upload_name("demoddata", "data_1234_2030-05-01T03-01-07_g0").recorded_at.isoformat()
    '2030-05-01T03:01:07+00:00'
    """
    if field not in UPLOAD_FIELDS:
        raise InvalidInputError(f"a SatNOGS upload's file field is one of {', '.join(UPLOAD_FIELDS)}, got {field!r}",
                                loc=("body", field))
    prefix = UPLOAD_FIELDS[field]
    example = f"{prefix}_<observation id>_<YYYY-MM-DDTHH-MM-SS>..."
    if not filename or len(filename) > MAX_FILENAME_LENGTH or "/" in filename or "\\" in filename:
        shown = filename[:MAX_FILENAME_LENGTH]
        raise InvalidInputError(f"the {field} file's name must be 1 to {MAX_FILENAME_LENGTH} characters without a "
                                f"folder, as satnogs-client names it ({example}), got {shown!r}", loc=("body", field))
    match = _NAME.match(filename)
    if match is None or match["prefix"] != prefix:
        raise InvalidInputError(f"the {field} file's name must read {example} as satnogs-client names it, got "
                                f"{filename!r}", loc=("body", field))
    recorded_at = None
    if match["time"] is not None:
        try:
            recorded_at = datetime.strptime(match["time"], "%Y-%m-%dT%H-%M-%S").replace(tzinfo=UTC)
        except ValueError:
            recorded_at = None
    if field == "demoddata" and recorded_at is None:
        raise InvalidInputError(f"a demoddata file's name must hold the frame's reception time ({example}, UTC), got "
                                f"{filename!r}", loc=("body", field))
    return SatnogsFile(field=field, filename=filename, observation_id=int(match["id"]), recorded_at=recorded_at)
