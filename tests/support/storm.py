"""An HTTP booking storm: many client threads booking windows through ``POST /contacts`` of a served network.

Each thread has its own ``httpx.Client`` (its own connection); every response is sorted
(booked, refused as a conflict naming the contact in the way, server error, other status,
no response).  Used by the service tests and by ``bench/api.py``.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx

from .served import REQUEST_TIMEOUT_S, ServedApi, ServedWorld


def contact_body(world: ServedWorld, start: datetime, end: datetime) -> dict[str, Any]:
    """Return the body of ``POST /contacts`` booking the world's antenna over ``[start, end)``.

    The world's organisation operates its satellite, which has no element set: it books outside a pass.
    """
    return {"antenna_id": world.antenna_id, "satellite_id": world.satellite_id, "allow_outside_pass": True,
            "start": start.isoformat().replace("+00:00", "Z"), "end": end.isoformat().replace("+00:00", "Z")}


@dataclass
class StormResult:
    """Every response of a booking storm, sorted."""

    attempts: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    booked_ids: list[int] = field(default_factory=list)  # ids acknowledged with 201
    conflicts_without_contact: list[str] = field(default_factory=list)  # 409 bodies that name no contact
    transport_errors: list[str] = field(default_factory=list)  # no response (e.g. the server was killed)
    server_errors: list[str] = field(default_factory=list)  # >= 500: status and body
    unexpected: list[str] = field(default_factory=list)  # any other status
    latencies_s: list[float] = field(default_factory=list)
    elapsed_s: float = 0.0

    @property
    def booked(self) -> int:
        return self.statuses[201]

    @property
    def conflicts(self) -> int:
        return self.statuses[409]

    def summary(self, label: str) -> str:
        rate = self.attempts / self.elapsed_s if self.elapsed_s else 0.0
        return (f"{label}: {self.attempts} attempts in {self.elapsed_s:.1f} s ({rate:.1f} req/s), "
                f"{self.booked} booked (201), {self.conflicts} conflicts (409), "
                f"{len(self.server_errors)} server errors (>= 500), {len(self.unexpected)} other statuses, "
                f"{len(self.transport_errors)} without a response")


Window = Callable[[random.Random, int, int], tuple[datetime, datetime]]


def storm(server: ServedApi, world: ServedWorld, *, threads: int, duration_s: float, window: Window,
          seed: int = 2024, stop: threading.Event | None = None,
          acknowledged: list[int] | None = None) -> StormResult:
    """Return the sorted responses of ``threads`` clients booking ``window(rng, thread, attempt)`` in a loop.

    Each thread has its own ``httpx.Client`` (its own connection).  The storm ends after
    ``duration_s``, or when ``stop`` is set; a thread whose request gets no response (the
    server is gone) stops at once.  ``acknowledged``, if given, receives each 201's
    contact id as it arrives (for a caller watching the storm from another thread).
    """
    barrier = threading.Barrier(threads + 1)
    results = [StormResult() for _ in range(threads)]
    stop = stop or threading.Event()

    def worker(index: int) -> None:
        rng = random.Random(seed + index)
        mine = results[index]
        with httpx.Client(base_url=server.base_url, headers=world.headers, timeout=REQUEST_TIMEOUT_S) as client:
            barrier.wait()
            deadline = time.monotonic() + duration_s
            while time.monotonic() < deadline and not stop.is_set():
                start, end = window(rng, index, mine.attempts)
                mine.attempts += 1
                sent = time.perf_counter()
                try:
                    response = client.post("/contacts", json=contact_body(world, start, end))
                except httpx.TransportError as exc:
                    mine.transport_errors.append(f"{type(exc).__name__}: {exc}")
                    return
                mine.latencies_s.append(time.perf_counter() - sent)
                mine.statuses[response.status_code] += 1
                if response.status_code == 201:
                    mine.booked_ids.append(response.json()["id"])
                    if acknowledged is not None:
                        acknowledged.append(mine.booked_ids[-1])  # list.append is atomic
                elif response.status_code == 409:
                    detail = response.json()["detail"][0]
                    if not isinstance(detail.get("ctx", {}).get("contact_id"), int):
                        mine.conflicts_without_contact.append(response.text)
                elif response.status_code >= 500:
                    mine.server_errors.append(f"{response.status_code} {response.text}")
                else:
                    mine.unexpected.append(f"{response.status_code} {response.text}")

    pool = [threading.Thread(target=worker, args=(i,), name=f"client-{i}") for i in range(threads)]
    for thread in pool:
        thread.start()
    barrier.wait()
    started = time.monotonic()
    for thread in pool:
        thread.join()
    total = StormResult(elapsed_s=time.monotonic() - started)
    for result in results:
        total.attempts += result.attempts
        total.statuses.update(result.statuses)
        total.booked_ids.extend(result.booked_ids)
        for name in ("conflicts_without_contact", "transport_errors", "server_errors", "unexpected", "latencies_s"):
            getattr(total, name).extend(getattr(result, name))
    return total


def stored_contacts(server: ServedApi, world: ServedWorld) -> list[dict[str, Any]]:
    """Return every contact the world's organisation sees, through ``GET /contacts`` page by page."""
    contacts: list[dict[str, Any]] = []
    with httpx.Client(base_url=server.base_url, headers=world.headers, timeout=REQUEST_TIMEOUT_S) as client:
        while True:
            response = client.get("/contacts", params={"offset": len(contacts), "limit": 500})
            response.raise_for_status()
            page = response.json()
            contacts.extend(page["data"])
            if not page["data"] or len(contacts) >= page["count"]:
                return contacts
