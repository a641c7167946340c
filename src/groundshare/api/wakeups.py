"""Live answers within one server process: their wake-ups, and how many each organisation holds.

Live answers (a frame stream, a contact session, a station agent's long poll) poll the
database every fraction of a second, which finds what any server process did; a change
made through this process also wakes them at once (``Wakeups.notify``, thread-safe, from a
route's worker thread or a background task), so that they need not wait for their next
poll.  ``FrameStreams`` counts an organisation's open streams (or sessions) against a bound
and says when the server is shutting down.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Hashable

from groundshare.errors import InvalidInputError


class Wakeups:
    """The wake-up events of one process's waiters, by key (a satellite, a station, a contact)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # key -> the event of each waiter, with the event loop that waiter runs on
        self._waiting: dict[Hashable, dict[asyncio.Event, asyncio.AbstractEventLoop]] = {}

    def subscribe(self, key: Hashable) -> asyncio.Event:
        """Return the wake-up of a new waiter on ``key`` (call on the waiter's event loop)."""
        event = asyncio.Event()
        with self._lock:
            self._waiting.setdefault(key, {})[event] = asyncio.get_running_loop()
        return event

    def unsubscribe(self, key: Hashable, event: asyncio.Event) -> None:
        with self._lock:
            waiting = self._waiting.get(key)
            if waiting is not None:
                waiting.pop(event, None)
                if not waiting:
                    del self._waiting[key]

    def notify(self, *keys: Hashable) -> None:
        """Wake every waiter on each of ``keys``; thread-safe (each event is set on its own loop)."""
        with self._lock:
            waiting = [item for key in keys for item in self._waiting.get(key, {}).items()]
        for event, loop in waiting:
            with contextlib.suppress(RuntimeError):  # a loop closed meanwhile: its waiter is gone
                loop.call_soon_threadsafe(event.set)

    def waiters(self, key: Hashable) -> int:
        with self._lock:
            return len(self._waiting.get(key, {}))


class FrameStreams:
    """The frame streams of one server process: how many each organisation holds, and their wake-ups.

    ``notify(satellite_id)`` (from any thread) wakes every stream of that satellite, so a
    frame uploaded through this process is sent at once rather than at the next poll.
    """

    def __init__(self, max_per_org: int) -> None:
        if max_per_org < 1:
            raise InvalidInputError(f"max_frame_streams_per_org must be 1 or more, got {max_per_org!r}",
                                    loc=("max_frame_streams_per_org",))
        self.max_per_org = max_per_org
        #: Set when the server shuts down (``groundshare serve`` on SIGTERM/SIGINT): every stream ends at its next
        #: poll, so that the server does not wait for clients that never hang up.
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._open: dict[int, int] = {}  # organisation id -> streams open
        #: The wake-ups of the streams, by satellite id.
        self.wakeups = Wakeups()

    def acquire(self, org_id: int) -> bool:
        """Count a stream of ``org_id`` open; False (nothing counted) when it holds ``max_per_org`` already."""
        with self._lock:
            if self._open.get(org_id, 0) >= self.max_per_org:
                return False
            self._open[org_id] = self._open.get(org_id, 0) + 1
            return True

    def release(self, org_id: int) -> None:
        with self._lock:
            left = self._open.get(org_id, 0) - 1
            if left > 0:
                self._open[org_id] = left
            else:
                self._open.pop(org_id, None)

    def open_count(self, org_id: int) -> int:
        with self._lock:
            return self._open.get(org_id, 0)

    def subscribe(self, satellite_id: int) -> asyncio.Event:
        """Return the wake-up of a new stream of ``satellite_id`` (call on the stream's event loop)."""
        return self.wakeups.subscribe(satellite_id)

    def unsubscribe(self, satellite_id: int, event: asyncio.Event) -> None:
        self.wakeups.unsubscribe(satellite_id, event)

    def notify(self, satellite_id: int) -> None:
        """Wake the streams (and contact sessions) of ``satellite_id``; thread-safe."""
        self.wakeups.notify(satellite_id)
