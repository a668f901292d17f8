"""Which commits introduced a secret at a path: one streamed ``git log --raw`` pass.

A commit *introduces* a secret at a path when the path's new blob contains the secret and none
of the parents' blobs at that path did. Editing a file 100 times while the token stays in it is
one introduction; deleting and re-adding it is two. Merges use git's combined diff (``-c``): only
paths that differ from every parent are listed, so a merge introduces something only when its
result is new on all sides (an "evil merge" or a conflict resolution), never by merely merging.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import threading
from collections.abc import Callable, Container, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING

from scanner.sources.git_cmd import GitSourceError, first_error_line, popen_git
from scanner.sources.git_repo import RepoInfo
from scanner.sources.git_watchdog import Watchdog, WatchedStream

if TYPE_CHECKING:
    from scanner.detect import Hit

# Fields end at newlines: a commit's author line ends at the first one, so no name or email
# holds one (any other byte, \x01 and \x02 included, a crafted commit may put there).
LOG_PLACEHOLDERS = ("%an", "%ae", "%aI")  # author name, email, date
LOG_FORMAT = "--format=%x01%H%n" + "%n".join(LOG_PLACEHOLDERS)
LOG_ARGS = ("log", "-z", "--raw", "--no-abbrev", "--no-renames", "-c", "--root", "--no-color",
            "--no-ext-diff", "--no-textconv", "--no-mailmap", LOG_FORMAT)
GITLINK_BYTES = b"160000"
READ_SIZE = 1 << 20


@dataclass(frozen=True)
class CommitMeta:
    sha: str
    author: str
    email: str
    date: str  # ISO 8601 author date
    unreadable: tuple[str, ...] = ()  # author fields git could not read from the commit (left empty)


@dataclass(frozen=True)
class DiffEntry:
    commit: CommitMeta
    path: str
    olds: tuple[str, ...]  # the path's blob in each parent (all zeros when absent)
    new: str


@dataclass(frozen=True)
class Introduction:
    commit: CommitMeta
    path: str
    blob: str
    hit: Hit


def _tokens(stream: IO[bytes] | WatchedStream) -> Iterator[bytes]:
    """NUL-separated tokens of a (possibly huge) stream, without holding it in memory."""
    rest = b""
    while block := stream.read(READ_SIZE):
        parts = (rest + block).split(b"\0")
        rest = parts.pop()
        yield from parts
    if rest:
        yield rest


def _new_blob(entry: bytes) -> tuple[int, list[bytes]] | None:
    """(parents, fields) of a raw entry whose new side is a blob; None for a deleted path, a
    submodule commit, or anything not shaped like an entry."""
    parents = len(entry) - len(entry.lstrip(b":"))
    fields = entry.split()  # the colons stay on the first mode: the indexes are the same
    if len(fields) < 2 * parents + 2 or fields[parents] == GITLINK_BYTES or not fields[2 * parents + 1].strip(b"0"):
        return None
    return parents, fields


class LogBlobs:
    """``git log --raw -z`` output, fed block by block: the new blob of each complete entry.

    Every blob reachable from the walked commits is some entry's new side: follow a blob at a path
    back through parents that hold it there, to a commit where none does; its diff (a root's
    included, a merge's combined one) lists it. Deletions and submodule commits are left out.
    """

    def __init__(self) -> None:
        self.rest = b""
        self.entry: bytes | None = None  # an entry whose path token has not come yet

    def feed(self, block: bytes) -> list[tuple[bytes, bytes]]:
        parts = (self.rest + block).split(b"\0")
        self.rest = parts.pop()
        return self._tokens(parts)

    def end(self) -> list[tuple[bytes, bytes]]:
        rest, self.rest = self.rest, b""
        return self._tokens([rest] if rest else [])

    def _tokens(self, tokens: list[bytes]) -> list[tuple[bytes, bytes]]:
        found = []
        for token in tokens:
            if self.entry is not None:
                entry, self.entry = self.entry, None
                if (blob := _new_blob(entry)) is not None:
                    parents, fields = blob
                    found.append((fields[2 * parents + 1], token))
                continue
            if token[:1] == b"\n":
                token = token.lstrip(b"\n")
            if token.startswith(b":"):
                self.entry = token  # its path is the next token
        return found


def _commit(header: bytes) -> CommitMeta:
    """The header's fields; whatever a crafted commit made of them, never an exception."""
    fields = header[1:].decode("utf-8", "replace").split("\n")
    sha, *values = (fields + [""] * 4)[:4]
    # git prints a placeholder it cannot fill (an author line it cannot parse) as written: "%aI"
    # is not a date, so such a field is left empty and named
    # (one placeholder left means git could not parse the line: its empty fields are not data either)
    broken = any(value in LOG_PLACEHOLDERS for value in values)
    unreadable = tuple(name for name, value in zip(("author", "email", "date"), values)
                       if value in LOG_PLACEHOLDERS or (broken and not value))
    author, email, date = ("" if value in LOG_PLACEHOLDERS else value for value in values)
    return CommitMeta(sha=sha, author=author, email=email, date=date, unreadable=unreadable)


def iter_log(repo: RepoInfo, revs: Iterable[str], want: Callable[[str], bool] | None = None,
             on_commit: Callable[[str], None] | None = None) -> Iterator[DiffEntry]:
    """Stream ``git log --raw`` over ``revs``: entries whose new side is a blob that ``want`` accepts."""
    with _log_stream(repo, revs) as (stream, _proc):
        yield from _parse(_tokens(stream), want, on_commit)


@contextmanager
def _log_stream(repo: RepoInfo, revs: Iterable[str],
                tips: bytes | None = None) -> Iterator[tuple[WatchedStream, subprocess.Popen[bytes]]]:
    """``git log --raw`` over ``revs`` (and ``tips``, one commit id a line, read with --stdin) as a
    watched stream; its failure is raised once it is read."""
    with tempfile.TemporaryFile() as err, \
            (tempfile.TemporaryFile() if tips is not None else open(os.devnull, "rb")) as given:
        if tips is not None:
            given.write(tips)
            given.seek(0)
            revs = ["--stdin", *revs]
        proc = popen_git(repo.path, [*LOG_ARGS, *revs, "--"], stdin=given, stdout=subprocess.PIPE, stderr=err)
        assert proc.stdout is not None
        watchdog = Watchdog(proc)  # a damaged tree can make git log loop forever
        try:
            yield WatchedStream(proc.stdout, watchdog), proc
        finally:
            proc.stdout.close()
            rc = proc.wait()
            watchdog.close()
        if rc != 0:
            err.seek(0)
            why = watchdog.message("git log") if watchdog.fired else first_error_line(err.read())
            raise GitSourceError(f"cannot read commit history of {repo.path}: {why}")


class LogTail:
    """One git log's output (of a PrefetchedLog) read as it grows."""

    def __init__(self, part: _LogPart):
        self.part = part
        self.offset = 0
        self.ended = False

    def ready(self) -> bytes:
        """What git wrote since the last read (b"" when nothing yet, or at the end: ``ended``);
        its failure is raised at the end."""
        block = self.part.read(self.offset, wait=False)
        if block is None:
            self.ended = True
            return b""
        self.offset += len(block)
        return block


class _LogPart:
    """One ``git log --raw`` copied into a temporary file by a thread of its own."""

    def __init__(self, repo: RepoInfo, revs: list[str], tips: bytes | None, grown: threading.Condition):
        self.repo = repo
        self.revs = revs
        self.tips = tips
        self.grown = grown  # the PrefetchedLog's: told each time a part's file grows, and when git is done
        self.file = tempfile.TemporaryFile()
        self.proc: subprocess.Popen[bytes] | None = None
        self.error: BaseException | None = None
        self.closing = False
        self.written = 0
        self.finished = False
        self.thread = threading.Thread(target=self._copy, name="jts-git-log", daemon=True)
        self.thread.start()

    def _copy(self) -> None:
        try:
            with _log_stream(self.repo, self.revs, self.tips) as (stream, proc):
                self.proc = proc
                if self.closing:  # close() came before git started: nothing to wait for
                    proc.kill()
                while block := stream.read(READ_SIZE):
                    self.file.write(block)
                    self.file.flush()  # read() reads the file by descriptor
                    with self.grown:
                        self.written += len(block)
                        self.grown.notify_all()
        except (GitSourceError, OSError, ValueError) as exc:  # ValueError: the file closed under us
            self.error = exc
        finally:
            with self.grown:
                self.finished = True
                self.grown.notify_all()

    def read(self, offset: int, wait: bool) -> bytes | None:
        """Output from ``offset`` on: b"" when none is there yet (without ``wait``), None at the end."""
        with self.grown:
            while wait and offset == self.written and not self.finished:
                self.grown.wait()
            end, finished = self.written, self.finished
        if offset < end:
            block = os.pread(self.file.fileno(), min(READ_SIZE, end - offset), offset)
            if not block:
                raise GitSourceError(f"cannot read back the commit history of {self.repo.path}")
            return block
        if finished:
            self.raise_error()
            return None
        return b""

    def raise_error(self) -> None:
        if isinstance(self.error, GitSourceError):
            raise self.error
        if self.error is not None:
            raise GitSourceError(f"cannot buffer the commit history of {self.repo.path}: "
                                 f"{type(self.error).__name__}")

    def join(self) -> None:
        self.thread.join()
        self.raise_error()

    def close(self) -> None:
        """Stop git if it still runs (the scan failed or was interrupted) and drop the file."""
        self.closing = True
        if self.thread.is_alive() and self.proc is not None:
            self.proc.kill()
        self.thread.join()
        self.file.close()


class PrefetchedLog:
    """``git log --raw`` run beside the history scan, into temporary files.

    Attribution needs the log only when some blob hits, and then only after the scan; started at
    the first hit, git walks the commits while the workers still detect, instead of after them
    (and the listing reads the rest of the history from it, see git_blobs.iter_history_blobs).

    ``deferred``: the listing starts it (``split``) when it learns of the first hit, until it ends
    (``undefer``); a hit before only marks it wanted.
    """

    def __init__(self, repo: RepoInfo, revs: list[str], deferred: bool = False):
        self.repo = repo
        self.revs = revs
        self.deferred = deferred
        self.wanted = False
        self.closed = False
        self.parts: list[_LogPart] = []  # in walk order: their entries, one after the other, are the log's
        self._grown = threading.Condition()

    def __enter__(self) -> PrefetchedLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def want(self) -> None:
        """Some blob hit: the log will be needed, start it now (or let the listing start it)."""
        self.wanted = True
        if not self.deferred:
            self.start()

    def undefer(self) -> None:
        """The listing ended without starting the log: a hit starts it from now on."""
        self.deferred = False
        if self.wanted:
            self.start()

    def start(self) -> None:
        if not self.parts and not self.closed:
            self.parts = [_LogPart(self.repo, self.revs, None, self._grown)]

    def split(self, first: int, tips: bytes) -> list[LogTail]:
        """Start the log as two gits walking the same history from the same resolved ``tips``
        (one commit id a line): its ``first`` commits, and the rest, side by side (a split
        exactly where the listing stopped lets the rest list blobs at once, instead of after the
        log has walked again what the listing walked). Already started: its output as it is."""
        if not self.parts and not self.closed:
            if first <= 0:
                self.start()
            else:
                self.parts = [_LogPart(self.repo, [f"--max-count={first}"], tips, self._grown),
                              _LogPart(self.repo, [f"--skip={first}"], tips, self._grown)]
        return [LogTail(part) for part in self.parts]

    def wait(self, timeout: float) -> None:
        """Until some part's output grows or ends (at most ``timeout`` s: a wake-up may come first)."""
        with self._grown:
            self._grown.wait(timeout)

    def entries(self, want: Callable[[str], bool] | None = None,
                among: Container[bytes] | None = None) -> Iterator[DiffEntry]:
        """The log's entries ``want`` accepts; ``among``: the hex ids it can accept, if known (most
        entries are then passed over without being split: this runs after the scan, on one core)."""
        self.start()
        if not self.parts:
            raise GitSourceError(f"the commit history of {self.repo.path} was not read (the scan was closed)")
        for part in self.parts:
            part.join()
        for part in self.parts:
            part.file.seek(0)
            yield from _parse(_tokens(part.file), want, None, among)

    def close(self) -> None:
        """Stop git if it still runs (the scan failed or was interrupted) and drop the files."""
        self.closed = True  # nothing starts it any more
        for part in self.parts:
            part.close()


def _parse(tokens: Iterator[bytes], want: Callable[[str], bool] | None,
           on_commit: Callable[[str], None] | None, among: Container[bytes] | None = None) -> Iterator[DiffEntry]:
    header = b""
    meta: CommitMeta | None = None
    for token in tokens:
        if token[:1] == b"\n":
            token = token.lstrip(b"\n")
        if token.startswith(b"\x01"):
            header, meta = token, None  # decoded lazily: most commits touch no secret
            if on_commit is not None:
                on_commit(token[1:].partition(b"\n")[0].decode("ascii", "replace"))
            continue
        if not token.startswith(b":"):
            continue  # empty separators between commits
        path = next(tokens, b"")
        # a one-parent entry as git writes it (":100644 100644 <old> <new> M"): its new id is at
        # a fixed place, so one not ``among`` the wanted is passed over without splitting it
        if among is not None and token[55:56] == b" " and token[96:97] == b" " and token[1:2] != b":" \
                and token[56:96] not in among:
            continue
        blob = _new_blob(token)
        if blob is None:
            continue  # deleted path or submodule commit: nothing new to look at
        parents, fields = blob
        new = fields[2 * parents + 1].decode()
        if want is not None and not want(new):
            continue
        if meta is None:
            meta = _commit(header)
        olds = tuple(f.decode() for f in fields[parents + 1:2 * parents + 1])
        yield DiffEntry(commit=meta, path=path.decode("utf-8", "surrogateescape"), olds=olds, new=new)


def introductions(entries: Iterable[DiffEntry], hits_of: Mapping[str, list[Hit]],
                  at_path: Mapping[tuple[str, str], list[Hit]] | None = None) -> list[Introduction]:
    """Apply the introduction rule to diff entries; ``hits_of`` must cover new and old blobs.
    ``at_path``: a blob's hits at a path that judges it differently from ``hits_of``'s."""
    found: list[Introduction] = []
    for entry in entries:
        hits = at_path.get((entry.new, entry.path)) if at_path and (entry.new, entry.path) in at_path \
            else hits_of.get(entry.new)
        if not hits:
            continue
        before: set[str] = set()
        for old in entry.olds:
            before.update(h.secret for h in hits_of.get(old, ()))
        for hit in hits:
            if hit.secret not in before:
                found.append(Introduction(commit=entry.commit, path=entry.path, blob=entry.new, hit=hit))
    return found
