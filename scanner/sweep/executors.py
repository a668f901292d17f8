"""Where per-repository tasks run: a local process pool (default) or a Dask distributed cluster.

Both yield results as tasks complete, in any order. A task function never raises for a
repository problem; a *lost* task (worker died, Dask task failed) is turned into a result by
the caller's ``lost`` function, so one bad repository never stops the sweep.
"""

from __future__ import annotations

import signal
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Any, Protocol, TypeVar

from scanner.sources.workers import die_with_parent, process_context

T = TypeVar("T")
R = TypeVar("R")

Lost = Callable[[Any, str], Any]
Started = Callable[[Any], None]


class ExecutorError(Exception):
    """The executor itself cannot run (e.g. no Dask scheduler at that address)."""


class Executor(Protocol):
    def run(self, fn: Callable[[T], R], tasks: Sequence[T], lost: Callable[[T, str], R],
            started: Callable[[T], None] | None = None) -> Iterator[R]: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class _Failed:
    message: str


def _pool_worker(conn: Connection, warmup: Callable[[], None] | None, close_fds: tuple[int, ...] = ()) -> None:
    """Run ``(fn, task)`` pairs sent over ``conn`` until told to stop; Ctrl-C is the coordinator's to handle."""
    die_with_parent(close_fds)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a forked worker inherits the coordinator's handler
    if warmup is not None:
        try:
            warmup()  # imports and rule parsing overlap with the coordinator's own start-up
        except Exception:  # noqa: BLE001, S110 - the first real task reports any problem properly
            pass
    while True:
        try:
            item = conn.recv()
        except (EOFError, OSError):
            return
        if item is None:
            return
        fn, task = item
        try:
            result = fn(task)
        except Exception as exc:  # noqa: BLE001 - reported as this task's failure, never a traceback
            result = _Failed(f"{type(exc).__name__}: {exc}")
        conn.send(result)


@dataclass
class _Slot:
    proc: Any
    conn: Connection
    index: int | None = None  # task in flight


class LocalExecutor:
    """``jobs`` worker processes, one task at a time each.

    Tasks are handed out one by one over a pipe, so the coordinator always knows which task a
    worker holds: a worker that dies (OOM killer, segfault) costs that one task, reported as lost,
    and a fresh worker takes over the rest. Workers live until ``close`` and serve every ``run``.
    Start them before the coordinator starts threads (verification), so they can be forked.
    Each worker runs ``warmup`` (imports, rules) itself: in parallel, while the coordinator
    resolves the targets.
    """

    def __init__(self, jobs: int, warmup: Callable[[], None] | None = None, close_fds: tuple[int, ...] = ()):
        self.jobs = max(1, jobs)
        self.warmup = warmup
        self.close_fds = close_fds  # the coordinator's locks: a forked worker must not hold them
        self.slots: list[_Slot] = []

    def start(self) -> None:
        """Start the workers now, so their start-up overlaps with the coordinator's."""
        while len(self.slots) < self.jobs:
            self.slots.append(self._spawn())

    def _spawn(self) -> _Slot:
        ctx = process_context()
        ours, theirs = ctx.Pipe()
        close_fds = self.close_fds if ctx.get_start_method() == "fork" else ()
        proc = ctx.Process(target=_pool_worker, args=(theirs, self.warmup, close_fds), daemon=True,
                           name="jts-sweep-worker")
        proc.start()
        theirs.close()
        return _Slot(proc, ours)

    def run(self, fn: Callable[[T], R], tasks: Sequence[T], lost: Callable[[T, str], R],
            started: Callable[[T], None] | None = None) -> Iterator[R]:
        todo = deque(range(len(tasks)))
        if todo:
            self.start()
        clean = False
        try:
            for slot in self.slots:
                self._hand_out(slot, fn, tasks, todo, started)
            while any(s.index is not None for s in self.slots):
                busy = [s for s in self.slots if s.index is not None]
                ready = wait([s.conn for s in busy] + [s.proc.sentinel for s in busy])
                for slot in busy:
                    if slot.conn in ready or slot.conn.poll():  # a result first, even if it died just after
                        try:
                            result = slot.conn.recv()
                        except (EOFError, OSError):
                            result = None
                        if result is not None:
                            index, slot.index = slot.index, None
                            self._hand_out(slot, fn, tasks, todo, started)
                            if isinstance(result, _Failed):
                                result = lost(tasks[index], f"task failed: {result.message}")
                            yield result
                            continue
                    if slot.proc.sentinel in ready or not slot.proc.is_alive():
                        index, slot.index = slot.index, None
                        slot.proc.join(timeout=1)
                        slot.conn.close()
                        self.slots.remove(slot)
                        if todo:  # replace the dead worker
                            fresh = self._spawn()
                            self.slots.append(fresh)
                            self._hand_out(fresh, fn, tasks, todo, started)
                        if index is not None:
                            yield lost(tasks[index], f"worker process died (exit code {slot.proc.exitcode})")
            clean = True
        finally:
            if not clean:  # interrupted: nobody waits for half-scanned repositories
                self._stop(graceful=False)

    @staticmethod
    def _hand_out(slot: _Slot, fn: Callable[[Any], Any], tasks: Sequence[Any], todo: deque[int],
                  started: Started | None) -> None:
        if not todo:
            return
        slot.index = todo.popleft()
        if started:
            started(tasks[slot.index])
        try:
            slot.conn.send((fn, tasks[slot.index]))
        except OSError:
            pass  # the worker is gone: its sentinel reports the task as lost

    def _stop(self, graceful: bool) -> None:
        slots, self.slots = self.slots, []
        for slot in slots:
            if graceful:
                try:
                    slot.conn.send(None)
                except OSError:
                    pass
            else:
                slot.proc.terminate()
        for slot in slots:
            slot.proc.join(timeout=5)
            if slot.proc.is_alive():
                slot.proc.kill()
                slot.proc.join()
            slot.conn.close()

    def close(self) -> None:
        self._stop(graceful=True)


class DaskExecutor:
    """Tasks on an existing Dask distributed cluster: ``scheduler`` is e.g. ``tcp://host:8786``.

    Workers need jts installed and must reach the targets (URLs to clone, or local paths on a
    shared filesystem); results (hits with their secrets) come back to this coordinator only.
    """

    def __init__(self, scheduler: str):
        try:
            from distributed import Client
        except ImportError:
            raise ExecutorError("--executor dask needs Dask: pip install 'jenkins-token-scanner[sweep]'") from None
        try:
            # connect timeout: Dask's distributed.comm.timeouts.connect (default 30s; env DASK_DISTRIBUTED__...)
            self.client = Client(scheduler)
        except (OSError, TimeoutError) as exc:
            raise ExecutorError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from None

    def run(self, fn: Callable[[T], R], tasks: Sequence[T], lost: Callable[[T, str], R],
            started: Callable[[T], None] | None = None) -> Iterator[R]:
        from distributed import as_completed

        futures = {}
        for task in tasks:
            future = self.client.submit(fn, task, pure=False)
            futures[future] = task
            if started:
                started(task)
        try:
            for future in as_completed(list(futures)):
                try:
                    result = future.result()
                except Exception as exc:  # noqa: BLE001 - a worker lost or a task raised: that task only
                    result = lost(futures[future], f"dask task failed: {type(exc).__name__}: {exc}")
                yield result
        finally:
            pending = [f for f in futures if not f.done()]
            if pending:
                self.client.cancel(pending)

    def close(self) -> None:
        self.client.close()


def make_executor(kind: str, jobs: int, scheduler: str | None,
                  warmup: Callable[[], None] | None = None, close_fds: tuple[int, ...] = ()) -> Executor:
    if kind == "dask":
        if not scheduler:
            raise ExecutorError("--executor dask needs --scheduler ADDRESS (e.g. tcp://scheduler:8786)")
        return DaskExecutor(scheduler)
    executor = LocalExecutor(jobs, warmup, close_fds)
    executor.start()
    return executor
