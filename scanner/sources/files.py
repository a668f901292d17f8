"""Working-tree source: which files to read, and reading them safely.

Inside a git work tree the file list comes from ``git ls-files`` (tracked + untracked, minus what
.gitignore excludes), which is exactly git's own ignore semantics; elsewhere a plain walk.
"""

from __future__ import annotations

import os
import queue
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from scanner.detect import Detector, Hit, allowed_note, is_binary, scan_or_error
from scanner.errors import JtsError
from scanner.excludes import Excludes
from scanner.findings import Location, some_of
from scanner.sources.git_cmd import GitSourceError, first_error_line, run_git
from scanner.sources.workers import dead_workers, die_with_parent, process_context, shutdown

CHUNK_BYTES = 16 * 2**20  # large files are scanned in line-aligned chunks of this size
MAX_LINE_BYTES = 4 * CHUNK_BYTES  # a line longer than this is cut (at a separator) rather than held whole
SEPARATOR_SEARCH = 64 * 1024  # how far back from a forced cut to look for a byte no token holds
TOKEN_BYTES = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=_-.:@%")
PARALLEL_MIN_FILES = 1000  # per worker: below this, starting one costs more than it saves
PROGRESS_EVERY = 200  # files
POLL_SECONDS = 1.0


class SourceError(JtsError):
    """A target cannot be scanned at all (missing path, unreadable root)."""


@dataclass
class FileScanResult:
    hits: list[tuple[Hit, Location]] = field(default_factory=list)
    files: int = 0
    bytes: int = 0
    skipped_binary: int = 0
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # content that could not be scanned
    allowed: dict[str, set[int]] = field(default_factory=dict)  # path -> lines an allow marker kept a hit off

    def merge(self, other: FileScanResult) -> None:
        for path, lines in other.allowed.items():
            self.allowed.setdefault(path, set()).update(lines)
        self.hits.extend(other.hits)
        self.files += other.files
        self.bytes += other.bytes
        self.skipped_binary += other.skipped_binary
        self.warnings.extend(other.warnings)
        self.errors.extend(other.errors)


def git_toplevel(path: Path) -> Path | None:
    directory = path if path.is_dir() else path.parent
    try:
        out = run_git(directory, ["rev-parse", "--show-toplevel"], check=False, timeout=30)
    except GitSourceError:  # no git: walk the directory instead
        return None
    top = out.stdout.decode("utf-8", "surrogateescape").strip()
    return Path(top) if out.returncode == 0 and top else None


def git_listed_files(top: Path, target: Path) -> list[str]:
    """Tracked and untracked-but-not-ignored files under ``target``, per git's ignore rules."""
    try:
        out = run_git(top, ["ls-files", "--cached", "--others", "--exclude-standard", "-z", "--",
                            str(target.resolve())], check=False, timeout=600)
    except GitSourceError as exc:
        raise SourceError(f"{target}: git ls-files failed: {exc}") from None
    if out.returncode != 0:
        raise SourceError(f"{target}: git ls-files failed: {first_error_line(out.stderr)}")
    # Plain strings, not Path objects: pathlib costs more than reading a small file.
    prefix = str(top) + os.sep
    return [prefix + os.fsdecode(raw) for raw in dict.fromkeys(out.stdout.split(b"\0")) if raw]


def walk_files(target: Path, warnings: list[str] | None = None) -> Iterator[str]:
    def unreadable(exc: OSError) -> None:  # a directory we cannot list is named, never skipped silently
        if warnings is not None:
            warnings.append(f"{exc.filename}: cannot list directory: {exc.strerror or exc}")

    for root, dirs, names in os.walk(target, followlinks=False, onerror=unreadable):
        dirs[:] = sorted(d for d in dirs if d != ".git")
        for name in sorted(names):
            yield os.path.join(root, name)


def list_files(targets: list[Path], use_gitignore: bool,
               excludes: list[str] | Excludes) -> tuple[list[tuple[str, str]], list[str]]:
    """(file, root it was found under) pairs for the targets, plus warnings; ``Excludes`` counts what it skips."""
    spec = Excludes.of(excludes)
    warnings: list[str] = []
    out: list[tuple[str, str]] = []
    for target in targets:
        if not target.exists() and not target.is_symlink():
            raise SourceError(f"{target}: no such file or directory")
        if target.is_file():
            out.append((str(target), str(target.parent)))
            continue
        if not target.is_dir():
            warnings.append(f"{target}: not a regular file or directory, skipped")
            continue
        top = git_toplevel(target) if use_gitignore else None
        files = git_listed_files(top, target) if top else list(walk_files(target, warnings))
        base = str(top or target)
        for path in files:
            if spec and spec.skip(_relative(path, base)):
                continue
            out.append((path, base))
    return out, warnings


def _relative(path: str, base: str) -> str:
    prefix = base.rstrip(os.sep) + os.sep
    if path.startswith(prefix):  # the usual case, without relpath's normalising (~30 us a file)
        rel = path[len(prefix):]
        plain = rel and rel[0] != "." and os.sep not in (rel[0], rel[-1])
        if plain and f"{os.sep}." not in rel and os.sep * 2 not in rel:
            return rel.replace(os.sep, "/")
    rel = os.path.relpath(path, base) if os.path.isabs(path) == os.path.isabs(base) else path
    return path if rel.startswith("..") else rel.replace(os.sep, "/")


def _inside(path: str, root: str, real_paths: dict[str, str]) -> bool:
    """Does ``path`` resolve inside ``root``? Real paths are remembered in ``real_paths``."""
    real, real_root = _realpath(path, real_paths), _realpath(root, real_paths)
    return real == real_root or real.startswith(real_root.rstrip(os.sep) + os.sep)


def _realpath(path: str, real_paths: dict[str, str]) -> str:
    real = real_paths.get(path)
    if real is None:
        real = real_paths[path] = os.path.realpath(path)
    return real


def scan_file(detector: Detector, path: str, display: str, result: FileScanResult) -> None:
    """Scan one file in line-aligned chunks so a multi-GB file never sits in memory whole."""
    try:
        handle = open(path, "rb")
    except OSError as exc:
        result.warnings.append(f"{display}: cannot read: {exc.strerror or exc}")
        return
    with handle:
        scan_stream(detector, handle, display, result, source="file")


def scan_stream(detector: Detector, handle: BinaryIO, display: str, result: FileScanResult,
                source: str = "file") -> None:
    """Scan a byte stream in line-aligned chunks (a file, stdin): never held in memory whole."""
    result.files += 1
    line_offset = 0
    first = True
    carry = b""
    try:
        while True:
            block = handle.read(CHUNK_BYTES)  # buffered: short only at the end, pipes included
            data = carry + block
            if not data:
                break
            at_end = len(block) < CHUNK_BYTES
            carry = b""
            if not at_end:
                # Cut at the last newline so no line (and no token) straddles two chunks.
                cut = data.rfind(b"\n") + 1
                if cut == 0 and len(data) < MAX_LINE_BYTES:
                    carry = data  # a very long line: keep reading until it ends (bounded)
                    continue
                if cut == 0:
                    cut = _separator_cut(data)
                    result.warnings.append(
                        f"{display}: line {line_offset + 1} is longer than {MAX_LINE_BYTES // 2**20} MiB; "
                        "scanned in parts cut between tokens (columns after a cut restart at 1)"
                        if cut < len(data) else
                        f"{display}: line {line_offset + 1} is longer than {MAX_LINE_BYTES // 2**20} MiB and has no "
                        "separator near the cut: a secret spanning the cut may be missed")
                data, carry = data[:cut], data[cut:]
            if first and is_binary(data):
                result.skipped_binary += 1
            first = False
            result.bytes += len(data)
            found, error = scan_or_error(detector, display, data, line_offset)
            if getattr(detector, "allowed_lines", None):
                result.allowed.setdefault(display, set()).update(detector.allowed_lines)
            if error:
                result.errors.append(f"{display}: lines {line_offset + 1}+ not scanned: {error}")
            for hit in found:
                result.hits.append((hit, Location(path=display, line=hit.line, column=hit.column,
                                                  end_column=hit.end_column, source=source)))
            line_offset += data.count(b"\n")
            if at_end:
                break
    except OSError as exc:
        result.warnings.append(f"{display}: read error after {result.bytes} bytes: {exc.strerror or exc}")


def _separator_cut(data: bytes) -> int:
    """Where to cut a line with no newline: after the last byte no token can contain, near the end."""
    tail = data[-SEPARATOR_SEARCH:]
    for index in range(len(tail) - 1, -1, -1):
        if tail[index] not in TOKEN_BYTES:
            return len(data) - len(tail) + index + 1
    return len(data)


def _scan_listed(detector: Detector, files: list[tuple[str, str]], cwd: str, result: FileScanResult,
                 progress: Callable[[int], None] | None = None) -> None:
    outside: list[str] = []
    real_paths: dict[str, str] = {}  # one realpath per directory (and root), not per file
    for index, (path, root) in enumerate(files):
        if progress and index % PROGRESS_EVERY == 0:
            progress(index)
        display = _relative(os.path.abspath(path), cwd)
        try:
            mode = os.lstat(path).st_mode
        except OSError:
            continue  # listed by git but deleted from the work tree: nothing to read
        # A link, or a path under a directory replaced by a link, is read only when it stays
        # inside the tree being scanned: a listed name must not lead out of it.
        if stat.S_ISLNK(mode) or not _inside(os.path.dirname(path), root, real_paths):
            if not _inside(path, root, real_paths):
                outside.append(display)
                continue
            if os.path.isdir(path):
                continue
            try:
                mode = os.stat(path).st_mode
            except OSError:
                continue  # a dangling link
        if not stat.S_ISREG(mode):
            # FIFOs would block the scan, devices never end: named, not opened
            result.warnings.append(f"{display}: not a regular file (fifo, socket or device), skipped")
            continue
        scan_file(detector, path, display, result)
    if outside:
        result.warnings.append(f"{len(outside)} path(s) lead outside the scanned tree through a symbolic link "
                               f"and were not followed: {some_of(outside)}")


def scan_paths(detector: Detector, targets: list[Path], *, use_gitignore: bool = True,
               excludes: list[str] | Excludes | None = None, progress: Callable[[int, int], None] | None = None,
               jobs: int = 1) -> FileScanResult:
    """Scan the files under ``targets``; ``jobs`` > 1 spreads a large tree over forked workers."""
    result = FileScanResult()
    files, warnings = list_files(targets, use_gitignore, excludes or [])
    result.warnings.extend(warnings)
    cwd = os.getcwd()
    workers = min(jobs, len(files) // PARALLEL_MIN_FILES)
    context = process_context()
    # forked workers inherit the detector; spawning them would cost more than small trees take
    if workers > 1 and context.get_start_method() == "fork":
        _scan_in_workers(context, detector, files, cwd, workers, result, progress)
    else:
        _scan_listed(detector, files, cwd, result, progress and (lambda done: progress(done, len(files))))
    if progress:
        progress(len(files), len(files))
    result.warnings += allowed_note(result.allowed)
    return result


def _worker(index: int, detector: Detector, files: list[tuple[str, str]], cwd: str, results: Any) -> None:
    """One worker's share of the tree; progress and then its result go back over ``results``."""
    die_with_parent()
    result = FileScanResult()
    try:
        _scan_listed(detector, files, cwd, result, lambda done: done and results.put(("progress", index, None)))
        results.put(("done", index, result))
    except BaseException as exc:  # report, so the parent fails loudly instead of waiting forever
        results.put(("failed", index, f"{type(exc).__name__}: {exc}"))


def _scan_in_workers(context: Any, detector: Detector, files: list[tuple[str, str]], cwd: str, workers: int,
                     result: FileScanResult, progress: Callable[[int, int], None] | None) -> None:
    results = context.Queue()
    # interleaved shares: neighbouring files (one directory) are alike in size, so shares balance
    procs = [context.Process(target=_worker, args=(i, detector, files[i::workers], cwd, results), daemon=True,
                             name=f"jts-file-scan-{i}") for i in range(workers)]
    for proc in procs:
        proc.start()
    parts: dict[int, FileScanResult] = {}
    done = 0
    try:
        while len(parts) < workers:
            try:
                kind, index, value = results.get(timeout=POLL_SECONDS)
            except queue.Empty:
                dead = dead_workers(procs, results, "working-tree scan")
                if dead:
                    raise SourceError(dead) from None
                continue
            if kind == "failed":
                raise SourceError(f"working-tree scan worker failed: {value}")
            if kind == "progress":
                done += PROGRESS_EVERY
                if progress:
                    progress(min(done, len(files)), len(files))
            else:
                parts[index] = value
    finally:
        shutdown(procs, [results], graceful=len(parts) == workers)
    for _, part in sorted(parts.items()):
        result.merge(part)
    # the same order as a scan in one process: by path, then position
    result.hits.sort(key=lambda pair: (pair[1].path, pair[1].line, pair[1].column))
    result.warnings.sort()
    result.errors.sort()


def scan_stdin(detector: Detector, handle: BinaryIO, name: str = "<stdin>") -> FileScanResult:
    """Piped content, streamed in chunks like a file: ``/dev/zero`` costs time, not memory."""
    result = FileScanResult()
    scan_stream(detector, handle, name, result, source="stdin")
    result.warnings += allowed_note(result.allowed)
    return result
