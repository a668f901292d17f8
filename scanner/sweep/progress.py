"""Where a sweep is: repositories done/total, bytes, findings, live tokens, ETA.

On a terminal it is one line redrawn in place (at most 5 times a second); anywhere else (CI
logs, ``nohup``, a file) it is one plain log line per repository, which greps and tails well.
Repository keys, error details and messages quote paths, URLs and git's own words: they are
escaped (``scanner.terminal.safe``) so a log line stays one line and the redraw stays ours.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TextIO

from scanner.terminal import bounded, safe

REDRAW_SECONDS = 0.2


@dataclass
class Counters:
    total: int
    done: int = 0  # repositories finished in this run (scanned, unchanged or failed)
    scanned: int = 0
    unchanged: int = 0
    failed: int = 0
    bytes: int = 0
    findings: int = 0  # unique secrets seen so far in this run
    live: int = 0


def human_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1024 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TB"


def human_seconds(seconds: float) -> str:
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


class SweepProgress:
    def __init__(self, counters: Counters, *, enabled: bool, stream: TextIO | None = None,
                 tty: bool | None = None, clock: Callable[[], float] = time.monotonic):
        self.counters = counters
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.tty = self.stream.isatty() if tty is None else tty
        self.clock = clock
        self.started = clock()
        self._last_draw = 0.0
        self._drawn = 0  # width of the line on screen, to clear it

    def eta(self) -> str:
        c = self.counters
        if c.done == 0 or c.done >= c.total:
            return "?" if c.done < c.total else "0s"
        per_repo = (self.clock() - self.started) / c.done
        return human_seconds(per_repo * (c.total - c.done))

    def status_line(self) -> str:
        c = self.counters
        parts = [f"{c.done}/{c.total} repos", human_bytes(c.bytes), f"{c.findings} secrets", f"{c.live} live"]
        if c.failed:
            parts.append(f"{c.failed} failed")
        return "sweep: " + " | ".join(parts) + f" | ETA {self.eta()}"

    def repo_done(self, key: str, status: str, detail: str) -> None:
        if not self.enabled:
            return
        if self.tty:
            self._redraw(force=self.counters.done >= self.counters.total)
            return
        c = self.counters
        self.stream.write(f"jts: sweep [{c.done}/{c.total}] {bounded(key, 400)}: {safe(status)}{safe(detail)}; "
                          f"{c.findings} secrets, {c.live} live, ETA {self.eta()}\n")
        self.stream.flush()

    def _redraw(self, force: bool) -> None:
        now = self.clock()
        if not force and now - self._last_draw < REDRAW_SECONDS:
            return
        self._last_draw = now
        line = self.status_line()
        pad = max(0, self._drawn - len(line))
        self.stream.write("\r" + line + " " * pad)
        self.stream.flush()
        self._drawn = len(line)

    def message(self, text: str) -> None:
        """A line of its own (a phase change, a warning), never mixed into the redrawn line."""
        if not self.enabled:
            return
        self.clear()
        self.stream.write(f"jts: {safe(text)}\n")
        self.stream.flush()

    def clear(self) -> None:
        if self.tty and self._drawn:
            self.stream.write("\r" + " " * self._drawn + "\r")
            self.stream.flush()
            self._drawn = 0
