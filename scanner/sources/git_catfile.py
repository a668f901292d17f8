"""Sizes and contents of blobs out of one long-lived ``git cat-file --batch-command`` process.

One process answers both ``info`` (size, without reading content) and ``contents``: a small
repository costs one git start-up for both instead of a ``--batch-check`` and a ``--batch``.
"""

from __future__ import annotations

import fcntl
import subprocess
import tempfile
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import NamedTuple

from scanner.sources.git_cmd import GitSourceError, first_error_line, popen_git
from scanner.sources.git_objects import ObjectStore, ObjectStoreError
from scanner.sources.git_watchdog import Watchdog, memory_limit

# Requests in flight: small enough that our writes never block on a full stdin pipe (>= 4 KiB),
# large enough that git never waits for us to ask for the next object.
WINDOW = 32
# info requests in flight: 1024 x ~46 bytes asked, ~57 bytes answered, both below a 64 KiB pipe: no deadlock
INFO_WINDOW = 1024
READ_BUFFER = 1 << 20
PIPE_SIZE = 1 << 20
MAX_DEAD_STARTS = 8  # consecutive git deaths with no object read: stop retrying
F_SETPIPE_SZ = getattr(fcntl, "F_SETPIPE_SZ", 1031)
# Readers are asked for a file's versions one after another (git_blobs.by_path): each delta's
# base is the object git read just before, so 4 MiB of delta cache and 8 MiB of mapped pack do
# what 32 + 32 MiB did (within ~5% of the CPU on git/git and jenkinsci/jenkins), ~60 MiB smaller;
# that room lets the attribution log run beside the listing (git_attribution.PrefetchedLog).
READER_TUNING = (("core.deltaBaseCacheLimit", "4m"), ("core.packedGitLimit", "8m"))
# Sizes come from entry headers alone: a few mapped MiB do (its pages sit on the listing's peak).
SIZER_TUNING = (("core.packedGitLimit", "8m"),)


class ObjectInfo(NamedTuple):
    oid: str
    kind: str | None  # None: not in the object database
    size: int  # a damaged blob (git died or stalled on it, its delta chain loops) is ("blob", 0): reading it says why


@dataclass
class BlobRead:
    oid: str
    data: bytes | None  # None when the object could not be read
    error: str | None = None
    too_large: int | None = None  # its size, when it was not read for being over the size limit


class CatFile:
    """One ``git cat-file --batch-command`` (git 2.36+); restarted if git dies on a damaged object.

    A git that loops on a crafted object (a delta whose base is itself) is stopped by a watchdog;
    the object is remembered as damaged, so it is never asked for again.
    """

    def __init__(self, cwd: Path | str, vet: ObjectStore | None = None, max_bytes: int = 0, sizes_only: bool = False):
        self.cwd = str(cwd)
        self.vet = vet  # checks each blob's delta chain before git is asked (git loops on a cycle)
        # info without the type: git reads a size from the entry's own header, never walking a
        # delta chain, so nothing needs vetting (a listed "blob" that is not one says so when read)
        self.sizes_only = sizes_only
        self.memory = memory_limit(max_bytes)  # the largest object git may be asked for, three times
        self.proc: subprocess.Popen[bytes] | None = None
        self.watchdog: Watchdog | None = None
        self.stderr = tempfile.TemporaryFile()  # a file, so a chatty git can never block on stderr
        self.dead_starts = 0
        self.damaged: dict[str, str] = {}  # oid -> why git could not give it

    def __enter__(self) -> CatFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _start(self) -> subprocess.Popen[bytes]:
        self.stderr.seek(0)
        self.stderr.truncate()
        if self.sizes_only:
            command, tuning = "--batch-command=%(objectname) %(objectsize)", SIZER_TUNING
        else:
            command, tuning = "--batch-command", READER_TUNING
        proc = popen_git(self.cwd, ["cat-file", command], tuning=tuning,
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.stderr, bufsize=READ_BUFFER)
        try:  # bigger pipe = fewer context switches per MB (Linux only, best effort)
            fcntl.fcntl(proc.stdout.fileno(), F_SETPIPE_SZ, PIPE_SIZE)  # type: ignore[union-attr]
        except OSError:
            pass
        self.proc = proc
        self.watchdog = Watchdog(proc, memory=self.memory)
        return proc

    def _stop(self) -> None:
        proc, self.proc = self.proc, None
        watchdog, self.watchdog = self.watchdog, None
        if proc is None:
            return
        for stream in (proc.stdin, proc.stdout):
            try:
                stream.close()  # type: ignore[union-attr]
            except OSError:
                pass
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if watchdog is not None:
            watchdog.close()

    def stop(self) -> None:
        """End git for now (a later request starts a fresh one): frees its pack mappings while idle."""
        self._stop()

    def close(self) -> None:
        self._stop()
        self.stderr.close()
        if self.vet is not None:
            self.vet.close()

    def _vetted(self, oid: str) -> bool:
        """False (and ``oid`` remembered as damaged) when its delta chain loops: git would loop forever."""
        if self.vet is not None and oid not in self.damaged:
            try:
                self.vet.check_chain(oid)  # entry headers only
            except ObjectStoreError as exc:
                if exc.final:
                    self.damaged[oid] = str(exc).removeprefix(f"{oid}: ")
        return oid not in self.damaged

    def _failure(self, oid: str) -> str:
        """Stop git after it died or stalled on ``oid``; why, in one line (remembered for ``oid``)."""
        watchdog = self.watchdog
        self._stop()
        self.dead_starts += 1
        if watchdog is not None and watchdog.fired:
            detail = watchdog.message("git cat-file")
        else:
            self.stderr.seek(0)
            detail = first_error_line(self.stderr.read(), default="git cat-file exited")
        if oid:
            self.damaged[oid] = detail
        return detail

    def _readline(self) -> bytes:
        proc, watchdog = self.proc, self.watchdog
        assert proc is not None and proc.stdout is not None and watchdog is not None
        watchdog.begin()
        try:
            return proc.stdout.readline()
        finally:
            watchdog.end()

    def _read(self, size: int) -> bytes:
        proc, watchdog = self.proc, self.watchdog
        assert proc is not None and proc.stdout is not None and watchdog is not None
        watchdog.begin()
        try:
            return proc.stdout.read(size)
        finally:
            watchdog.end()

    def start(self) -> None:
        """Start git now, so its start-up overlaps other work (e.g. rev-list listing the oids)."""
        if self.proc is None:
            self._start()

    def info(self, oids: Iterable[str]) -> Iterator[ObjectInfo]:
        """Yield the type and size of each blob, in order (type None: missing).

        A blob git dies or stalls on is yielded as ("blob", 0) and remembered (reading it reports
        why); a fresh git answers the rest. Raises GitSourceError when git keeps dying without answering
        anything: sizes decide what is scanned, so none may be lost silently.
        """
        todo = iter(oids)
        pending: deque[str] = deque()
        while True:
            if len(pending) <= INFO_WINDOW // 2:  # refill before git runs dry, never past the window
                batch = list(islice(todo, INFO_WINDOW - len(pending)))
                if batch:
                    pending.extend(batch)
                    self._write("".join(f"info {oid}\n" for oid in batch if self.sizes_only or self._vetted(oid)))
            if not pending:
                return
            if pending[0] in self.damaged:  # never sent
                oid = pending.popleft()
                yield ObjectInfo(oid, "blob", 0)
                continue
            line = self._readline()
            if not line.endswith(b"\n"):  # git died or stalled on the first object still unanswered
                oid = pending.popleft()
                reason = self._failure(oid)
                if self.dead_starts >= MAX_DEAD_STARTS:
                    raise GitSourceError(f"cannot read object sizes in {self.cwd}: {reason}")
                yield ObjectInfo(oid, "blob", 0)
                if pending:
                    self._write("".join(f"info {oid}\n" for oid in pending if oid not in self.damaged))
                continue
            pending.popleft()
            self.dead_starts = 0
            parts = line.split()
            if self.sizes_only and len(parts) == 2 and parts[1].isdigit():
                yield ObjectInfo(parts[0].decode(), "blob", int(parts[1]))
            elif len(parts) == 3 and not self.sizes_only:
                yield ObjectInfo(parts[0].decode(), parts[1].decode(), int(parts[2]))
            else:  # "<oid> missing" (or "ambiguous"): nothing to read
                yield ObjectInfo(parts[0].decode("utf-8", "replace").lstrip("?") if parts else "", None, 0)

    def read(self, oids: Iterable[str]) -> Iterator[BlobRead]:
        """Yield every requested object in order; unreadable ones carry an error instead of data."""
        if self.sizes_only:
            raise ValueError("a sizes-only cat-file reads no contents")
        todo = iter(oids)
        pending: deque[str] = deque()
        while True:
            if len(pending) <= WINDOW // 2:
                batch = list(islice(todo, WINDOW - len(pending)))
                if batch:
                    pending.extend(batch)
                    self._send(batch)  # a failed write shows up as a short reply below
            if not pending:
                return
            oid = pending.popleft()
            if oid in self.damaged:  # never sent: git already died or stalled on it
                yield BlobRead(oid, None, self.damaged[oid])
                continue
            if self.dead_starts >= MAX_DEAD_STARTS:
                yield BlobRead(oid, None, "git cat-file keeps failing")
                continue
            got = self._receive(oid)
            if self.proc is None and pending:  # git died on this object: a fresh one gets the rest
                self._send(list(pending))
            yield got

    def _send(self, batch: list[str]) -> None:
        # vetted here too: a reader that never sized these (a worker process) must not hand git a loop
        self._write("".join(f"contents {oid}\n" for oid in batch if self._vetted(oid)))

    def _write(self, commands: str) -> None:
        """Send commands; a failed write shows up as a short reply. No --buffer: git would hold them until a flush."""
        proc = self.proc or self._start()
        try:
            proc.stdin.write(commands.encode())  # type: ignore[union-attr]
            proc.stdin.flush()  # type: ignore[union-attr]
        except OSError:
            pass

    def _receive(self, oid: str) -> BlobRead:
        header = self._readline()
        if not header.endswith(b"\n"):
            return BlobRead(oid, None, self._failure(oid))
        parts = header.split()
        if len(parts) == 2:  # "<oid> missing" / "<oid> ambiguous": git carries on
            return BlobRead(oid, None, f"{parts[1].decode()} in the object database")
        if len(parts) != 3:
            return BlobRead(oid, None, self._failure(oid))
        size = int(parts[2])
        data = self._read(size)
        if len(data) != size or self._read(1) != b"\n":
            return BlobRead(oid, None, self._failure(oid))
        if parts[1] != b"blob":
            return BlobRead(oid, None, f"it is a {parts[1].decode()}, not a blob")
        self.dead_starts = 0
        # an id two packs hold: this git may have read the copy of the pack it used last, which
        # may hold other bytes than the id's (see ObjectStore.true_copy)
        if self.vet is not None and self.vet.duplicated and (true := self.vet.true_copy(oid, "blob", data)) is not None:
            data = true
        return BlobRead(oid, data)
