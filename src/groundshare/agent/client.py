"""The agent's side of the REST API: its station, its schedule, its lease, its reports.

``AgentApi`` wraps the few routes the agent uses (``/orgs/me``, ``/stations``,
``/clock``, ``/agent/...``) with one ``httpx.Client``. Errors come back as two kinds:
``ApiUnreachableError`` when the server cannot be reached or answers 5xx (the agent carries
on from its journal and reports later), and ``ApiRefusedError`` for a 4xx answer (the
request itself is wrong or no longer allowed: retrying will not help), with the API's
own message.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx

from groundshare.errors import ConflictError, GroundshareError
from groundshare.timeutil import format_utc, parse_utc

#: Seconds one API request may take before the agent treats the server as unreachable.
REQUEST_TIMEOUT_S = 10.0


class ApiUnreachableError(GroundshareError):
    """The API did not answer (network, timeout, 5xx): try again later."""


class ApiRefusedError(GroundshareError):
    """The API answered 4xx: the request is refused; ``status`` and the API's message say why."""

    def __init__(self, message: str, *, status: int) -> None:
        super().__init__(message)
        self.status = status


class AgentApi:
    """The routes the station agent calls, authenticated with the station owner's token."""

    def __init__(self, base_url: str, token: str, *, timeout_s: float = REQUEST_TIMEOUT_S,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self._client = httpx.Client(base_url=self.base_url, headers={"Authorization": f"Bearer {token}"},
                                    timeout=timeout_s, transport=transport)

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> AgentApi:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self._client.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise ApiUnreachableError(f"{method} {self.base_url}{path}: {exc.__class__.__name__}: {exc}") from exc
        if response.status_code >= 500:
            raise ApiUnreachableError(f"{method} {self.base_url}{path} answered {response.status_code}")
        if response.status_code >= 400:
            try:
                detail = response.json().get("detail", response.text)
            except ValueError:
                detail = response.text
            if isinstance(detail, list):
                detail = "; ".join(str(d.get("msg", d)) if isinstance(d, dict) else str(d) for d in detail)
            raise ApiRefusedError(f"{method} {path} refused ({response.status_code}): {detail}",
                             status=response.status_code)
        return response.json() if response.content else None

    def find_station(self, name: str) -> dict[str, Any]:
        """Return the caller's own station called ``name`` (``ApiRefusedError`` 404 naming the ones there are)."""
        me = self._call("GET", "/orgs/me")
        own_id = me["org"]["id"]
        stations: list[dict[str, Any]] = []
        while True:
            page = self._call("GET", "/stations", params={"limit": 500, "offset": len(stations)})
            stations += page["data"]
            if not page["data"] or len(stations) >= page["count"]:
                break
        own = [s for s in stations if s["org_id"] == own_id]
        for station in own:
            if station["name"] == name:
                return station
        names = ", ".join(sorted(s["name"] for s in own)) or "none"
        raise ApiRefusedError(f"no station called {name!r} belongs to {me['org']['name']} (its stations: {names}); "
                         "an agent runs one of its own organisation's stations", status=404)

    def server_time(self) -> datetime:
        """Return the server's wall clock (``GET /clock``)."""
        return parse_utc(self._call("GET", "/clock")["wall_clock"], "wall_clock")

    def schedule(self, station_id: int, start: datetime, end: datetime) -> dict[str, Any]:
        """Return ``GET /agent/schedule`` for the station over ``[start, end)``."""
        return self._call("GET", "/agent/schedule", params={"station_id": station_id, "start": format_utc(start),
                                                           "end": format_utc(end)})

    def acquire_lease(self, station_id: int, agent_id: str, ttl_s: float) -> dict[str, Any]:
        """Take or renew the station's agent lease; ``ConflictError`` if another agent holds it."""
        try:
            return self._call("POST", f"/agent/stations/{station_id}/lease", json={"agent_id": agent_id,
                                                                                  "ttl_s": ttl_s})
        except ApiRefusedError as exc:
            if exc.status == 409:
                raise ConflictError(str(exc)) from exc
            raise

    def release_lease(self, station_id: int, agent_id: str) -> None:
        self._call("DELETE", f"/agent/stations/{station_id}/lease", params={"agent_id": agent_id})

    def report(self, contact_id: int, kind: str, body: dict[str, Any]) -> dict[str, Any]:
        """Send a ``start`` or ``outcome`` report of a contact."""
        return self._call("POST", f"/agent/contacts/{contact_id}/{kind}", json=body)
