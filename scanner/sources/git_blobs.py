"""Which blobs to scan: reachable from all refs, in the index, or in a list; with sizes, once each."""

from __future__ import annotations

import subprocess
import tempfile
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from operator import attrgetter

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


def _listing(lines: Iterable[bytes], out: BlobSet, paths: deque[str]) -> Iterator[str]:
    """Blob oids of rev-list ``<oid> <path>`` lines; their paths queue up in ``paths``, in order.

    rev-list names each object once, so no set of the oids seen is kept (~35 MiB on git/git); a
    repeat would only be scanned twice, its hits keyed by oid."""
    interned: dict[str, str] = {}  # a path repeats once per version: keep one string
    for raw in lines:
        line = raw.rstrip(b"\n")
        if line.startswith(b"?"):  # --missing=print: never fetched (partial clone), or lost (damaged pack)
            out.missing.append(_decode(line[1:]))
            continue
        oid_b, _, path_b = line.partition(b" ")
        oid = _decode(oid_b)
        if not oid:
            continue
        path = _decode(path_b)
        paths.append(interned.setdefault(path, path))
        yield oid


def _entry(info: ObjectInfo, path: str, out: BlobSet) -> BlobEntry | None:
    if info.kind is None:
        out.missing.append(info.oid)
        return None
    if info.kind == "blob":
        return BlobEntry(oid=info.oid, size=info.size, path=path)
    # its tree says blob, the object database says otherwise (damaged): reading it reports that
    return BlobEntry(oid=info.oid, size=0, path=path)


def iter_history_blobs(repo: RepoInfo, extra_tips: list[str], reader: BlobReader, out: BlobSet, *,
                       reflogs: bool = False) -> Iterator[BlobEntry]:
    """Every blob reachable from all refs (+ extra tips), streamed as rev-list finds them, sized by
    ``reader``'s git, so the scan starts long before the listing ends. Missing ones go to ``out``."""
    # --in-commit-order: each commit's new objects as soon as it is walked, where rev-list would
    # otherwise walk every commit first (git/git: the first blob after 2.3 s instead of 0.07 s,
    # the workers idle until then); the same objects, in the same order, at the same paths
    args = ["rev-list", "--objects", "--in-commit-order", "--all", "--filter=object:type=blob",
            "--filter-provided-objects"]
    if reflogs:
        args.append("--reflog")
    # Missing blobs are reported instead of failing (or being fetched lazily): never fetched into a
    # partial clone, or lost to a damaged pack in any repository, where the rest is still scanned.
    args.append("--missing=print")
    args += [*extra_tips, "--"]
    paths: deque[str] = deque()
    sizing_error: GitSourceError | None = None
    with tempfile.TemporaryFile() as rl_err:
        rev_list = popen_git(repo.path, args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=rl_err,
                             bufsize=1 << 16)
        watchdog = Watchdog(rev_list)  # a damaged tree can make rev-list loop forever
        reader.start()  # git starts up while rev-list walks history
        try:
            listing = WatchedStream(rev_list.stdout, watchdog)  # type: ignore[arg-type]
            for info in reader.info(_listing(listing, out, paths)):
                entry = _entry(info, paths.popleft(), out)
                if entry is not None:
                    yield entry
            reader.stop()  # idle from here on: its git's pack pages would sit on the scan's memory peak
        except GitSourceError as exc:  # a rev-list failure below is the more telling one
            sizing_error = exc
        finally:
            rev_list.stdout.close()  # type: ignore[union-attr]
            rc_list = rev_list.wait()
            watchdog.close()
        if rc_list != 0:
            rl_err.seek(0)
            why = watchdog.message("git rev-list") if watchdog.fired else first_error_line(rl_err.read())
            raise GitSourceError(f"cannot list the objects of {repo.path}: {why}"
                                 " (corrupt or incomplete object database? try git fsck)")
    if sizing_error is not None:
        raise sizing_error


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
