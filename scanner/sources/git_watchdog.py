"""Stop a git process that keeps the scan waiting: a crafted object can make git loop forever.

A delta whose base is itself (or a cycle of deltas) sends ``git cat-file`` (and ``rev-list``/``log``
on a damaged tree) into an endless loop with no output. A no-progress watchdog rather than a
deadline: it only counts the time the scan spends *waiting for git's next bytes*, so a long history
scan of a big repository (git answers continuously) is never stopped, and neither is a git that
sits blocked on a full pipe while the scan is busy detecting.
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


def stall_seconds() -> float:
    """The stall limit: ``$JTS_GIT_STALL_SECONDS`` when set to a positive number, else the default."""
    try:
        value = float(os.environ.get(STALL_ENV, ""))
    except ValueError:
        return STALL_SECONDS
    return value if value > 0 else STALL_SECONDS


class Watchdog:
    """Kills ``proc`` once the scan has waited ``limit`` seconds for it without receiving anything."""

    def __init__(self, proc: subprocess.Popen[bytes], limit: float | None = None):
        self.proc = proc
        self.limit = stall_seconds() if limit is None else limit
        self.fired = False
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
        tick = min(1.0, self.limit / 4)
        while not self._done.wait(tick):
            since = self._since
            if since and time.monotonic() - since > self.limit and self.proc.poll() is None:
                self.fired = True
                self.proc.kill()  # the blocked read then sees end of file

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
