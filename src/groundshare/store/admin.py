"""Administering a store from the operator's side: open a migrated database, add organisations, issue tokens.

``open_store`` is how the command line reaches a database: it refuses one that is not at
the newest revision with the command that migrates it, and turns a refusal of the
database itself into ``StoreSetupError`` (a ``GroundshareError``, so the command line
prints it as ``error: ...``).  The other functions work in the unit of work they are
given and do not commit.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlalchemy.orm import Session

from groundshare.errors import ConflictError, InvalidInputError, NotFoundError
from groundshare.roles import OrgKind, Role
from groundshare.store.db import (
    StoreSetupError,
    create_engine_for,
    default_database_path,
    default_database_url,
    make_session_factory,
    session_scope,
)
from groundshare.store.models import ApiToken, Organisation
from groundshare.timeutil import utc_now


def shown_url(database_url: str | None) -> str:
    """Return the database URL for messages (the default one when None), password hidden."""
    url = database_url if database_url is not None else default_database_url()
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return repr(url)


def shell_quoted(text: str) -> str:
    """Return ``text`` quoted for a shell command line when it needs it."""
    return shlex.quote(text)


@contextmanager
def open_store(database_url: str | None, *, hint: str = "") -> Iterator[Session]:
    """Yield a session on a migrated database: one unit of work, committed at the end.

    A database that is not at the newest revision is refused with the command that fixes
    it (and ``hint``, e.g. where another database is); an unreachable one raises
    ``StoreSetupError`` (a ``GroundshareError``).
    """
    from groundshare.store.migrate import current, head

    revision = current(database_url)
    if revision != head():
        where = f" --database-url {shell_quoted(shown_url(database_url))}" if database_url is not None else ""
        state = "has no groundshare tables" if revision is None else f"is at revision {revision}, not {head()}"
        raise StoreSetupError(f"the database {shown_url(database_url)} {state}; migrate it first with:  "
                              f"groundshare db upgrade{where}" + (f"\n{hint}" if hint else ""))
    engine = create_engine_for(database_url)
    try:
        with session_scope(make_session_factory(engine)) as session:
            yield session
    except DBAPIError as exc:
        raise StoreSetupError(f"the database {shown_url(database_url)} refused the change: "
                              f"{str(exc.orig).strip().splitlines()[0]}") from exc
    finally:
        engine.dispose()


def find_organisation(session: Session, name: str) -> Organisation | None:
    """Return the organisation called ``name``, or None."""
    return session.scalars(select(Organisation).where(Organisation.name == name)).one_or_none()


def create_organisation(session: Session, name: str, kind: OrgKind) -> Organisation:
    """Add the organisation ``name`` and return it (with its id); ``ConflictError`` if the name is taken."""
    if find_organisation(session, name) is not None:
        raise ConflictError(f"organisation {name!r} already exists; choose another name, or issue it a "
                            f"token with:  groundshare admin create-token --org {shell_quoted(name)}")
    org = Organisation(name=name, kind=kind)
    session.add(org)
    session.flush()
    return org


def issue_organisation_token(session: Session, org_name: str, role: Role, *, label: str = "",
                             expires_in_days: float | None = None, can_command: bool = False) -> str:
    """Issue an API token for the organisation ``org_name`` and return it (only its hash is stored).

    ``expires_in_days``: the token stops working this many days from now (more than 0;
    None: it does not expire).  ``can_command``: it may command the organisation's
    satellites in live sessions (not a viewer's).  ``NotFoundError`` names the command that
    creates a missing organisation.
    """
    found = find_organisation(session, org_name)
    if found is None:
        raise NotFoundError(f"no organisation is named {org_name!r}; create it first with:  "
                            f"groundshare admin create-org {shell_quoted(org_name)}")
    if can_command and role is Role.VIEWER:
        raise InvalidInputError("a viewer token cannot command; give --role operator (or admin) with --can-command",
                                loc=("can_command",))
    row, token = ApiToken.issue(found.id, role, label=label)
    row.can_command = can_command
    if expires_in_days is not None:
        if expires_in_days <= 0:
            raise InvalidInputError("--expires-in-days must be more than 0 (leave it out for a token that "
                                    "does not expire)", loc=("expires_in_days",))
        row.expires_at = utc_now() + timedelta(days=expires_in_days)
    session.add(row)
    return token


def default_tokens_file(database_url: str | None) -> Path:
    """Return where ``demo load`` keeps tokens: beside an SQLite database file, else in the data folder."""
    try:
        url = make_url(database_url if database_url is not None else default_database_url())
    except ArgumentError:
        url = None
    if url is not None and url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        return Path(url.database).resolve().parent / "tokens.toml"
    return default_database_path().parent / "tokens.toml"
