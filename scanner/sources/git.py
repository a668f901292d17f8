"""Git sources: all of history (every blob reachable from any ref), the staged index, a commit range.

History is scanned blob by blob, not diff by diff: each unique blob reachable from any ref is read
once through ``git cat-file --batch`` (spread over worker processes) and detected; only blobs that
hit are then attributed to the commits that *introduced* their secrets (see ``git_attribution``).

"All refs" is ``git rev-list --all`` (HEAD, detached or not, and every ref under refs/: branches,
tags, remote-tracking branches, notes, refs/original backups, the newest stash) plus every older
stash entry (they live only in the stash's reflog). Not scanned: other reflogs (amended or
reset-away commits: local, expiring; opt in with ``include_reflogs``), unreachable objects, and
the index (``scan_staged``). In a shallow clone only what exists is scanned, with a warning.
"""

from __future__ import annotations

from collections.abc import Callable, Container, Iterable, Iterator, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from scanner.detect import allowed_note
from scanner.findings import Location, some_of
from scanner.sources.git_attribution import DiffEntry, Introduction, PrefetchedLog, introductions, iter_log
from scanner.sources.git_blobs import BlobEntry, BlobSet, LogHandOver, index_blobs, iter_history_blobs, sized_blobs
from scanner.sources.git_catfile import CatFile
from scanner.sources.git_large import stream_blobs
from scanner.sources.git_reader import BlobReader, open_reader
from scanner.sources.git_cmd import GitSourceError, run_git
from scanner.sources.git_objects import alternate_dirs
from scanner.sources.git_pool import (
    PARALLEL_MIN_BYTES,
    DetectorRecipe,
    Progress,
    ScanTotals,
    effective_jobs,
    scan_blob_stream,
    scan_blobs,
    streams,
    workers_read_in_process,
)
from scanner.sources.git_repo import (
    FETCH_MORE,
    CommitRange,
    RepoInfo,
    head_blobs,
    open_repo,
    refs_digest,
    resolve_range,
    shallow_boundary,
    since_ref_range,
    stash_tips,
    worktree_tips,
)

if TYPE_CHECKING:
    from scanner.detect import Hit

__all__ = [
    "GitSourceError", "HistoryResult", "RepoInfo", "open_repo", "refs_digest", "scan_history", "scan_range",
    "scan_staged", "since_ref_range",
]

MAX_BLOB_BYTES = 50 * 2**20
PACKED_RATIO = 16  # a conservative guess of blob bytes per packed byte (start workers early rather than late)
EXAMPLES = 5  # how many skipped blobs a warning names before summarising


@dataclass
class HistoryResult:
    repo: RepoInfo
    hits: list[tuple[Hit, Location]] = field(default_factory=list)
    blobs: int = 0  # blobs read and detected
    bytes: int = 0
    skipped_large: int = 0  # always 0 now (large blobs are streamed): kept for the report's stats
    skipped_binary: int = 0  # binary blobs: counted, still offered to the detector
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # blobs that could not be scanned


def _secrets_at(blob: str | None, hits_of: dict[str, list[Hit]]) -> set[str]:
    return {h.secret for h in hits_of.get(blob or "", ())}


def _in_head(path: str, secret: str, head: dict[str, str] | None, hits_of: dict[str, list[Hit]],
             at_path: Mapping[tuple[str, str], list[Hit]] | None = None) -> bool | None:
    """Does HEAD still hold this secret at this path (in whatever version of the file)?"""
    if head is None:
        return None
    blob = head.get(path)
    if at_path and blob is not None and (blob, path) in at_path:
        return secret in {h.secret for h in at_path[(blob, path)]}
    return secret in _secrets_at(blob, hits_of)


def _location(hit: Hit, path: str, source: str, repo: RepoInfo, *, blob: str, in_head: bool | None,
              intro: Introduction | None = None) -> Location:
    commit = intro.commit if intro else None
    return Location(path=path, line=hit.line, column=hit.column, end_column=hit.end_column, source=source,
                    commit=commit.sha if commit else None, author=commit.author if commit else None,
                    email=commit.email if commit else None, date=commit.date if commit else None,
                    in_head=in_head, blob=blob, repo=repo.path)


def _chronological(pair: tuple[Hit, Location]) -> tuple:
    """Oldest introduction first (author dates carry different UTC offsets); no-commit ones first."""
    loc = pair[1]
    return (_timestamp(loc.date), loc.commit or "", loc.sort_key())


def _timestamp(date: str | None) -> float:
    """A crafted commit's date can be one Python cannot read (a +9999 zone): it sorts first."""
    try:
        return datetime.fromisoformat(date).timestamp() if date else 0.0
    except (ValueError, OverflowError):
        return 0.0


def _mib(n: int) -> str:
    return f"{n / 2**20:.1f} MiB"


def _skip_warnings(blobs: BlobSet, what: str) -> list[str]:
    if not blobs.missing:
        return []
    named = ", ".join(blobs.missing[:EXAMPLES])
    return [f"{len(blobs.missing)} {what} missing from the object database (not scanned): {named}"
            + ("" if len(blobs.missing) <= EXAMPLES else ", ...")]


def _scan(repo: RepoInfo, spec: DetectorRecipe, blobs: BlobSet, *, jobs: int, progress: Progress | None, parallel_min_bytes: int,
          result: HistoryResult, max_blob_bytes: int, what: str, reader: BlobReader | None = None) -> ScanTotals:
    """Detect ``blobs`` and account for everything in ``result`` (counts, skips, warnings)."""
    totals = scan_blobs(repo.path, spec, blobs.scan, jobs=jobs, progress=progress,
                        parallel_min_bytes=parallel_min_bytes, reader=reader, objects_dir=repo.objects_dir,
                        max_bytes=max_blob_bytes)
    _stream_large(repo, spec, blobs, totals, max_blob_bytes, what)
    _account(result, blobs, totals, what)
    return totals


def _stream_large(repo: RepoInfo, spec: DetectorRecipe, blobs: BlobSet, totals: ScanTotals, max_blob_bytes: int,
                  what: str) -> None:
    """The blobs too large to read whole (listed or found so by the readers) are streamed: none is skipped."""
    large, blobs.large, totals.large = blobs.large + totals.large, [], []
    if not large:
        return
    totals.merge(stream_blobs(repo.path, spec, large))
    large.sort(key=lambda b: (b.path, b.oid))  # by path: workers that find them report in the order they finish
    named = some_of([f"{b.path or b.oid} ({_mib(b.size)})" for b in large], EXAMPLES)
    totals.warnings.append(f"{len(large)} {what} larger than {_mib(max_blob_bytes)} were streamed from git in "
                           f"chunks rather than read whole (slower): {named}")


def _sizer(repo: RepoInfo, reader: BlobReader, in_process: bool,
           unsized: bool) -> AbstractContextManager[BlobReader | None]:
    """What sizes the listed blobs: the in-process reader itself (no git), else a git asked for
    sizes only, so the listing never needs a delta chain vetted (the readers vet what they read).
    ``unsized``: nothing (None); the workers find the blobs too large to read from their headers
    (a git sizing them costs ~2 CPU-s on jenkinsci/jenkins, its Python side included)."""
    if in_process:
        return nullcontext(reader)
    if unsized:
        return nullcontext(None)
    return CatFile(repo.path, sizes_only=True)


def _small(listing: Iterable[BlobEntry], blobs: BlobSet, max_blob_bytes: int) -> Iterator[BlobEntry]:
    """The listed blobs to read whole; the large ones are kept in ``blobs`` to be streamed."""
    for blob in listing:
        if blob.size > max_blob_bytes:
            blobs.large.append(blob)
        else:  # not kept: the workers report the path of each blob that hits
            yield blob


def _at_other_paths(repo: RepoInfo, spec: DetectorRecipe, pairs: Iterable[tuple[str, str]],
                    scanned: Mapping[str, str], result: HistoryResult) -> dict[tuple[str, str], list[Hit]]:
    """Hits of each blob at the paths whose verdicts differ from the one it was scanned at.

    Blobs are scanned once, at one of their paths; some rules depend on the path (a
    secrets/master.key, "jenkins" in a directory name, a rule's own or excluded paths), so a blob
    staged or added at two kinds of path is judged at each. Keyed (oid, path); rare, so streamed.
    """
    detector = spec.build()
    key_of = getattr(detector, "path_key", None)
    if key_of is None:
        return {}
    wanted: dict[tuple[str, object], list[str]] = {}
    for path, oid in pairs:
        first = scanned.get(oid)
        if first is not None and path != first and (key := key_of(path)) != key_of(first):
            wanted.setdefault((oid, key), []).append(path)
    out: dict[tuple[str, str], list[Hit]] = {}
    for (oid, _key), paths in wanted.items():
        totals = stream_blobs(repo.path, spec, [BlobEntry(oid=oid, size=0, path=paths[0])])
        result.errors += totals.errors
        for path in paths:
            out[(oid, path)] = totals.hits.get(oid, [])
    return out


def _account(result: HistoryResult, blobs: BlobSet, totals: ScanTotals, what: str) -> None:
    result.warnings += allowed_note(totals.allowed)
    result.blobs += totals.blobs
    result.bytes += totals.bytes
    result.skipped_binary += totals.binary
    result.warnings += _skip_warnings(blobs, what) + totals.warnings
    result.errors += totals.errors


def _looks_large(repo: RepoInfo, parallel_min_bytes: int) -> bool:
    """Will the history hold ``parallel_min_bytes`` of blobs? Judged before listing from the
    compressed object database, which real histories outgrow about 10-20 times (deltas)."""
    if parallel_min_bytes <= 0:
        return True
    proc = run_git(repo.path, ["count-objects", "-v"], check=False)
    kib = 0
    for line in proc.stdout.decode("ascii", "replace").splitlines():
        name, _, value = line.partition(":")
        if name in ("size", "size-pack") and value.strip().isdigit():
            kib += int(value)
    packed = kib * 1024
    if repo.objects_dir:  # a --shared clone's history lives in its alternates: it is listed and read too
        for other in alternate_dirs(Path(repo.objects_dir)):
            try:
                packed += sum(pack.stat().st_size for pack in (other / "pack").glob("*.pack"))
            except OSError:
                continue
    return packed * PACKED_RATIO >= parallel_min_bytes


def shallow_warning(repo: RepoInfo, at_boundary: int) -> str:
    extra = f"; {at_boundary} secret location(s) are attributed to a boundary commit" if at_boundary else ""
    return ("shallow clone: history before the shallow boundary is not available, so commits before it and "
            "blobs only they contain were not scanned, and a secret first seen at a boundary commit may have "
            f"been introduced earlier{extra}; run `git fetch --unshallow` for a complete scan")


def ignored_shallow_warning(repo: RepoInfo) -> str:
    count = len(repo.ignored_shallow)
    return (f"the shallow file names {count} commit(s) ({repo.ignored_shallow[0][:12]}"
            f"{', ...' if count > 1 else ''}) whose parents are in the object database: git would take them for "
            "roots and hide the history behind them, so they were not taken for roots and that history was scanned")


def scan_history(path: Path | RepoInfo, spec: DetectorRecipe, *, jobs: int = 0,
                 max_blob_bytes: int = MAX_BLOB_BYTES, progress: Callable[[int, int], None] | None = None,
                 include_reflogs: bool = False, parallel_min_bytes: int = PARALLEL_MIN_BYTES,
                 in_process: bool = False) -> HistoryResult:
    """Scan every blob reachable from any ref (branches, tags, remotes, notes, every stash entry).

    ``in_process``: read objects in this process (see ``git_reader``) rather than through a git
    beside it: less CPU in all, but no overlap. For callers that keep every core busy (a sweep).
    """
    repo = path if isinstance(path, RepoInfo) else open_repo(Path(path))
    result = HistoryResult(repo=repo)
    # the tips --all misses: older stash entries, other worktrees' own refs, pseudo-refs; the
    # listing, the log and the hand-over between them all start from these same tips
    tips = list(dict.fromkeys([*stash_tips(repo), *worktree_tips(repo)]))
    revs = ["--all", *tips, *(["--reflog"] if include_reflogs else [])]
    blobs = BlobSet()
    large = effective_jobs(jobs) > 1 and _looks_large(repo, parallel_min_bytes)
    # workers reading in-process skip the blobs too large to read themselves: none need sizing first
    unsized = not in_process and streams(jobs, large) and workers_read_in_process(repo.objects_dir)
    # the commit log for attribution runs beside the scan from the first blob that hits
    # once a blob hits, the attribution log lists the rest of the history (not with reflogs: the
    # log walks reflog entries as commits, their trees may be anything); the listing starts it then
    hand_over = not in_process and not include_reflogs
    with PrefetchedLog(repo, revs, deferred=hand_over) as log:
        # the reader reads the blobs when scanning in this process; the sizer sizes what rev-list lists
        with open_reader(repo.path, repo.objects_dir, max_blob_bytes, in_process=in_process) as reader, \
                _sizer(repo, reader, in_process, unsized) as sizer:
            switch = LogHandOver(log, repo, tips) if hand_over else None
            listing = iter_history_blobs(repo, tips, sizer, blobs, reflogs=include_reflogs, log_listing=switch)
            small = _small(listing, blobs, max_blob_bytes)
            try:
                totals = scan_blob_stream(repo.path, spec, small, jobs=jobs,
                                          progress=progress, parallel_min_bytes=parallel_min_bytes, reader=reader,
                                          objects_dir=repo.objects_dir, max_bytes=max_blob_bytes,
                                          on_hits=log.want, large=large, sized=not unsized)
            finally:
                listing.close()
        _stream_large(repo, spec, blobs, totals, max_blob_bytes, "blob(s)")
        _account(result, blobs, totals, "blob(s)")
        hits_of = totals.hits
        intros: list[Introduction] = []
        seen: set[str] = set()  # hit blobs that appear in some commit's diff
        if hits_of:
            def want(oid: str) -> bool:
                if oid in hits_of:
                    seen.add(oid)
                    return True
                return False

            intros = introductions(log.entries(want, among={oid.encode() for oid in hits_of}), hits_of)
    boundary = shallow_boundary(repo)
    head = head_blobs(repo, lambda _p, oid: oid in hits_of) if hits_of else None
    for intro in intros:
        loc = _location(intro.hit, intro.path, "history", repo, blob=intro.blob, intro=intro,
                        in_head=_in_head(intro.path, intro.hit.secret, head, hits_of))
        result.hits.append((intro.hit, loc))
    _unattributed(result, repo, totals.paths, hits_of, intros, seen, head)
    result.warnings += unreadable_authors(intros)
    if repo.ignored_shallow:
        result.warnings.append(ignored_shallow_warning(repo))
    if repo.shallow:
        result.warnings.append(shallow_warning(repo, sum(i.commit.sha in boundary for i in intros)))
    result.hits.sort(key=_chronological)
    return result


def unreadable_authors(intros: list[Introduction]) -> list[str]:
    """One note per commit whose author line git could not read: those fields are reported empty."""
    notes: dict[str, str] = {}
    for intro in intros:
        meta = intro.commit
        if meta.unreadable and meta.sha not in notes:
            notes[meta.sha] = (f"commit {meta.sha}: its author line cannot be read, so its "
                               f"{', '.join(meta.unreadable)} {'is' if len(meta.unreadable) == 1 else 'are'} "
                               "reported empty")
    return list(notes.values())


def _unattributed(result: HistoryResult, repo: RepoInfo, paths: dict[str, str], hits_of: dict[str, list[Hit]],
                  intros: list[Introduction], seen: set[str], head: dict[str, str] | None) -> None:
    """Hits no commit explains (blob only under a tag/tree, or hidden): reported without a commit."""
    introduced = {i.hit.secret for i in intros}
    for oid, hits in hits_of.items():
        lost = [h for h in hits if oid not in seen or h.secret not in introduced]
        if not lost:
            continue
        where = paths.get(oid, "")
        result.warnings.append(
            f"blob {oid} ({where or 'no path'}): no commit introducing its secret(s) was found (reachable "
            "only through a tag or tree, or hidden by a shallow boundary); reported without a commit")
        for hit in lost:
            result.hits.append((hit, _location(hit, where, "history", repo, blob=oid,
                                               in_head=_in_head(where, hit.secret, head, hits_of))))


def scan_staged(path: Path, spec: DetectorRecipe, *, jobs: int = 0, max_blob_bytes: int = MAX_BLOB_BYTES,
                progress: Callable[[int, int], None] | None = None,
                parallel_min_bytes: int = PARALLEL_MIN_BYTES, changed_only: bool = True) -> HistoryResult:
    """Scan what the next commit would add: staged content (the index, not the work tree) that differs
    from HEAD. With ``changed_only=False``, every index entry (the whole staged snapshot)."""
    repo = open_repo(Path(path))
    if repo.bare:
        raise GitSourceError(f"{repo.path} is a bare repository: it has no index, nothing is staged")
    result = HistoryResult(repo=repo)
    first, entries = index_blobs(repo)
    if changed_only and repo.head is not None:
        # A file staged unchanged was checked when it was committed; re-reading the whole index
        # would make every commit in a large repo pay for all of it (and re-block old leaks).
        committed = head_blobs(repo, lambda _p, _oid: True) or {}
        entries = [(p, oid) for p, oid in entries if committed.get(p) != oid]
        wanted = {oid for _p, oid in entries}
        first = {oid: p for oid, p in first.items() if oid in wanted}
    blobs = sized_blobs(repo, first).split_large(max_blob_bytes)
    hits_of = _scan(repo, spec, blobs, jobs=jobs, progress=progress, parallel_min_bytes=parallel_min_bytes,
                    result=result, max_blob_bytes=max_blob_bytes, what="staged file(s)").hits
    hit_paths = {p for p, oid in entries if oid in hits_of}
    head = head_blobs(repo, lambda p, _oid: p in hit_paths) if hit_paths else None
    if head:  # HEAD's version of a path may differ from the staged one: was the secret committed already?
        unscanned = {oid: p for p, oid in head.items() if oid not in first}
        head_totals = scan_blobs(repo.path, spec, sized_blobs(repo, unscanned).scan, jobs=1,
                                 objects_dir=repo.objects_dir)
        result.errors += head_totals.errors
        hits_of = {**head_totals.hits, **hits_of}
    at_path = _at_other_paths(repo, spec, entries, first, result)
    for index_path, oid in entries:
        for hit in at_path.get((oid, index_path), hits_of.get(oid, ())) if oid in first else ():
            in_head = None if repo.head is None else _in_head(index_path, hit.secret, head or {}, hits_of, at_path)
            result.hits.append((hit, _location(hit, index_path, "staged", repo, blob=oid, in_head=in_head)))
    result.hits.sort(key=lambda pair: pair[1].sort_key())
    return result


def scan_range(path: Path, spec: DetectorRecipe, rev_range: str, *, jobs: int = 0,
               max_blob_bytes: int = MAX_BLOB_BYTES, progress: Callable[[int, int], None] | None = None,
               parallel_min_bytes: int = PARALLEL_MIN_BYTES) -> HistoryResult:
    """Secrets introduced by the commits of ``BASE..TIP``, each attributed to its commit in the range.

    Blobs added by the range (the new side of each commit's diff) are scanned; a hit counts when
    the same path's previous blob did not hold that secret, so a token added and removed again
    inside the range is still reported, and a token older than BASE is not re-reported.
    """
    repo = open_repo(Path(path))
    rng = resolve_range(repo, rev_range)
    result = HistoryResult(repo=repo)
    commits: list[str] = []
    entries = list(iter_log(repo, [f"{rng.base}..{rng.tip}"], on_commit=commits.append))
    cut = shallow_boundary(repo).intersection(commits)
    if cut:
        raise GitSourceError(f"commit range {rng.spec} reaches the shallow boundary at {min(cut)[:12]}: "
                             "its parents are missing, so what it changed is unknown; "
                             + FETCH_MORE.format(rev=rev_range.split("..")[0] or "BASE"))
    added = {e.new: e.path for e in entries}
    blobs = sized_blobs(repo, added).split_large(max_blob_bytes)
    hits_of = dict(_scan(repo, spec, blobs, jobs=jobs, progress=progress, parallel_min_bytes=parallel_min_bytes,
                         result=result, max_blob_bytes=max_blob_bytes, what="added blob(s)").hits)
    at_path = _at_other_paths(repo, spec, ((e.path, e.new) for e in entries), added, result)
    hit_blobs = set(hits_of) | {oid for (oid, _path), hits in at_path.items() if hits}
    hits_of.update(_old_sides(repo, spec, entries, hit_blobs, added, max_blob_bytes, result))
    intros = introductions(entries, hits_of, at_path)
    tip_tree = head_blobs(repo, lambda _p, _oid: True, rev=rng.tip) or {}  # listed once: _merged_in reads it too
    tip = {path: oid for path, oid in tip_tree.items() if oid in hit_blobs}
    for intro in intros:
        loc = _location(intro.hit, intro.path, "range", repo, blob=intro.blob, intro=intro,
                        in_head=_in_head(intro.path, intro.hit.secret, tip, hits_of, at_path))
        result.hits.append((intro.hit, loc))
    introduced = {i.hit.secret for i in intros}
    result.hits += _merged_in(repo, spec, rng, tip_tree, added, introduced, max_blob_bytes, result)
    introduced |= {h.secret for h, _loc in result.hits}
    older = {h.secret for oid in added for h in hits_of.get(oid, ()) if h.secret not in introduced}
    if older:
        result.warnings.append(f"{len(older)} secret(s) in files changed by {rng.spec} were already present "
                               "before the range and are not reported here; scan history to see them")
    result.hits.sort(key=_chronological)
    return result


def _merged_in(repo: RepoInfo, spec: DetectorRecipe, rng: CommitRange, tip_tree: Mapping[str, str],
               added: Mapping[str, str], introduced: set[str], max_blob_bytes: int,
               result: HistoryResult) -> list[tuple[Hit, Location]]:
    """Secrets the tip holds and the base did not, in content no commit of the range added.

    A merge's combined diff leaves out a path equal to one parent, so a merge that keeps a side
    forked before BASE brings back a token BASE had removed without any entry listing it: the
    range's net change (BASE's tree against TIP's) is checked for such blobs too.
    """
    base = head_blobs(repo, lambda _p, _oid: True, rev=rng.base) or {}
    tip = {p: oid for p, oid in tip_tree.items() if oid not in added and base.get(p) != oid}
    if not tip:
        return []
    firsts: dict[str, str] = {}
    for path, oid in tip.items():
        firsts.setdefault(oid, path)
    blobs = sized_blobs(repo, firsts).split_large(max_blob_bytes)
    hits_of = dict(_scan(repo, spec, blobs, jobs=1, progress=None, parallel_min_bytes=PARALLEL_MIN_BYTES,
                         result=result, max_blob_bytes=max_blob_bytes, what="merged blob(s)").hits)
    before_blobs = {base[p]: p for p, oid in tip.items() if oid in hits_of and p in base}
    before = stream_blobs(repo.path, spec, [BlobEntry(oid=o, size=0, path=p) for o, p in before_blobs.items()])
    result.errors += before.errors
    found = []
    for path, oid in sorted(tip.items()):
        old = {h.secret for h in before.hits.get(base.get(path, ""), ())}
        for hit in hits_of.get(oid, ()):
            if hit.secret not in old and hit.secret not in introduced:
                found.append((hit, _location(hit, path, "range", repo, blob=oid, in_head=True)))
    if found:
        result.warnings.append(f"{len(found)} secret location(s) reach the tip of {rng.spec} through a merge that "
                               "kept content from before the range: no commit of the range added them, so they "
                               "are reported without a commit")
    return found


def _old_sides(repo: RepoInfo, spec: DetectorRecipe, entries: list[DiffEntry], hit_blobs: Container[str],
               added: dict[str, str], max_blob_bytes: int, result: HistoryResult) -> dict[str, list[Hit]]:
    """Scan the parents' versions of paths whose new blob hit: did the secret exist before?"""
    wanted = {old: e.path for e in entries if e.new in hit_blobs
              for old in e.olds if set(old) != {"0"} and old not in added}
    if not wanted:
        return {}
    blobs = sized_blobs(repo, wanted).split_large(max_blob_bytes)
    totals = scan_blobs(repo.path, spec, blobs.scan, jobs=1, objects_dir=repo.objects_dir,
                        max_bytes=max_blob_bytes)
    result.errors += totals.errors
    return totals.hits
