"""Settings of the API service, chosen by the caller (CLI, tests), never read at import.

The bounds below are what one request, one planning run or one organisation may cost the
shared service; the README's security section lists them.  Each is a plain field, so a
deployment changes it where it builds ``Settings`` (``groundshare serve`` options, tests).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from groundshare.store import FRAME_WINDOW_S, MAX_ARTIFACT_BYTES, default_database_url
from groundshare.units import DAY_S, HOUR_S

MIB = 1024 * 1024


@dataclass(frozen=True)
class Settings:
    """What ``create_app`` needs: the database URL (the SQLite file by default) and the service's bounds."""

    database_url: str = field(default_factory=default_database_url)
    #: Connections the engine keeps open (and as many again under load); None: SQLAlchemy's default.
    pool_size: int | None = None

    # -- one request ------------------------------------------------------------------------------
    #: Largest request body, bytes (413 beyond it, counted while the body streams in).
    max_body_bytes: int = 8 * MIB
    #: Largest element-set upload (POST /satellites/{id}/elements), bytes: a whole CelesTrak catalogue is ~2.5 MB.
    max_element_upload_bytes: int = 16 * MIB

    # -- one contact ------------------------------------------------------------------------------
    #: Longest contact one booking may hold an antenna for, seconds (LEO passes last minutes).
    max_contact_s: float = HOUR_S

    # -- one planning run (POST /schedule/runs) ------------------------------------------------------
    #: Most candidate passes one run may model; a larger run is refused with what to narrow.
    max_plan_candidates: int = 20_000
    #: Longest horizon of one run, hours.
    max_plan_hours: float = 168.0
    #: Longest solver time one run may ask for, seconds.
    max_plan_time_limit_s: float = 60.0
    #: Solver threads of one run.
    plan_workers: int = 2
    #: Planning runs the server runs at once (one per organisation); more answer 429.  Across the worker processes
    #: of ``groundshare serve --workers`` when ``planning_lock_dir`` is set (serve sets it), else in this process.
    max_concurrent_plan_runs: int = 2
    #: A folder that every server process on this machine can lock files in, where the planning gate keeps its
    #: places (``api.routes.schedule.PlanningGate``); None: the gate holds in this process only.
    planning_lock_dir: str | None = None

    # -- element-set age (``orbits.age``) ------------------------------------------------------------
    #: Age from which the element set a pass or satellite uses is ``stale`` (a warning), seconds: 3 days.
    element_age_warning_s: float = 3 * DAY_S
    #: Age from which it is ``expired`` (an error), seconds: 14 days.
    element_age_error_s: float = 14 * DAY_S

    # -- one organisation ----------------------------------------------------------------------------
    #: Most element-set rows one organisation may store (all its satellites together).
    max_element_sets_per_org: int = 50_000
    #: Most open contact requests one organisation may have at once.
    max_open_requests_per_org: int = 2_000
    #: Live frame streams (GET /satellites/{id}/frames/stream) one organisation may hold open in one server process;
    #: more answer 429.  Each polls the database about four times a second.
    max_frame_streams_per_org: int = 8

    # -- frames and artifacts (what the stations received) ---------------------------------------------
    #: Same satellite, same payload within this many seconds of a frame's first reception: the same frame
    #: (``store.frames`` explains the 5 s default).
    frame_window_s: float = FRAME_WINDOW_S
    #: Where artifacts (recordings) are kept: ``file:///abs/dir``, a plain path or ``s3://bucket/prefix?endpoint_url=``.
    #: None: a folder ``artifacts/`` beside the SQLite database file, or ``./groundshare-artifacts`` for PostgreSQL.
    artifact_storage_url: str | None = None
    #: Largest artifact, bytes (all its chunks together); each chunk is one request, at most ``max_body_bytes``.
    max_artifact_bytes: int = MAX_ARTIFACT_BYTES
    #: Largest file a satnogs-client may upload (PUT /satnogs/api/observations/{id}/), bytes: it sends each
    #: recording whole in one request (an Ogg of a 15-minute pass is a few MB); never more than max_artifact_bytes.
    max_satnogs_upload_bytes: int = 256 * MIB

    # -- SatNOGS stations (``api.routes.satnogs``) -----------------------------------------------------
    #: A satnogs-run station is online when its last job poll is at most this old, seconds (by the network's
    #: clock): ten of satnogs-client's default 60 s polls.
    satnogs_online_s: float = 600.0
