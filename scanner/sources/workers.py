"""Worker processes shared by the history scan, the working-tree scan and the sweep pool."""

from __future__ import annotations

import ctypes
import multiprocessing as mp
import os
import signal
import sys
import threading
from collections.abc import Iterable
from typing import Any

PR_SET_PDEATHSIG = 1  # linux/prctl.h
M_TRIM_THRESHOLD = -1  # malloc.h
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 1 << 20
TRIM_THRESHOLD = 2 << 20  # glibc's own ratio (twice the mmap threshold), which fixing the latter turns off


def process_context() -> Any:
    """fork while this process has no other thread, else spawn.

    A forked worker starts in a few ms and inherits the imports already done; a spawned one
    first pays ~0.15-0.4 s of start-up. Forking is unsafe once other threads may hold locks.
    """
    if sys.platform.startswith("linux") and threading.active_count() == 1:
        return mp.get_context("fork")
    return mp.get_context("spawn")


def dead_workers(procs: list[Any], results: Any, what: str) -> str | None:
    """Why ``procs`` can no longer deliver what is missing from ``results``, or None while they can."""
    crashed = [p for p in procs if p.exitcode not in (None, 0)]
    if crashed:
        return f"{what} worker {crashed[0].name} died (exit code {crashed[0].exitcode})"
    if all(p.exitcode == 0 for p in procs) and results.empty():
        return f"{what} workers exited before returning all results"
    return None


def shutdown(procs: list[Any], queues: list[Any], graceful: bool) -> None:
    """Join the workers (terminate the ones left) and close the queues without waiting on them."""
    for proc in procs:
        proc.join(timeout=5 if graceful else 0)  # on failure nobody waits for the others' work
    for proc in procs:
        if proc.is_alive():
            proc.terminate()
            proc.join(timeout=5)
    for q in queues:
        q.cancel_join_thread()
        q.close()


def die_with_parent(close_fds: Iterable[int] = ()) -> None:
    """First call in a worker: never outlive the coordinator, never hold what it locked.

    A coordinator killed with -9 cannot stop its workers; on Linux the kernel does (SIGKILL when
    the parent dies). ``close_fds``: descriptors a forked worker inherited but must not keep open,
    such as the sweep state's lock, which would otherwise stay held by orphans forever.
    """
    for fd in close_fds:
        try:
            os.close(fd)
        except OSError:
            pass
    parent = mp.parent_process()
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):
            pass  # no prctl: the parent check below still catches a parent that is already gone
    if parent is not None and os.getppid() != parent.pid:
        os._exit(1)  # the coordinator died before the death signal was armed


def fixed_mmap_threshold() -> None:
    """Blocks of 1 MiB and more straight from mmap, back to the system when freed.

    glibc raises its threshold to the largest block freed (up to 32 MiB): after one large blob,
    every later one comes from a heap that is never trimmed, ~25-30 MiB per worker over a real
    history. Setting it once turns the raising off (git children get MALLOC_MMAP_THRESHOLD_).

    It also leaves the trim threshold at 128 KiB: each blob read at the top of the heap was given
    back when freed and faulted in again for the next (~55k page faults per 2 GB of history read).
    A 2 MiB one keeps those pages (git children get MALLOC_TRIM_THRESHOLD_).
    """
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None)
            libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)
            libc.mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD)
        except (OSError, AttributeError):
            pass  # not glibc: its own policy stays
