"""Which blobs to scan: reachable from all refs, in the index, or in a list; with sizes, once each."""

from __future__ import annotations

import subprocess
import tempfile
from binascii import a2b_hex
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from operator import attrgetter

from scanner.sources.git_attribution import LogBlobs, LogTail, PrefetchedLog
from scanner.sources.git_catfile import ObjectInfo
from scanner.sources.git_cmd import GitSourceError, first_error_line, popen_git, run_git
from scanner.sources.git_reader import BlobReader
from scanner.sources.git_repo import RepoInfo
from scanner.sources.git_watchdog import Watchdog, WatchedStream

# Sizes only: asking git for an object's type walks its delta chain, where a crafted chain that
# loops keeps git spinning (and growing); a size is read from the entry's own header. A listed
# "blob" that is something else is reported when it is read.
SIZE_FORMAT = "--batch-check=%(objectname) %(objectsize)"


@dataclass(slots=True)  # one per blob of a history (170k for jenkinsci/jenkins): no per-entry dict
class BlobEntry:
    oid: str
    size: int
    path: str  # one path the blob was seen at (the detector's rules may look at it)


@dataclass
class BlobSet:
    scan: list[BlobEntry] = field(default_factory=list)
    large: list[BlobEntry] = field(default_factory=list)  # over max_blob_bytes: not read at all
    missing: list[str] = field(default_factory=list)

    def split_large(self, max_blob_bytes: int) -> BlobSet:
        keep = [b for b in self.scan if b.size <= max_blob_bytes]
        large = self.large + [b for b in self.scan if b.size > max_blob_bytes]
        return BlobSet(scan=keep, large=large, missing=self.missing)

    @property
    def bytes(self) -> int:
        return sum(b.size for b in self.scan)


def _decode(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")


def _parse_sizes(lines: Iterable[bytes], out: BlobSet, paths: dict[str, str]) -> None:
    """Read ``oid size`` lines (or ``oid missing``) into ``out``: one BlobEntry per unique object."""
    seen: set[str] = set()
    for raw in lines:
        oid_b, _, size_b = raw.rstrip(b"\n").partition(b" ")
        oid = _decode(oid_b)
        if not oid or oid in seen:
            continue
        seen.add(oid)
        if not size_b.isdigit():  # "missing" (or "ambiguous"): nothing to read
            out.missing.append(oid)
            continue
        out.scan.append(BlobEntry(oid=oid, size=int(size_b), path=paths.get(oid, "")))


CATCH_UP_EVERY = 64  # rev-list blobs listed between looks at what the log wrote meanwhile
# Where rev-list is in its walk, in commits, is what the log's second part should skip: it prints
# no commit lines, but within a commit its blobs come in path order, so each step back in path
# order starts a commit. Commits adding nothing new, or only later paths, are missed: there are
# 2.7 commits per step back on jenkinsci/jenkins, 1.5-4.6 on git/git. A split too late costs less
# than one too early (the first part then lists what lies between, beside the second).
COMMITS_PER_STEP_BACK = 3
LOG_WAIT = 0.05  # seconds between looks at both parts of the log when neither had output
# rev-list blobs listed after the log started, at most: a log split before rev-list's place (or
# not split: no step back yet) lists nothing new until it passes rev-list (seconds: it is the
# slower walk), so rev-list goes on a while to keep the workers busy
CATCH_UP_BLOBS = 20000


class _Listed:
    """The listing's bookkeeping: each blob's path in order, one string per path, the ids seen."""

    def __init__(self, out: BlobSet, keep_seen: bool):
        self.out = out
        self.paths: deque[str] = deque()
        self.interned: dict[str, str] = {}  # a path repeats once per version: keep one string
        self.last = b""  # the path listed last, and how often a path came before it (see COMMITS_PER_STEP_BACK)
        self.steps_back = 0
        # raw ids (~75 bytes each with the set: 13 MiB for jenkinsci/jenkins), kept only where a
        # second source may list the same blobs again
        self.seen: set[bytes] | None = set() if keep_seen else None

    def new(self, oid_b: bytes, path_b: bytes) -> bool:
        """Record a listed blob; False when it was listed before (by the other source)."""
        if self.seen is not None:
            try:
                key = a2b_hex(oid_b)
            except ValueError:
                key = oid_b
            if key in self.seen:
                return False
            self.seen.add(key)
        if path_b <= self.last:
            self.steps_back += 1
        self.last = path_b
        path = _decode(path_b)
        self.paths.append(self.interned.setdefault(path, path))
        return True


def _listing(lines: Iterable[bytes], listed: _Listed) -> Iterator[str]:
    """Blob oids of rev-list ``<oid> <path>`` lines; their paths queue up in ``listed.paths``.

    rev-list names each object once: without another source, no set of the oids seen is kept
    (~35 MiB on git/git); a repeat would only be scanned twice, its hits keyed by oid."""
    for raw in lines:
        line = raw.rstrip(b"\n")
        if line.startswith(b"?"):  # --missing=print: never fetched (partial clone), or lost (damaged pack)
            listed.out.missing.append(_decode(line[1:]))
            continue
        oid_b, _, path_b = line.partition(b" ")
        if oid_b and listed.new(oid_b, path_b):
            yield _decode(oid_b)


def _new_from_log(found: list[tuple[bytes, bytes]], listed: _Listed) -> list[str]:
    return [_decode(oid_b) for oid_b, path_b in found if listed.new(oid_b, path_b)]


def _entry(info: ObjectInfo, path: str, out: BlobSet) -> BlobEntry | None:
    if info.kind is None:
        out.missing.append(info.oid)
        return None
    if info.kind == "blob":
        return BlobEntry(oid=info.oid, size=info.size, path=path)
    # its tree says blob, the object database says otherwise (damaged): reading it reports that
    return BlobEntry(oid=info.oid, size=0, path=path)


def iter_history_blobs(repo: RepoInfo, extra_tips: list[str], reader: BlobReader | None, out: BlobSet, *,
                       reflogs: bool = False, log_listing: LogHandOver | None = None) -> Iterator[BlobEntry]:
    """Every blob reachable from all refs (+ extra tips), streamed as rev-list finds them, sized by
    ``reader``'s git, so the scan starts long before the listing ends. Missing ones go to ``out``.
    ``reader`` None: not sized (size 0), for readers that find the blobs too large to read themselves.

    ``log_listing``: once it hands over the attribution log's output (a blob hit, so the log runs
    over every commit's diff anyway), the log lists the rest and rev-list stops: its walk of every
    tree (~3.5 CPU-s and ~80 MiB on jenkinsci/jenkins) would repeat the log's. The log starts
    then, as two gits: the commits rev-list has walked (about: see COMMITS_PER_STEP_BACK), and the
    rest, which lists new blobs at once (a log from the newest commit listed nothing new for
    ~2 s, the workers idle). The ids listed are kept, so no blob is listed twice, and refs to
    trees or blobs, which the log does not walk, are listed after it.
    """
    args = ["--all", *(["--reflog"] if reflogs else []), *extra_tips]
    listed = _Listed(out, keep_seen=log_listing is not None)
    if reader is not None:
        reader.start()  # git starts up while rev-list walks history

    def oids() -> Iterator[str]:
        tails: list[LogTail] | None = None
        parsers: list[LogBlobs] = []
        started = 0
        with _rev_list(repo, args) as (lines, stop):
            for count, oid in enumerate(_listing(lines, listed)):
                yield oid
                if tails is None:
                    if log_listing is not None:
                        tails = log_listing.take(COMMITS_PER_STEP_BACK * listed.steps_back)
                        parsers = [LogBlobs() for _ in tails or ()]
                        if tails is not None and len(tails) > 1:
                            # split near rev-list's place, the log lists new blobs about as soon as
                            # rev-list would; rev-list going on is a third walk (CPU and ~40 MiB)
                            stop()
                            break
                    started = count
                elif count % CATCH_UP_EVERY == 0:
                    # until the log passes rev-list, all it lists was listed: its first new blob
                    # says it has; after CATCH_UP_BLOBS, the workers have enough to wait for it
                    fresh = [oid for tail, parser in zip(tails, parsers)
                             for oid in _new_from_log(parser.feed(tail.ready()), listed)]
                    yield from fresh
                    if fresh or count - started >= CATCH_UP_BLOBS:
                        stop()
                        break
            else:
                if tails is None and log_listing is not None:
                    log_listing.done()  # a blob that hits from now on starts the log itself
                return  # rev-list listed everything (refs to trees and blobs too)
        assert tails is not None and log_listing is not None
        live = list(zip(tails, parsers))
        while live:  # both parts of the log, whichever has output
            grew = False
            for tail, parser in live:
                block = tail.ready()
                grew = grew or bool(block)
                yield from _new_from_log(parser.feed(block), listed)
                if tail.ended:
                    yield from _new_from_log(parser.end(), listed)
            live = [(tail, parser) for tail, parser in live if not tail.ended]
            if live and not grew:
                log_listing.wait(LOG_WAIT)
        tips = _other_tips(repo)
        if tips:
            with _rev_list(repo, ["--no-walk", *tips]) as (lines, _stop):
                yield from _listing(lines, listed)

    stream = oids()
    try:
        if reader is None:
            for oid in stream:
                yield BlobEntry(oid=oid, size=0, path=listed.paths.popleft())
            return
        for info in reader.info(stream):
            entry = _entry(info, listed.paths.popleft(), out)
            if entry is not None:
                yield entry
        reader.stop()  # idle from here on: its git's pack pages would sit on the scan's memory peak
    finally:
        stream.close()


@contextmanager
def _rev_list(repo: RepoInfo, revs: list[str]) -> Iterator[tuple[WatchedStream, Callable[[], None]]]:
    """``git rev-list`` listing the blobs of ``revs`` as ``<oid> <path>`` lines (``?<oid>``: missing).

    The caller stops it when leaving early (the log lists the rest), or an error does; read to
    the end, it is waited for. Its own failure is raised, also over a failure of the sizing beside
    it (a damaged object database shows there first, and rev-list says what it is).
    """
    # --in-commit-order: each commit's new objects as soon as it is walked, where rev-list would
    # otherwise walk every commit first (git/git: the first blob after 2.3 s instead of 0.07 s,
    # the workers idle until then); the same objects, in the same order, at the same paths.
    # Missing blobs are reported instead of failing (or being fetched lazily): never fetched into a
    # partial clone, or lost to a damaged pack in any repository, where the rest is still scanned.
    args = ["rev-list", "--objects", "--in-commit-order", "--filter=object:type=blob", "--filter-provided-objects",
            "--missing=print", *revs, "--"]
    with tempfile.TemporaryFile() as err:
        proc = popen_git(repo.path, args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err, bufsize=1 << 16)
        watchdog = Watchdog(proc)  # a damaged tree can make rev-list loop forever
        stream = WatchedStream(proc.stdout, watchdog)  # type: ignore[arg-type]
        stopped = False

        def stop() -> None:
            """Stop a rev-list still listing (not one that ended: its exit status still counts)."""
            nonlocal stopped
            if proc.poll() is None:
                proc.kill()
                stopped = True

        try:
            yield stream, stop
        except BaseException:
            stop()  # left by an error: what it would still list is not wanted
            raise
        finally:
            proc.stdout.close()  # type: ignore[union-attr]
            rc = proc.wait()
            watchdog.close()
            if rc != 0 and not stopped:
                err.seek(0)
                why = watchdog.message("git rev-list") if watchdog.fired else first_error_line(err.read())
                raise GitSourceError(f"cannot list the objects of {repo.path}: {why}"  # noqa: B012
                                     " (corrupt or incomplete object database? try git fsck)")


def _other_tips(repo: RepoInfo) -> list[str]:
    """Refs to trees and blobs (directly or through tags): ``--all`` covers them, ``git log`` does not."""
    proc = run_git(repo.path, ["for-each-ref", "--format=%(objecttype) %(*objecttype) %(objectname)"],
                   what="listing refs")
    tips = []
    for line in proc.stdout.decode("ascii", "replace").splitlines():
        kind, _, rest = line.partition(" ")
        target, _, oid = rest.partition(" ")
        if kind in ("tree", "blob") or (kind == "tag" and target != "commit"):
            tips.append(oid)
    return tips


def commit_tips(repo: RepoInfo, extra_tips: list[str]) -> bytes:
    """The commits ``--all`` (and ``extra_tips``) start a walk from, resolved once, one id a line:
    two walks given these walk the same commits in the same order, whatever a ref does meanwhile.
    git resolves them itself: tags peeled all the way, other worktrees' HEADs included."""
    return run_git(repo.path, ["rev-list", "--no-walk", "--all", *extra_tips], what="listing refs").stdout


@dataclass
class LogHandOver:
    """The attribution log, which lists the rest of a history once it runs (see iter_history_blobs)."""

    log: PrefetchedLog
    repo: RepoInfo
    extra_tips: list[str]

    def take(self, first: int) -> list[LogTail] | None:
        """Its output (started in two parts, the ``first`` commits and the rest) once some blob
        hit, else None."""
        if not self.log.wanted:
            return None
        tips = commit_tips(self.repo, self.extra_tips)
        # no commit at all (only refs to trees or blobs): git log --stdin would fall back to HEAD
        return self.log.split(first if tips else 0, tips)

    def wait(self, timeout: float) -> None:
        """Until some output grows (``timeout`` at most)."""
        self.log.wait(timeout)

    def done(self) -> None:
        """The listing ended without taking it."""
        self.log.undefer()


def sized_blobs(repo: RepoInfo, paths: dict[str, str]) -> BlobSet:
    """BlobEntries (with sizes) for ``{oid: path}``; objects absent from the database land in missing."""
    out = BlobSet()
    if not paths:
        return out
    data = "".join(f"{oid}\n" for oid in paths).encode()
    proc = run_git(repo.path, ["cat-file", SIZE_FORMAT], input=data, what="reading object sizes")
    _parse_sizes(proc.stdout.splitlines(keepends=True), out, paths)
    return out


def index_blobs(repo: RepoInfo) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """The index as ``({oid: first path}, [(path, oid), ...])``; gitlinks (submodules) are skipped."""
    out = run_git(repo.path, ["ls-files", "--stage", "-z"], what="reading the index").stdout
    first: dict[str, str] = {}
    entries: list[tuple[str, str]] = []
    for entry in out.split(b"\0"):
        if not entry:
            continue
        meta, _, path_b = entry.partition(b"\t")
        mode, oid_b, _stage = meta.split()
        if mode == b"160000":
            continue
        oid, path = _decode(oid_b), _decode(path_b)
        first.setdefault(oid, path)
        entries.append((path, oid))
    return first, entries


def by_path(blobs: Iterable[BlobEntry]) -> list[BlobEntry]:
    """``blobs`` in the order to read them: a file's versions one after another.

    Each version is (mostly) a delta against the one read just before it, still in git's delta base
    cache; in listing (commit) order they lie far apart and git inflates their chains again and
    again (the readers' git CPU: 2.7x on git/git, 1.9x on jenkinsci/jenkins, with an 8 MiB cache).
    The sort is stable: a file's versions keep the listing's newest-first order, the way git's
    delta chains run.
    """
    return sorted(blobs, key=attrgetter("path"))


def chunks(blobs: Iterable[BlobEntry], max_bytes: int, max_blobs: int) -> list[list[BlobEntry]]:
    """Consecutive slices small enough to balance two workers."""
    return list(iter_chunks(blobs, max_bytes, max_blobs))


def iter_chunks(blobs: Iterable[BlobEntry], max_bytes: int, max_blobs: int) -> Iterator[list[BlobEntry]]:
    cur: list[BlobEntry] = []
    size = 0
    for blob in blobs:
        cur.append(blob)
        size += blob.size
        if size >= max_bytes or len(cur) >= max_blobs:
            yield cur
            cur, size = [], 0
    if cur:
        yield cur
