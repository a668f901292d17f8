"""Git blobs over --max-blob-mb: streamed from ``git cat-file`` in chunks, never held whole.

Skipping them let a token ride in a big file (a log, a dump) past the hook, the CI gate and the
history scan with a warning and exit 0; working-tree files of any size were already streamed, so
git content now gets the same. A blob git cannot stream (a crafted object that loops or bloats
git) is an error that names it, so the scan exits 2 instead of calling the content clean.
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

from scanner.detect import Detector
from scanner.sources.files import FileScanResult, scan_stream
from scanner.sources.git_blobs import BlobEntry
from scanner.sources.git_cmd import first_error_line, popen_git
from scanner.sources.git_pool import DetectorRecipe, ScanTotals
from scanner.sources.git_watchdog import Watchdog, WatchedStream, memory_limit

# git streams a blob stored whole (loose, or undeltified in a pack) past this size instead of
# inflating it in memory; a deltified one it must build whole, so its memory is watched
STREAM_THRESHOLD = "1m"
MEMORY_ROOM = 1 << 30  # room for one object git builds whole: a claimed size never raises the limit past it


def stream_blobs(repo_path: Path | str, spec: DetectorRecipe, large: list[BlobEntry]) -> ScanTotals:
    """Detect each of ``large`` from a ``git cat-file blob`` stream; hits and failures in the totals."""
    totals = ScanTotals()
    if not large:
        return totals
    detector = spec.build()
    for blob in large:
        _stream_one(repo_path, detector, blob, totals)
    return totals


def _stream_one(repo_path: Path | str, detector: Detector, blob: BlobEntry, totals: ScanTotals) -> None:
    name = blob.path or blob.oid
    found = FileScanResult()
    with tempfile.TemporaryFile() as errors:  # a file, not a pipe: git can never block on it
        proc = popen_git(repo_path, ["cat-file", "blob", blob.oid],
                         tuning=[("core.bigFileThreshold", STREAM_THRESHOLD)],
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=errors)
        dog = Watchdog(proc, memory=memory_limit(min(blob.size, MEMORY_ROOM)))
        try:
            assert proc.stdout is not None
            scan_stream(detector, WatchedStream(proc.stdout, dog), name, found, source="history")  # type: ignore[arg-type]
            proc.stdout.close()
            code = proc.wait()
        finally:
            dog.close()
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        errors.seek(0)
        stderr = errors.read(4096)
    totals.blobs += 1
    totals.bytes += found.bytes
    totals.binary += found.skipped_binary
    totals.warnings += found.warnings
    totals.errors += found.errors
    for path, lines in found.allowed.items():
        totals.allowed.setdefault(path, set()).update(lines)
    hits = [hit for hit, _location in found.hits]
    if hits:  # found before any failure below: reported whatever happens next
        totals.hits[blob.oid] = hits
        totals.paths[blob.oid] = blob.path
    if dog.fired:
        totals.errors.append(f"{name} (blob {blob.oid[:12]}): {dog.message('git cat-file')}; "
                             f"{found.bytes} of its bytes were scanned")
    elif code != 0:
        totals.errors.append(f"{name} (blob {blob.oid[:12]}) could not be read: "
                             f"{first_error_line(stderr)}; {found.bytes} of its bytes were scanned")
    elif found.bytes != blob.size and blob.size:
        totals.errors.append(f"{name} (blob {blob.oid[:12]}): git gave {found.bytes} bytes of {blob.size}")
