"""Stop a git process that keeps the scan waiting: a crafted object can make git loop forever.

A delta whose base is itself (or a cycle of deltas) sends ``git cat-file`` (and ``rev-list``/``log``
on a damaged tree) into an endless loop with no output. A no-progress watchdog rather than a
deadline: it only counts the time the scan spends *waiting for git's next bytes*, so a long history
scan of a big repository (git answers continuously) is never stopped, and neither is a git that
sits blocked on a full pipe while the scan is busy detecting.

The same loop grows git's memory (~300 MB/s: it stacks every delta it passes), so the watchdog
also stops a git whose resident memory passes a limit, long before the stall limit would.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections.abc import Iterator
from typing import IO

STALL_ENV = "JTS_GIT_STALL_SECONDS"
STALL_SECONDS = 60.0  # no legitimate git answer takes this long: objects over --max-blob-mb are never asked for
MEMORY_ENV = "JTS_GIT_MAX_MB"
MEMORY_MB = 2048  # far above what git needs here (pack windows and caches are capped, see git_safety)
PAGE_BYTES = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def stall_seconds() -> float:
    """The stall limit: ``$JTS_GIT_STALL_SECONDS`` when set to a positive number, else the default."""
    try:
        value = float(os.environ.get(STALL_ENV, ""))
    except ValueError:
        return STALL_SECONDS
    return value if value > 0 else STALL_SECONDS


def memory_limit(object_bytes: int = 0) -> int:
    """Bytes of resident memory a git may use: ``$JTS_GIT_MAX_MB`` (else the default), and room
    for three copies of the largest object it is asked for (--max-blob-mb)."""
    try:
        mb = float(os.environ.get(MEMORY_ENV, ""))
    except ValueError:
        mb = MEMORY_MB
    return int((mb if mb > 0 else MEMORY_MB) * (1 << 20)) + 3 * object_bytes


def resident_bytes(pid: int) -> int | None:
    """A process's resident memory (Linux /proc); None where that cannot be read."""
    try:
        with open(f"/proc/{pid}/statm", "rb") as statm:
            return int(statm.read().split()[1]) * PAGE_BYTES
    except (OSError, ValueError, IndexError):
        return None


class Watchdog:
    """Kills ``proc`` once the scan has waited ``limit`` seconds for it without receiving anything,
    or once its resident memory passes ``memory`` bytes."""

    def __init__(self, proc: subprocess.Popen[bytes], limit: float | None = None, memory: int | None = None):
        self.proc = proc
        self.limit = stall_seconds() if limit is None else limit
        self.memory = memory_limit() if memory is None else memory
        self.fired = False
        self.over_memory = False
        self._since = 0.0  # monotonic time the current wait began; 0: not waiting
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name="jts-git-watchdog", daemon=True)
        self._thread.start()

    def begin(self) -> None:
        """A blocking read from git starts (plain methods, not a context manager: once per object)."""
        self._since = time.monotonic()

    def end(self) -> None:
        self._since = 0.0

    def _run(self) -> None:
        tick = min(0.25, self.limit / 4)  # a looping git grows ~75 MB a tick
        while not self._done.wait(tick):
            since = self._since
            if since and time.monotonic() - since > self.limit and self.proc.poll() is None:
                self.fired = True
                self.proc.kill()  # the blocked read then sees end of file
            elif (used := resident_bytes(self.proc.pid)) is not None and used > self.memory \
                    and self.proc.poll() is None:
                self.fired = self.over_memory = True
                self.proc.kill()

    def message(self, what: str) -> str:
        """Why the watchdog stopped ``what`` (call once ``fired``)."""
        if self.over_memory:
            return (f"{what} used more than {self.memory >> 20} MiB of memory and was stopped "
                    "(damaged object, e.g. a delta chain that loops?)")
        return stalled_message(what, self.limit)

    def close(self) -> None:
        self._done.set()
        if self._thread is not threading.current_thread():
            self._thread.join()


class WatchedStream:
    """A git process's stdout whose every read is watched: ``read``, ``readline`` and line iteration."""

    def __init__(self, stream: IO[bytes], watchdog: Watchdog):
        self.stream = stream
        self.watchdog = watchdog

    def read(self, size: int = -1) -> bytes:
        self.watchdog.begin()
        try:
            return self.stream.read(size)
        finally:
            self.watchdog.end()

    def readline(self) -> bytes:
        self.watchdog.begin()
        try:
            return self.stream.readline()
        finally:
            self.watchdog.end()

    def __iter__(self) -> Iterator[bytes]:
        while line := self.readline():
            yield line

    def close(self) -> None:
        self.stream.close()


def stalled_message(what: str, limit: float) -> str:
    return f"{what} gave no answer for {limit:g} s and was stopped (damaged object?)"
