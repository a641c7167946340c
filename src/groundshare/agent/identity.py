"""The station agent's id: the same for every run on one machine with one journal.

The API's station lease (``store.lease``) is held by an agent id.  An agent restarted
after a crash or a ``kill -9`` with the same journal has the same id, so it takes its own
lease back at once; an agent of another machine or another journal has another id, and
waits for the lease to expire.
"""

from __future__ import annotations

import hashlib
import os
import socket
import uuid
from pathlib import Path

#: Places where a machine keeps its stable identity (systemd's and D-Bus's machine id).
MACHINE_ID_FILES = (Path("/etc/machine-id"), Path("/var/lib/dbus/machine-id"))


def default_agent_id(journal_path: str | os.PathLike[str] | None = None, *, host: str | None = None,
                     machine_id: str | None = None) -> str:
    """Return the agent's id: ``host/journal-<digest>``, the same for every run on this machine with this journal.

    The digest is of the machine's id (``machine_id``, default ``/etc/machine-id``, else
    its network card's address), its host name (``host``, default this one's) and the
    journal's absolute path, so two machines that share a host name, or two journals on
    one machine, never share an id; and an agent restarted with the same journal (which
    one process at a time may hold) renews its own lease instead of waiting for it to
    expire.  Without a journal: ``host/pid``.
    """
    host = (host if host is not None else socket.gethostname() or "host")[:150]
    if journal_path is None:
        return f"{host}/{os.getpid()}"
    machine = machine_id if machine_id is not None else _machine_id()
    identity = "\0".join((machine, host, str(Path(journal_path).resolve())))
    return f"{host}/journal-{hashlib.sha256(identity.encode()).hexdigest()[:16]}"


def _machine_id() -> str:
    for path in MACHINE_ID_FILES:
        try:
            text = path.read_text().strip()
        except OSError:
            continue
        if text:
            return text
    return f"{uuid.getnode():012x}"
