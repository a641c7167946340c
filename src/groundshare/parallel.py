"""Run independent chunks of array work: in this process, on local processes, or on a Dask cluster.

An ``Executor`` maps a module-level function over picklable tasks and returns the results
in task order, calling ``progress(index)`` as each task finishes.  ``LocalExecutor`` uses
this machine (one worker: this process; more: a pool of forked processes);
``DaskExecutor`` sends the tasks to a Dask distributed scheduler, so that a catalogue too
big for one machine is shared by many.  Dask is optional (``pip install groundshare[dask]``)
and imported only when a ``DaskExecutor`` is made: nothing else in groundshare imports it.

Tasks carry element sets as ``ElementSet`` objects (plain frozen dataclasses, TLE text
included), never sgp4's ``Satrec``, which cannot be pickled; each task builds its own.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import get_all_start_methods, get_context
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from groundshare.errors import GroundshareError, InvalidInputError

if TYPE_CHECKING:
    from distributed import Client

Task = TypeVar("Task")
Result = TypeVar("Result")

# Seconds to wait for a Dask scheduler to answer before saying it cannot be reached.
CONNECT_TIMEOUT_S = 10.0
# Times Dask reruns a task that raised (a lost worker's tasks are rescheduled without counting).
TASK_RETRIES = 2


class ClusterError(GroundshareError):
    """The Dask cluster cannot be used: Dask is not installed, or the scheduler cannot be reached."""


class Executor(Protocol):
    """Something that runs ``fn`` over tasks and returns the results in task order."""

    @property
    def workers(self) -> int:
        """Number of tasks that can run at once (used to size chunks)."""
        ...

    def map(self, fn: Callable[[Any], Any], tasks: Sequence[Any],
            progress: Callable[[int], None] | None = None) -> list[Any]:
        """Return ``[fn(t) for t in tasks]``, calling ``progress(i)`` as task ``i`` finishes."""
        ...


def default_workers(workers: int | None) -> int:
    """Return the number of processes to use: ``workers``, or one per CPU."""
    return max(1, workers if workers is not None else (os.cpu_count() or 1))


class LocalExecutor:
    """This machine: one worker runs the tasks in this process, more share them in forked processes.

    Workers are forked where the platform can (they inherit the loaded data instead of
    re-importing it); ``fn`` must be a module-level function and tasks and results picklable.
    By default each ``map`` forks its pool and lets it go.  ``keep_pool=True`` keeps the
    pool from one ``map`` to the next until ``close()`` (or the end of a ``with`` block):
    a process that searches again and again (a service, a benchmark's repeated runs) then
    forks once.  A kept pool's processes are a snapshot of this process when they were
    forked: it is forked again when this process's environment variables have changed
    since (they choose, for example, the pass kernel), or when one of its processes died.
    """

    def __init__(self, workers: int | None = None, *, keep_pool: bool = False) -> None:
        self._workers = default_workers(workers)
        self._keep_pool = keep_pool
        self._pool: ProcessPoolExecutor | None = None
        self._pool_key: tuple[Any, ...] | None = None

    @property
    def workers(self) -> int:
        return self._workers

    def map(self, fn: Callable[[Task], Result], tasks: Sequence[Task],
            progress: Callable[[int], None] | None = None) -> list[Result]:
        """Return ``[fn(t) for t in tasks]`` in order, calling ``progress(i)`` as task ``i`` finishes."""
        tasks = list(tasks)
        if self._workers <= 1 or len(tasks) <= 1:
            results = []
            for i, task in enumerate(tasks):
                results.append(fn(task))
                if progress:
                    progress(i)
            return results
        out: list[Any] = [None] * len(tasks)
        pool = self._kept_pool() if self._keep_pool else _fork_pool(min(self._workers, len(tasks)))
        try:
            futures = {pool.submit(fn, task): i for i, task in enumerate(tasks)}
            for future in as_completed(futures):
                i = futures[future]
                out[i] = future.result()
                if progress:
                    progress(i)
        except BrokenProcessPool:
            self.close()            # a process died (killed, out of memory): the next map forks anew
            raise
        finally:
            if not self._keep_pool:
                pool.shutdown(wait=True, cancel_futures=True)
        return out

    def _kept_pool(self) -> ProcessPoolExecutor:
        key = (os.getpid(), tuple(sorted(os.environ.items())))
        if self._pool is not None and key != self._pool_key:
            self.close()
        if self._pool is None:
            self._pool, self._pool_key = _fork_pool(self._workers), key
        return self._pool

    def close(self) -> None:
        """Let the kept pool's processes go (nothing to do without ``keep_pool``: pools live for one ``map``)."""
        pool, self._pool, self._pool_key = self._pool, None, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> LocalExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"LocalExecutor(workers={self._workers}{', keep_pool=True' if self._keep_pool else ''})"


def _fork_pool(workers: int) -> ProcessPoolExecutor:
    """Return a pool of ``workers`` processes, forked where the platform can."""
    context = get_context("fork") if "fork" in get_all_start_methods() else None
    return ProcessPoolExecutor(max_workers=workers, mp_context=context)


def _import_distributed() -> Any:
    try:
        import distributed
    except ImportError:
        raise ClusterError("a Dask cluster needs the optional dependency dask[distributed]: "
                           "pip install 'groundshare[dask]' (on this machine and on every worker)") from None
    return distributed


class DaskExecutor:
    """A Dask distributed cluster: tasks run on its workers, results come back in task order.

    ``address`` is a scheduler address (``tcp://HOST:8786``, connected to here and closed
    by ``close()``) or a ``distributed.Client`` the caller already has (left open).  Start
    a cluster with ``dask scheduler`` on one machine and ``dask worker tcp://HOST:8786``
    on each of the others; every worker needs groundshare installed
    (``pip install groundshare[dask]``).  A task that raises is retried ``TASK_RETRIES``
    times; the tasks of a worker that dies are rescheduled on the others by Dask.
    """

    def __init__(self, address: str | Client, *, timeout_s: float = CONNECT_TIMEOUT_S) -> None:
        distributed = _import_distributed()
        self._distributed = distributed
        if isinstance(address, distributed.Client):
            self.client = address
            self._owned = False
            self.address = str(address.scheduler.address if address.scheduler else "")
            return
        if not isinstance(address, str) or not address.strip():
            raise InvalidInputError(f"cluster address is {address!r}; expected a Dask scheduler address such as "
                                    "tcp://HOST:8786", loc=("cluster",))
        self.address = address.strip()
        try:
            self.client = distributed.Client(self.address, timeout=timeout_s, set_as_default=False)
        except (OSError, TimeoutError, ValueError) as exc:
            raise ClusterError(
                f"cannot reach the Dask scheduler at {self.address} ({type(exc).__name__}: {exc}); start one with "
                f"`dask scheduler` on HOST and workers with `dask worker tcp://HOST:8786` (each with groundshare "
                f"installed: pip install 'groundshare[dask]'), then pass its address, e.g. --cluster "
                f"tcp://HOST:8786") from None
        self._owned = True

    @property
    def workers(self) -> int:
        """Threads across the cluster's workers now (at least 1)."""
        return max(1, sum(self.client.nthreads().values()))

    def map(self, fn: Callable[[Task], Result], tasks: Sequence[Task],
            progress: Callable[[int], None] | None = None) -> list[Result]:
        """Return ``[fn(t) for t in tasks]`` in order, calling ``progress(i)`` as task ``i`` finishes."""
        tasks = list(tasks)
        if not tasks:
            return []
        # One future per task (client.map over tuples would treat each tuple as one argument anyway).
        futures = [self.client.submit(fn, task, pure=False, retries=TASK_RETRIES) for task in tasks]
        index = {future.key: i for i, future in enumerate(futures)}
        try:
            for future in self._distributed.as_completed(futures, loop=self.client.loop):
                if future.status == "error":
                    future.result()          # raise the task's own exception here
                if progress:
                    progress(index[future.key])
            return self.client.gather(futures)
        finally:
            for future in futures:
                future.release()

    def close(self) -> None:
        """Close the connection this executor opened (a client passed in is left open)."""
        if self._owned:
            self.client.close()

    def __enter__(self) -> DaskExecutor:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"DaskExecutor({self.address!r}, workers={self.workers})"


def make_executor(workers: int | None = None, cluster: str | None = None) -> LocalExecutor | DaskExecutor:
    """Return the executor for ``--workers N`` (local processes) or ``--cluster tcp://HOST:8786`` (Dask).

    Neither: a ``LocalExecutor`` with one process per CPU.  Both: ``InvalidInputError``.
    """
    if workers is not None and cluster is not None:
        raise InvalidInputError("give either workers (processes on this machine) or cluster (a Dask scheduler "
                                "address), not both", loc=("cluster",))
    if cluster is not None:
        return DaskExecutor(cluster)
    return LocalExecutor(workers)


def resolve_executor(executor: Executor | None, workers: int | None) -> Executor:
    """Return ``executor``, or a ``LocalExecutor(workers)`` when none is given (the ``workers=`` argument)."""
    if executor is not None and workers is not None:
        raise InvalidInputError("give either workers= or executor=, not both", loc=("executor",))
    return executor if executor is not None else LocalExecutor(workers)


def map_chunks(fn: Callable[[Task], Result], tasks: Sequence[Task], workers: int) -> Iterator[Result]:
    """Yield ``fn(task)`` for each task, in order, on up to ``workers`` local processes.

    Kept for callers of earlier versions; ``LocalExecutor(workers).map`` does the work.
    """
    yield from LocalExecutor(workers).map(fn, tasks)
