"""Run independent chunks of array work on several processes (both cores of a small machine)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_all_start_methods, get_context
from typing import TypeVar

Task = TypeVar("Task")
Result = TypeVar("Result")


def default_workers(workers: int | None) -> int:
    """Return the number of processes to use: ``workers``, or one per CPU."""
    return max(1, workers if workers is not None else (os.cpu_count() or 1))


def map_chunks(fn: Callable[[Task], Result], tasks: Sequence[Task], workers: int) -> Iterator[Result]:
    """Yield ``fn(task)`` for each task, in order, on up to ``workers`` processes.

    One task or one worker runs in this process.  Workers are forked where the platform
    can (they inherit the loaded data instead of re-importing it); ``fn`` must be a
    module-level function and tasks and results picklable.
    """
    if workers <= 1 or len(tasks) <= 1:
        yield from map(fn, tasks)
        return
    context = get_context("fork") if "fork" in get_all_start_methods() else None
    with ProcessPoolExecutor(max_workers=min(workers, len(tasks)), mp_context=context) as pool:
        yield from pool.map(fn, tasks)
