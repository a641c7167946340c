"""SQLite writers queue for their turn (``store.db.SqliteWriteQueue``) instead of polling SQLite's lock.

Two engines on one file stand for two processes: each has its own lock file descriptor,
and ``flock`` locks of two descriptors exclude each other as two processes' do.  A
subprocess checks the real cross-process case once.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError

from groundshare.store import create_engine_for, init_db, is_transient, make_session_factory, session_scope
from groundshare.store.db import SqliteWriteQueue

#: Long enough for a waiting writer to have tried (and, without the queue, got in); no speed is asserted.
SETTLE_S = 0.3


@pytest.fixture
def database(tmp_path: Path) -> Path:
    path = tmp_path / "queued.db"
    engine = create_engine_for(f"sqlite:///{path}")
    init_db(engine)
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE log (id INTEGER PRIMARY KEY, who TEXT NOT NULL)")
    engine.dispose()
    return path


def _engine(path: Path) -> Engine:
    return create_engine_for(f"sqlite:///{path}", pool_size=4)


def _turn_taken(database: Path) -> bool:
    """Return whether some writer holds the file's write turn (its lock file is locked)."""
    fd = os.open(f"{database}.write.lock", os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # closing lets go of the lock if it was had
    return False


def _written(engine: Engine) -> list[str]:
    with engine.connect() as connection:
        return list(connection.execute(text("SELECT who FROM log ORDER BY id")).scalars())


def test_a_writer_of_another_engine_waits_for_the_turn_and_then_writes(database: Path) -> None:
    first, second = _engine(database), _engine(database)
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        with session_scope(make_session_factory(first)) as session:
            session.execute(text("INSERT INTO log (who) VALUES ('first')"))
            holding.set()
            release.wait(10)

    def write_second() -> None:
        with session_scope(make_session_factory(second)) as session:
            session.execute(text("INSERT INTO log (who) VALUES ('second')"))

    holder = threading.Thread(target=hold)
    holder.start()
    assert holding.wait(10)
    assert _turn_taken(database)
    waiter = threading.Thread(target=write_second)
    waiter.start()
    waiter.join(SETTLE_S)
    assert waiter.is_alive()  # queued behind the first writer's turn, not refused
    release.set()
    holder.join(10)
    waiter.join(10)
    assert _written(first) == ["first", "second"]
    assert not _turn_taken(database)
    first.dispose()
    second.dispose()


def test_a_failed_unit_of_work_gives_its_turn_back(database: Path) -> None:
    engine = _engine(database)
    factory = make_session_factory(engine)
    with pytest.raises(RuntimeError), session_scope(factory) as session:
        session.execute(text("INSERT INTO log (who) VALUES ('rolled back')"))
        raise RuntimeError("the route failed")
    with session_scope(factory) as session:  # would wait forever if the turn were still held
        session.execute(text("INSERT INTO log (who) VALUES ('next')"))
    assert _written(engine) == ["next"]
    engine.dispose()


def test_readers_do_not_queue_behind_a_writer(database: Path) -> None:
    engine = _engine(database)
    factory = make_session_factory(engine)
    with session_scope(factory) as writer:
        writer.execute(text("INSERT INTO log (who) VALUES ('pending')"))
        read: list[list[str]] = []
        reader = threading.Thread(target=lambda: read.append(_read(factory)))
        reader.start()
        reader.join(10)
        assert not reader.is_alive()
    assert read == [[]]  # WAL: the reader saw the last commit, without the pending write
    engine.dispose()


def _read(factory) -> list[str]:
    with session_scope(factory, write=False) as session:
        return list(session.execute(text("SELECT who FROM log")).scalars())


def test_many_writer_threads_all_get_their_turn(database: Path) -> None:
    engines = [_engine(database), _engine(database)]
    failures: list[BaseException] = []

    def write(index: int) -> None:
        factory = make_session_factory(engines[index % 2])
        try:
            for attempt in range(5):
                with session_scope(factory) as session:
                    session.execute(text("INSERT INTO log (who) VALUES (:who)"), {"who": f"{index}-{attempt}"})
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert failures == []
    assert sorted(_written(engines[0])) == sorted(f"{i}-{a}" for i in range(12) for a in range(5))
    for engine in engines:
        engine.dispose()


def test_no_turn_within_the_timeout_is_sqlites_transient_database_is_locked(tmp_path: Path) -> None:
    queue = SqliteWriteQueue(tmp_path / "x.db", timeout_s=0.05)
    queue.acquire()
    try:
        errors: list[OperationalError] = []

        def second_thread() -> None:
            try:
                queue.acquire()
            except OperationalError as exc:
                errors.append(exc)

        thread = threading.Thread(target=second_thread)
        thread.start()
        thread.join(10)
    finally:
        queue.release()
    assert len(errors) == 1
    assert "database is locked" in str(errors[0]) and is_transient(errors[0])


HOLD_IN_ANOTHER_PROCESS = """
import sys, time
from sqlalchemy import text
from groundshare.store import create_engine_for, make_session_factory, session_scope
engine = create_engine_for(sys.argv[1])
with session_scope(make_session_factory(engine)) as session:
    session.execute(text("INSERT INTO log (who) VALUES ('other process')"))
    print("holding", flush=True)
    time.sleep(float(sys.argv[2]))
"""


@pytest.mark.slow  # a Python process importing the store
def test_a_writer_waits_for_another_processs_turn(database: Path) -> None:
    url = f"sqlite:///{database}"
    other = subprocess.Popen([sys.executable, "-c", HOLD_IN_ANOTHER_PROCESS, url, "0.5"], stdout=subprocess.PIPE,
                             text=True)
    try:
        assert other.stdout is not None and other.stdout.readline().strip() == "holding"
        assert _turn_taken(database)  # the other process's writer holds the turn, in the lock file
        engine = _engine(database)
        with session_scope(make_session_factory(engine)) as session:
            session.execute(text("INSERT INTO log (who) VALUES ('this process')"))
        assert other.wait(30) == 0
    finally:
        other.kill()
        other.wait()
    assert _written(engine) == ["other process", "this process"]
    engine.dispose()
