"""Where per-repository tasks run: a local process pool (default) or a Dask distributed cluster.

Both yield results as tasks complete, in any order. A task function never raises for a
repository problem; a *lost* task (worker died, Dask task failed) is turned into a result by
the caller's ``lost`` function, so one bad repository never stops the sweep.
"""

from __future__ import annotations

import multiprocessing as mp
import signal
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Any, Protocol, TypeVar

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


def _pool_worker(fn: Callable[[Any], Any], conn: Connection) -> None:
    """Run tasks sent over ``conn`` until told to stop; Ctrl-C is the coordinator's to handle."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):
            return
        if task is None:
            return
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
    """``jobs`` worker processes (spawned: the coordinator holds threads), one task at a time each.

    Tasks are handed out one by one over a pipe, so the coordinator always knows which task a
    worker holds: a worker that dies (OOM killer, segfault) costs that one task, reported as lost,
    and a fresh worker takes over the rest.
    """

    def __init__(self, jobs: int):
        self.jobs = max(1, jobs)
        self.ctx = mp.get_context("spawn")

    def _spawn(self, fn: Callable[[Any], Any]) -> _Slot:
        ours, theirs = self.ctx.Pipe()
        proc = self.ctx.Process(target=_pool_worker, args=(fn, theirs), daemon=True, name="jts-sweep-worker")
        proc.start()
        theirs.close()
        return _Slot(proc, ours)

    def run(self, fn, tasks, lost, started=None):  # noqa: ANN001 - see Executor
        todo = deque(range(len(tasks)))
        slots = [self._spawn(fn) for _ in range(min(self.jobs, len(tasks)))]
        clean = False
        try:
            for slot in slots:
                self._hand_out(slot, tasks, todo, started)
            while any(s.index is not None for s in slots):
                busy = [s for s in slots if s.index is not None]
                ready = wait([s.conn for s in busy] + [s.proc.sentinel for s in busy])
                for slot in busy:
                    if slot.conn in ready or slot.conn.poll():  # a result first, even if it died just after
                        try:
                            result = slot.conn.recv()
                        except (EOFError, OSError):
                            result = None
                        if result is not None:
                            index, slot.index = slot.index, None
                            self._hand_out(slot, tasks, todo, started)
                            if isinstance(result, _Failed):
                                result = lost(tasks[index], f"task failed: {result.message}")
                            yield result
                            continue
                    if slot.proc.sentinel in ready or not slot.proc.is_alive():
                        index, slot.index = slot.index, None
                        slot.proc.join(timeout=1)
                        slots.remove(slot)
                        if todo:  # replace the dead worker
                            fresh = self._spawn(fn)
                            slots.append(fresh)
                            self._hand_out(fresh, tasks, todo, started)
                        if index is not None:
                            yield lost(tasks[index], f"worker process died (exit code {slot.proc.exitcode})")
            clean = True
        finally:
            self._stop(slots, graceful=clean)

    @staticmethod
    def _hand_out(slot: _Slot, tasks: Sequence[Any], todo: deque[int], started: Started | None) -> None:
        if not todo:
            slot.conn.send(None)
            return
        slot.index = todo.popleft()
        if started:
            started(tasks[slot.index])
        slot.conn.send(tasks[slot.index])

    @staticmethod
    def _stop(slots: list[_Slot], graceful: bool) -> None:
        for slot in slots:
            if not graceful:
                slot.proc.terminate()  # interrupted: nobody waits for half-scanned repositories
            slot.proc.join(timeout=5)
            if slot.proc.is_alive():
                slot.proc.kill()
                slot.proc.join()
            slot.conn.close()

    def close(self) -> None:
        pass


class DaskExecutor:
    """Tasks on an existing Dask distributed cluster: ``scheduler`` is e.g. ``tcp://host:8786``.

    Workers need jts installed and must reach the targets (URLs to clone, or local paths on a
    shared filesystem); results (hits with their secrets) come back to this coordinator only.
    """

    def __init__(self, scheduler: str, timeout: float = 30.0):
        try:
            from distributed import Client
        except ImportError:
            raise ExecutorError("--executor dask needs Dask: pip install 'jenkins-token-scanner[sweep]'") from None
        try:
            self.client = Client(scheduler, timeout=timeout, set_as_default=False)
        except (OSError, TimeoutError) as exc:
            raise ExecutorError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from None

    def run(self, fn, tasks, lost, started=None):  # noqa: ANN001 - see Executor
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


def make_executor(kind: str, jobs: int, scheduler: str | None) -> Executor:
    if kind == "dask":
        if not scheduler:
            raise ExecutorError("--executor dask needs --scheduler ADDRESS (e.g. tcp://scheduler:8786)")
        return DaskExecutor(scheduler)
    return LocalExecutor(jobs)
