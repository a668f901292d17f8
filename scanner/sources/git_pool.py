"""Scanning a list of blobs with the detector, in this process or spread over worker processes.

Each worker owns a blob reader (see ``git_reader``) and a Detector built from the picklable spec, so only
``(oid, path)`` lists travel in and hits travel out; blob contents never cross a process boundary.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import queue
from pathlib import Path
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from scanner.detect import scan_or_error
from scanner.sources.backlog import Backlog
from scanner.sources.git_blobs import BlobEntry, by_path, chunks, iter_chunks
from scanner.sources.git_cmd import GitSourceError
from scanner.sources.git_objects import DEFAULT_MAX_BYTES, ObjectStore, fast_deltas
from scanner.sources.git_reader import BlobReader, open_reader
from scanner.sources.workers import dead_workers, die_with_parent, fixed_mmap_threshold, process_context, shutdown

if TYPE_CHECKING:
    from scanner.detect import Hit

BINARY_SNIFF = 8000  # git's own heuristic: a NUL in the first 8000 bytes means binary
CHUNK_BYTES = 8 << 20  # ~128 chunks per GB: fine-grained enough to keep both cores busy to the end
CHUNK_BLOBS = 2000
UNSIZED_CHUNK_BLOBS = 400  # blobs listed without sizes: ~8 MiB on jenkinsci/jenkins (~20 KiB a blob)
PARALLEL_MIN_BYTES = 64 << 20  # below this, starting workers (~0.3 s of imports) costs more than it saves
POLL_SECONDS = 1.0
IN_FLIGHT = 3  # chunks queued per worker: enough that none waits for the next, the rest wait in a Backlog
# While the history is listed, blobs are read window by window, each window sorted by path (see
# git_blobs.by_path): the first small, so the workers start early, then doubling. Windows of 20k+
# blobs get nearly all of a whole-history sort's gain; 32k entries are ~5 MiB here.
WINDOW_FIRST = 1000
WINDOW_MOST = 32000

Progress = Callable[[int, int], None]
OnHits = Callable[[], None]  # told when some blob holds hits (e.g. to start attribution early)


class Detecting(Protocol):
    def scan_blob(self, path: str, data: bytes) -> list[Hit]: ...


class DetectorRecipe(Protocol):
    def build(self) -> Detecting: ...


@dataclass
class ScanTotals:
    hits: dict[str, list[Hit]] = field(default_factory=dict)  # blob oid -> hits, blobs with hits only
    paths: dict[str, str] = field(default_factory=dict)  # blob oid -> the path it was read at, blobs with hits only
    blobs: int = 0
    bytes: int = 0
    binary: int = 0
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # blobs that could not be scanned
    large: list[BlobEntry] = field(default_factory=list)  # over the size limit, found by the reader: not read
    allowed: dict[str, set[int]] = field(default_factory=dict)  # path -> lines an allow marker kept a hit off

    def merge(self, other: ScanTotals) -> None:
        for path, lines in other.allowed.items():
            self.allowed.setdefault(path, set()).update(lines)
        self.hits.update(other.hits)
        self.paths.update(other.paths)
        self.blobs += other.blobs
        self.bytes += other.bytes
        self.binary += other.binary
        self.warnings.extend(other.warnings)
        self.errors.extend(other.errors)
        self.large.extend(other.large)


def scan_chunk(reader: BlobReader, detector: Detecting, chunk: Sequence[tuple[str, str]]) -> ScanTotals:
    """Read and detect one chunk of ``(oid, path)``; a blob that fails is an error, never a stop."""
    totals = ScanTotals()
    for (oid, path), got in zip(chunk, reader.read(oid for oid, _ in chunk)):
        data = got.data
        if data is None and got.too_large is not None:
            totals.large.append(BlobEntry(oid=oid, size=got.too_large, path=path))
            continue
        if data is None:
            totals.errors.append(f"blob {oid} ({path or 'no path'}) not scanned: {got.error}")
            continue
        totals.blobs += 1
        totals.bytes += len(data)
        if data.find(b"\0", 0, BINARY_SNIFF) != -1:
            totals.binary += 1  # counted only: the detector decides (binary credential stores exist)
        found, error = scan_or_error(detector, path, data)
        if getattr(detector, "allowed_lines", None):
            totals.allowed.setdefault(path or oid, set()).update(detector.allowed_lines)
        if error:
            totals.errors.append(f"blob {oid} ({path or 'no path'}) not scanned: {error}")
            continue
        if found:
            totals.hits[oid] = found
            totals.paths[oid] = path
    return totals


def _worker(spec: DetectorRecipe, cwd: str, objects_dir: str | None, max_bytes: int, tasks: Any,
            results: Any) -> None:
    """Worker process loop: build a detector, then scan chunks until the ``None`` sentinel."""
    die_with_parent()
    fixed_mmap_threshold()
    try:
        detector = spec.build()
        # With compiled deltas, the worker reads the object database itself: no git beside it and
        # no copy of every blob through a pipe (jenkinsci/jenkins: ~1.5 CPU-s less in all, sys
        # 6.4 -> 3.7 s). Applied in Python, real histories' deltas cost more than git's, so a
        # git cat-file reads, and the object store only vets each delta chain for loops.
        with open_reader(cwd, objects_dir, max_bytes, in_process=fast_deltas() is not None) as reader:
            while (task := tasks.get()) is not None:
                index, chunk = task
                results.put((index, scan_chunk(reader, detector, chunk), None))
    except BaseException as exc:  # report, so the parent fails loudly instead of waiting forever
        results.put((-1, None, f"{type(exc).__name__}: {exc}"))


def workers_read_in_process(objects_dir: str | None) -> bool:
    """Will history workers read the object database themselves (see ``_worker``)? They then also
    find the blobs too large to read, from each blob's own header, so the listing need not size them."""
    if fast_deltas() is None or not objects_dir:
        return False
    store = ObjectStore.open(Path(objects_dir))
    if store is None:
        return False
    store.close()
    return True


def streams(jobs: int, large: bool) -> bool:
    """Does ``scan_blob_stream`` start workers before the listing ends (see there)?"""
    return large and effective_jobs(jobs) > 1 and not mp.current_process().daemon


def effective_jobs(jobs: int) -> int:
    return jobs if jobs > 0 else (os.cpu_count() or 1)


def scan_blobs(cwd: str, spec: DetectorRecipe, blobs: list[BlobEntry], *, jobs: int = 0,
               progress: Progress | None = None, parallel_min_bytes: int = PARALLEL_MIN_BYTES,
               reader: BlobReader | None = None, objects_dir: str | None = None,
               max_bytes: int = DEFAULT_MAX_BYTES) -> ScanTotals:
    """Scan ``blobs`` (each once) and return hits per blob plus counters and warnings.

    ``reader``: one already open for this repository, used when scanning in this process (else a
    git cat-file is started beside it). ``objects_dir``: the object database every git cat-file
    started here checks each blob's delta chain in before git is asked for it (git loops forever
    on a chain that loops). ``max_bytes`` (--max-blob-mb): no object is inflated in-process past
    it, and it sizes git's memory limit.
    """
    total = sum(b.size for b in blobs)
    wanted = effective_jobs(jobs)
    # at least ~4 chunks per worker, so one slow chunk cannot leave a core idle at the end
    work = chunks(by_path(blobs), max(1, min(CHUNK_BYTES, total // (4 * wanted))), CHUNK_BLOBS)
    workers = min(wanted, len(work))
    # daemonic processes (e.g. a multiprocessing.Pool worker of a sweep) may not have children
    if workers <= 1 or total < parallel_min_bytes or mp.current_process().daemon:
        return _scan_here(cwd, spec, work, total, progress, reader, objects_dir, max_bytes)
    if reader is not None:  # idle while workers read; forked workers must not inherit its pipes
        reader.stop()
    return _scan_workers(cwd, spec, work, lambda _totals: total, workers, progress, objects_dir, max_bytes)


def scan_blob_stream(cwd: str, spec: DetectorRecipe, blobs: Iterable[BlobEntry], *, jobs: int = 0,
                     progress: Progress | None = None, parallel_min_bytes: int = PARALLEL_MIN_BYTES,
                     reader: BlobReader | None = None, objects_dir: str | None = None,
                     max_bytes: int = DEFAULT_MAX_BYTES, on_hits: OnHits | None = None,
                     large: bool = False, sized: bool = True) -> ScanTotals:
    """``scan_blobs`` over blobs still being listed (a lazy iterator that starts git when first read).

    ``large``: the caller expects at least ``parallel_min_bytes``, so workers start before the
    listing does (forked while this process has no git pipe open) and read chunks as soon as
    they are listed: listing and detection overlap instead of taking turns. Otherwise the
    listing ends first and ``scan_blobs`` chooses as it always does.

    ``sized=False`` (with ``large`` only): the blobs come without sizes (0), because the workers
    read in-process and skip those over ``max_bytes`` themselves (``ScanTotals.large``); chunks
    are then cut by count, and the progress total is estimated from the blobs read so far.
    """
    workers = effective_jobs(jobs)
    if not streams(jobs, large):
        if not sized:  # only workers reading in-process find the blobs too large to read
            raise ValueError("blobs listed without sizes need streaming workers")
        totals = scan_blobs(cwd, spec, list(blobs), jobs=jobs, progress=progress,
                            parallel_min_bytes=parallel_min_bytes, reader=reader, objects_dir=objects_dir,
                            max_bytes=max_bytes)
        if totals.hits and on_hits:
            on_hits()
        return totals
    listed = [0, 0]  # bytes and blobs listed so far: the progress total grows with the listing

    def counted(stream: Iterable[BlobEntry]) -> Iterator[BlobEntry]:
        for blob in stream:
            listed[0] += blob.size
            listed[1] += 1
            yield blob

    def estimated(totals: ScanTotals) -> int:
        done = totals.blobs + len(totals.large) + len(totals.errors)
        return totals.bytes if done >= listed[1] else totals.bytes * listed[1] // max(done, 1)

    work = iter_chunks(counted(blobs), CHUNK_BYTES, CHUNK_BLOBS if sized else UNSIZED_CHUNK_BLOBS)
    total = (lambda _totals: listed[0]) if sized else estimated
    return _scan_workers(cwd, spec, work, total, workers, progress, objects_dir, max_bytes, on_hits, listing=True)


def _scan_here(cwd: str, spec: DetectorRecipe, work: list[list[BlobEntry]], total: int,
               progress: Progress | None, reader: BlobReader | None = None, objects_dir: str | None = None,
               max_bytes: int = DEFAULT_MAX_BYTES) -> ScanTotals:
    totals = ScanTotals()
    detector = spec.build()
    # the caller closes its own reader; a new one is a git that never sees a delta chain that loops
    opened = nullcontext(reader) if reader is not None else open_reader(cwd, objects_dir, max_bytes, in_process=False)
    with opened as cat:
        for chunk in work:
            totals.merge(scan_chunk(cat, detector, [(b.oid, b.path) for b in chunk]))
            if progress:
                progress(totals.bytes, total)
    return totals


def _scan_workers(cwd: str, spec: DetectorRecipe, work: Iterable[list[BlobEntry]], total: Callable[[ScanTotals], int],
                  workers: int, progress: Progress | None, objects_dir: str | None, max_bytes: int,
                  on_hits: OnHits | None = None, listing: bool = False) -> ScanTotals:
    """``listing``: ``work`` comes from a git history walk still running (its memory beside ours)."""
    ctx = process_context()
    tasks, results = ctx.Queue(), ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(spec, cwd, objects_dir, max_bytes, tasks, results), daemon=True,
                         name=f"jts-git-scan-{i}") for i in range(workers)]
    for proc in procs:
        proc.start()
    totals = ScanTotals()
    finished = False

    def take(timeout: float | None) -> bool:
        """Merge one result; False when none came (None: do not wait)."""
        try:
            _index, part, error = results.get(timeout=timeout) if timeout else results.get_nowait()
        except queue.Empty:
            dead = dead_workers(procs, results, "history scan")
            if dead:
                raise GitSourceError(dead) from None
            return False
        if error is not None:
            raise GitSourceError(f"history scan worker failed: {error}")
        totals.merge(part)
        if part.hits and on_hits:
            on_hits()
        if progress:
            progress(totals.bytes, total(totals))
        return True

    backlog = Backlog()  # chunks listed but not yet sent: on disk, not in this process
    sent = done = 0
    window: list[BlobEntry] = []  # listed blobs whose window (sorted by path) is not full yet
    window_size = WINDOW_FIRST

    def send() -> None:
        """Top up what the workers have queued from the backlog."""
        nonlocal sent
        while backlog.count and sent - done < IN_FLIGHT * workers:
            tasks.put(backlog.pop())
            sent += 1

    index = 0

    def queue_up(chunk: list[BlobEntry]) -> None:
        nonlocal index, sent
        task = (index, [(b.oid, b.path) for b in chunk])
        index += 1
        if backlog.count or sent - done >= IN_FLIGHT * workers:
            backlog.push(task)
        else:
            tasks.put(task)
            sent += 1

    def release_window() -> None:
        """Queue the listed window, sorted by path, and start the next (twice as large)."""
        nonlocal window, window_size
        for part in iter_chunks(by_path(window), CHUNK_BYTES, CHUNK_BLOBS):
            queue_up(part)
        window, window_size = [], min(2 * window_size, WINDOW_MOST)

    try:
        # the listing may still be running: between its chunks, merge what is ready and top the
        # workers up (a window fills for seconds, they must not wait for it)
        for chunk in work:
            while take(None):
                done += 1
                send()
            if listing:
                window += chunk
                # past the first window (rev-list fills it in ms), a worker with nothing queued takes
                # the window as it is: a listing slower than the workers (the attribution log's)
                # would otherwise leave them idle while it fills
                if len(window) >= window_size or (window_size > WINDOW_FIRST and sent - done < workers
                                                  and not backlog.count):
                    release_window()
            else:
                queue_up(chunk)
        release_window()
        send()
        while backlog.count:
            if take(POLL_SECONDS):
                done += 1
            send()
        for _ in procs:
            tasks.put(None)
        while done < sent:
            if take(POLL_SECONDS):
                done += 1
        finished = True
    finally:
        backlog.close()
        shutdown(procs, [tasks, results], graceful=finished)
    return totals
