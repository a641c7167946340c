"""A local HTTP server that plays CelesTrak and Space-Track, with their response shapes and scripted faults.

``OrbitSites`` serves, on 127.0.0.1 (a ``ThreadingHTTPServer`` in a thread), what the
element-set fetchers ask (``groundshare.sources``):

- CelesTrak GP: ``/NORAD/elements/gp.php?CATNR=|INTDES=|GROUP=|NAME=&FORMAT=json``: a JSON
  array of OMM objects with CelesTrak's keys and types (numbers as JSON numbers,
  ``EPOCH`` with microseconds and no zone); "No GP data found" (200, text) when nothing
  matches; a query without a known parameter gets CelesTrak's 200 text "Invalid query";
- CelesTrak SupGP: ``/NORAD/elements/supplemental/sup-gp.php?CATNR=|INTDES=|FILE=|SOURCE=&FORMAT=json``
  (several sets of one object may be returned);
- Space-Track: ``POST /ajaxauth/login`` (form ``identity``, ``password``; the session
  cookie ``chocolatechip`` and the JSON body ``""`` on success, ``{"Login": "Failed"}``
  otherwise), ``GET /ajaxauth/logout``, ``GET /basicspacedata/modeldef/class/gp`` (the
  predicates the ``spacetrack`` library checks queries against) and ``GET
  /basicspacedata/query/class/gp/norad_cat_id/1,2,.../format/json`` or
  ``.../object_id/^2026-041/...`` (every value a string, as Space-Track writes them;
  401 without the session cookie).

Element sets come from the shipped snapshots (``add_tle_file``: each TLE converted to its
OMM with the real field names) or from OMM records given as they are (``add_record``: a
malformed record, a six-digit object).  ``CATNR`` paths may sit under any prefix, so a 301
can point at ``/moved/NORAD/...`` and be followed.

Scripted faults (``fault``): the next N requests whose path contains a text get a status
and body instead, e.g. ``fault("gp.php", 500)``, ``fault("GROUP=cubesat", 403,
NOT_UPDATED_BODY)``, ``fault("gp.php", 301, location="/moved")``.  With
``not_updated_on_repeat`` the server also answers as CelesTrak does a client that asks for
data it already has: the same GP query again, with no change since, gets the 403 "GP data
has not updated since your last successful download of this data".

Every request is logged in ``requests`` (method and path with query; never a body, so
the password is not kept).  Used by ``tests/sources`` and by ``bench/elements.py``.
"""

from __future__ import annotations

import json
import secrets
import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from groundshare.orbits import ElementSet, load_elements, omm_json_record

#: CelesTrak's 403 body for a download of data that has not changed (CelesTrak GP usage rules).
NOT_UPDATED_BODY = ("GP data has not updated since your last successful download of this data at "
                    "2026-03-19 04:50:12 UTC. Please check back after 2026-03-19 06:50:12 UTC.")
NO_DATA_BODY = "No GP data found"
IDENTITY = "operator@groundshare.example"
PASSWORD = "correct horse battery staple"  # a test account's password, served by no real site

# Space-Track's gp class predicates (Field, Type), as /basicspacedata/modeldef/class/gp lists them.
_GP_MODEL = [
    ("CCSDS_OMM_VERS", "varchar(3)"), ("COMMENT", "varchar(33)"), ("CREATION_DATE", "datetime"),
    ("ORIGINATOR", "varchar(7)"), ("OBJECT_NAME", "varchar(25)"), ("OBJECT_ID", "varchar(12)"),
    ("CENTER_NAME", "varchar(5)"), ("REF_FRAME", "varchar(4)"), ("TIME_SYSTEM", "varchar(3)"),
    ("MEAN_ELEMENT_THEORY", "varchar(4)"), ("EPOCH", "datetime(6)"), ("MEAN_MOTION", "decimal(13,8)"),
    ("ECCENTRICITY", "decimal(13,8)"), ("INCLINATION", "decimal(7,4)"), ("RA_OF_ASC_NODE", "decimal(7,4)"),
    ("ARG_OF_PERICENTER", "decimal(7,4)"), ("MEAN_ANOMALY", "decimal(7,4)"), ("EPHEMERIS_TYPE", "tinyint(4)"),
    ("CLASSIFICATION_TYPE", "char(1)"), ("NORAD_CAT_ID", "int(10) unsigned"),
    ("ELEMENT_SET_NO", "smallint(5) unsigned"),
    ("REV_AT_EPOCH", "mediumint(8) unsigned"), ("BSTAR", "decimal(19,14)"), ("MEAN_MOTION_DOT", "decimal(9,8)"),
    ("MEAN_MOTION_DDOT", "decimal(22,13)"), ("SEMIMAJOR_AXIS", "double(12,3)"), ("PERIOD", "double(12,3)"),
    ("APOAPSIS", "double(12,3)"), ("PERIAPSIS", "double(12,3)"), ("OBJECT_TYPE", "varchar(12)"),
    ("RCS_SIZE", "char(6)"), ("COUNTRY_CODE", "char(6)"), ("LAUNCH_DATE", "date"), ("SITE", "char(5)"),
    ("DECAY_DATE", "date"), ("FILE", "bigint(20) unsigned"), ("GP_ID", "int(10) unsigned"),
    ("TLE_LINE0", "varchar(27)"), ("TLE_LINE1", "varchar(71)"), ("TLE_LINE2", "varchar(71)"),
]


def celestrak_record(element_set: ElementSet) -> dict[str, Any]:
    """Return the OMM object CelesTrak's ``FORMAT=json`` gives for ``element_set`` (its keys, order and types)."""
    return omm_json_record(element_set)


def spacetrack_record(record: Mapping[str, Any]) -> dict[str, str | None]:
    """Return a CelesTrak-shaped OMM object as Space-Track's gp class gives it: more keys, every value a string."""
    out: dict[str, str | None] = {
        "CCSDS_OMM_VERS": "3.0", "COMMENT": "GENERATED VIA SPACE-TRACK.ORG API",
        "CREATION_DATE": "2026-03-19T06:06:42", "ORIGINATOR": "18 SPCS", "OBJECT_NAME": None, "OBJECT_ID": None,
        "CENTER_NAME": "EARTH", "REF_FRAME": "TEME", "TIME_SYSTEM": "UTC", "MEAN_ELEMENT_THEORY": "SGP4",
    }
    for key, value in record.items():
        out[key] = None if value is None else (f"{value:.13g}" if isinstance(value, float) else str(value))
    out.update({"OBJECT_TYPE": "PAYLOAD", "RCS_SIZE": "SMALL", "COUNTRY_CODE": None, "DECAY_DATE": None,
                "GP_ID": str(280_000_000 + int(str(record.get("NORAD_CAT_ID", "0")) or 0))})
    return out


@dataclass
class Fault:
    """A scripted answer for the next ``times`` requests whose path (with query) contains ``contains``."""

    contains: str
    status: int
    body: str = ""
    location: str | None = None  # a 301's target prefix: the request's path is appended
    times: int | None = 1  # None: every matching request


@dataclass
class OrbitSites:
    """CelesTrak and Space-Track on loopback; ``start()``/``stop()`` or ``with OrbitSites() as sites``."""

    identity: str = IDENTITY
    password: str = PASSWORD
    not_updated_on_repeat: bool = False
    #: NORAD id -> CelesTrak GP record; group name -> NORAD ids in it.
    gp: dict[int, dict[str, Any]] = field(default_factory=dict)
    groups: dict[str, list[int]] = field(default_factory=dict)
    #: SupGP file name -> records (several per object possible).
    supgp: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _sessions: set[str] = field(default_factory=set)
    _version: int = 0
    _served: dict[str, int] = field(default_factory=dict)  # query -> data version last served with a 200
    _cache: dict[tuple[str, int], bytes] = field(default_factory=dict)

    # --- data -----------------------------------------------------------------------------

    def add_elements(self, sets: Iterable[ElementSet], *, group: str | None = None) -> list[int]:
        """Serve ``sets`` (CelesTrak GP and Space-Track), in ``group`` too when given; return their NORAD ids."""
        return [self.add_record(celestrak_record(e), group=group) for e in sets]

    def add_tle_file(self, path: str | Path, *, group: str | None = None) -> list[int]:
        """Serve the element sets of a TLE file (a shipped snapshot), as OMM; return their NORAD ids."""
        return self.add_elements(load_elements(path).elements, group=group)

    def add_record(self, record: dict[str, Any], *, group: str | None = None) -> int:
        """Serve one OMM record as given (it may be malformed: that is the point); return its NORAD id (0 if none)."""
        try:
            norad_id = int(record.get("NORAD_CAT_ID") or 0)
        except (TypeError, ValueError):
            norad_id = -len(self.gp) - 1  # an unreadable number still gets a slot
        with self._lock:
            self.gp[norad_id] = record
            if group is not None:
                members = self.groups.setdefault(group, [])
                if norad_id not in members:
                    members.append(norad_id)
            self._version += 1
        return norad_id

    def add_supgp(self, file: str, records: Iterable[dict[str, Any]]) -> None:
        """Serve ``records`` as the SupGP data set ``file``."""
        with self._lock:
            self.supgp.setdefault(file.lower(), []).extend(records)
            self._version += 1

    def fault(self, contains: str, status: int, body: str = "", *, location: str | None = None,
              times: int | None = 1) -> None:
        """Answer the next ``times`` requests whose path contains ``contains`` with ``status`` and ``body``."""
        with self._lock:
            self.faults.append(Fault(contains, status, body, location, times))

    def count(self, contains: str) -> int:
        """Return how many requests were made whose method and path contain ``contains``."""
        return sum(contains in line for line in self.requests)

    # --- server ---------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        assert self._server is not None, "start() the sites first"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> OrbitSites:
        sites = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                sites._answer(self, "GET")

            def do_POST(self) -> None:
                sites._answer(self, "POST")

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="orbit-sites", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> OrbitSites:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- answers --------------------------------------------------------------------------

    def _answer(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        with self._lock:
            self.requests.append(f"{method} {handler.path}")
            fault = self._take_fault(handler.path)
        if fault is not None:
            headers = {}
            if fault.location is not None:
                headers["Location"] = fault.location + handler.path
            self._send(handler, fault.status, fault.body.encode(), "text/plain; charset=utf-8", headers)
            return
        url = urlsplit(handler.path)
        path = url.path
        try:
            if path.endswith("/NORAD/elements/gp.php"):
                self._celestrak(handler, url.query, supplemental=False)
            elif path.endswith("/NORAD/elements/supplemental/sup-gp.php"):
                self._celestrak(handler, url.query, supplemental=True)
            elif path == "/ajaxauth/login" and method == "POST":
                self._login(handler, body)
            elif path == "/ajaxauth/logout":
                self._send(handler, 200, b'"Successfully logged out"', "application/json")
            elif path.startswith("/basicspacedata/"):
                self._spacetrack(handler, path)
            else:
                self._send(handler, 404, b"Not Found", "text/plain")
        except Exception as exc:  # a bug in the fake shows as a 500 with its reason
            self._send(handler, 500, f"orbit_sites: {type(exc).__name__}: {exc}".encode(), "text/plain")

    def _take_fault(self, path: str) -> Fault | None:
        for fault in self.faults:
            if fault.contains in path and (fault.times is None or fault.times > 0):
                if fault.times is not None:
                    fault.times -= 1
                return fault
        return None

    @staticmethod
    def _send(handler: BaseHTTPRequestHandler, status: int, body: bytes, content_type: str,
              headers: Mapping[str, str] | None = None) -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(body)

    def _celestrak(self, handler: BaseHTTPRequestHandler, query: str, *, supplemental: bool) -> None:
        params = {key.upper(): values[0] for key, values in parse_qs(query).items()}
        if params.get("FORMAT", "tle").lower() not in ("json", "json-pretty"):
            self._send(handler, 200, b"This fake serves FORMAT=json only", "text/plain")
            return
        with self._lock:
            records = self._select(params, supplemental=supplemental)
            if records is None:
                self._send(handler, 200, b"Invalid query", "text/plain")
                return
            if not records:
                self._send(handler, 200, NO_DATA_BODY.encode(), "text/plain")
                return
            key = f"{'sup' if supplemental else 'gp'}?{query}"
            if self.not_updated_on_repeat and self._served.get(key) == self._version:
                self._send(handler, 403, NOT_UPDATED_BODY.encode(), "text/plain")
                return
            self._served[key] = self._version
            body = self._cache.get((key, self._version))
            if body is None:
                body = json.dumps(records, separators=(",", ":")).encode()
                self._cache = {(key, self._version): body}
        self._send(handler, 200, body, "application/json")

    def _select(self, params: Mapping[str, str], *, supplemental: bool) -> list[dict[str, Any]] | None:
        pool: list[dict[str, Any]] = ([r for rs in self.supgp.values() for r in rs] if supplemental
                                      else list(self.gp.values()))
        if "CATNR" in params:
            return [r for r in pool if str(r.get("NORAD_CAT_ID")) == params["CATNR"].strip()]
        if "INTDES" in params:
            return [r for r in pool if str(r.get("OBJECT_ID", "")).startswith(params["INTDES"].strip())]
        if "NAME" in params:
            return [r for r in pool if params["NAME"].strip().upper() in str(r.get("OBJECT_NAME", "")).upper()]
        if not supplemental and "GROUP" in params:
            members = self.groups.get(params["GROUP"].strip().lower(), [])
            return [self.gp[n] for n in members if n in self.gp]
        if supplemental and "FILE" in params:
            return list(self.supgp.get(params["FILE"].strip().lower(), []))
        if supplemental and "SOURCE" in params:
            return [r for rs in self.supgp.values() for r in rs if r.get("DATA_SOURCE") == params["SOURCE"]]
        return None

    def _login(self, handler: BaseHTTPRequestHandler, body: bytes) -> None:
        form = {key: values[0] for key, values in parse_qs(body.decode()).items()}
        if form.get("identity") != self.identity or form.get("password") != self.password:
            self._send(handler, 200, b'{"Login":"Failed"}', "application/json")
            return
        token = secrets.token_hex(16)
        with self._lock:
            self._sessions.add(token)
        self._send(handler, 200, b'""', "application/json",
                   {"Set-Cookie": f"chocolatechip={token}; path=/; HttpOnly"})

    def _spacetrack(self, handler: BaseHTTPRequestHandler, path: str) -> None:
        cookie = handler.headers.get("Cookie", "")
        tokens = {part.strip().partition("=")[2] for part in cookie.split(";")
                  if part.strip().startswith("chocolatechip=")}
        with self._lock:
            logged_in = bool(tokens & self._sessions)
        if not logged_in:
            self._send(handler, 401, b'{"error":"You must be logged in to complete this action"}', "application/json")
            return
        if path == "/basicspacedata/modeldef/class/gp":
            data = [{"Field": name, "Type": kind, "Null": "YES", "Key": "", "Default": None, "Extra": ""}
                    for name, kind in _GP_MODEL]
            self._send(handler, 200, json.dumps({"controller": "basicspacedata", "data": data}).encode(),
                       "application/json")
            return
        parts = [unquote(p) for p in path.removeprefix("/basicspacedata/query/class/gp/").split("/")]
        predicates = dict(zip(parts[::2], parts[1::2], strict=False))
        with self._lock:
            records = list(self.gp.values())
        if "norad_cat_id" in predicates:
            wanted = set(predicates["norad_cat_id"].split(","))
            records = [r for r in records if str(r.get("NORAD_CAT_ID")) in wanted]
        elif "object_id" in predicates:
            value = predicates["object_id"]
            records = [r for r in records if (str(r.get("OBJECT_ID", "")).startswith(value[1:]) if value.startswith("^")
                                              else str(r.get("OBJECT_ID", "")) == value)]
        else:
            self._send(handler, 400, b'{"error":"this fake answers norad_cat_id and object_id queries"}',
                       "application/json")
            return
        body = json.dumps([spacetrack_record(r) for r in records]).encode()
        self._send(handler, 200, body, "application/json")


def six_digit_record(element_set: ElementSet, *, norad_id: int = 100123, object_id: str = "2026-099A",
                     name: str = "HANBIT-1") -> dict[str, Any]:
    """Return a CelesTrak OMM record of a six-digit catalog number, on the orbit of ``element_set``."""
    return {**celestrak_record(element_set), "NORAD_CAT_ID": norad_id, "OBJECT_ID": object_id, "OBJECT_NAME": name}


def served(sites: OrbitSites) -> Iterator[OrbitSites]:
    """Yield ``sites`` started, and stop them after (for a pytest fixture: ``yield from served(OrbitSites())``)."""
    sites.start()
    try:
        yield sites
    finally:
        sites.stop()


def epoch_text(at: datetime) -> str:
    """Return ``at`` as CelesTrak writes an OMM EPOCH (UTC, microseconds, no zone)."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")
