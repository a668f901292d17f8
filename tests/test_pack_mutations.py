"""Damaged and crafted object databases (issue 13, item 3): the scan ends, within bounded memory,
names the damaged blob, and still scans the rest.

Each test builds a real repository with git (a planted token in ``deploy.env``, a victim file),
rewrites its objects into packs written here (every object whole, so any entry can be replaced
by a crafted one) or loose files, and damages the victim: truncated, bit-flipped, a delta whose
base is itself, two deltas based on each other, a zlib bomb under a header claiming 2^60 bytes.
Both object readers are exercised: ``scan --history`` (a ``git cat-file`` beside the scanner) and
``sweep`` (objects read in-process, git only for what that cannot read).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import signal
import struct
import subprocess
import sys
import time
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.helpers import ROOT, commit, git, init_repo, new_token, time_limit

STALL = 2  # JTS_GIT_STALL_SECONDS: how long a looping git may keep the scan waiting
MAX_SECONDS = 60  # a scan of these tiny repositories, stalls included
MAX_RSS_MIB = 300  # the bomb inflates to BOMB_BYTES; the scan must stay far below
BOMB_BYTES = 512 << 20
TYPES = {"commit": 1, "tree": 2, "blob": 3, "tag": 4}
REF_DELTA = 7


# --- writing packs and loose objects ---------------------------------------------------------------

def entry_header(kind: int, size: int) -> bytes:
    out = bytearray()
    byte = (kind << 4) | (size & 0x0F)
    size >>= 4
    while size:
        out.append(byte | 0x80)
        byte = size & 0x7F
        size >>= 7
    out.append(byte)
    return bytes(out)


def delta_size(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def whole(kind: str, data: bytes) -> bytes:
    return entry_header(TYPES[kind], len(data)) + zlib.compress(data)


def ref_delta(base: str, delta: bytes, claimed: int | None = None, stream: bytes | None = None) -> bytes:
    return (entry_header(REF_DELTA, len(delta) if claimed is None else claimed) + bytes.fromhex(base)
            + (zlib.compress(delta) if stream is None else stream))


def insert_delta(base_size: int, data: bytes) -> bytes:
    """A delta that ignores its base and inserts ``data`` (chunks of at most 127 bytes)."""
    ops = b"".join(bytes([len(data[i:i + 127])]) + data[i:i + 127] for i in range(0, len(data), 127))
    return delta_size(base_size) + delta_size(len(data)) + ops


def write_pack(pack_dir: Path, entries: list[tuple[str, bytes]]) -> Path:
    """A version-2 pack and index holding ``(oid, raw entry)`` as given (nothing is checked)."""
    body = bytearray(b"PACK" + struct.pack(">II", 2, len(entries)))
    rows = []
    for oid, raw in entries:
        rows.append((bytes.fromhex(oid), len(body), zlib.crc32(raw)))
        body += raw
    checksum = hashlib.sha1(body).digest()
    body += checksum
    rows.sort()
    idx = bytearray(b"\377tOc" + struct.pack(">I", 2))
    for first in range(256):
        idx += struct.pack(">I", sum(1 for sha, _, _ in rows if sha[0] <= first))
    idx += b"".join(sha for sha, _, _ in rows)
    idx += b"".join(struct.pack(">I", crc) for _, _, crc in rows)
    idx += b"".join(struct.pack(">I", offset) for _, offset, _ in rows)
    idx += checksum
    idx += hashlib.sha1(idx).digest()
    name = pack_dir / f"pack-{checksum.hex()}"
    name.with_suffix(".pack").write_bytes(body)
    name.with_suffix(".idx").write_bytes(idx)
    return name.with_suffix(".pack")


def loose_path(repo: Path, oid: str) -> Path:
    return repo / ".git" / "objects" / oid[:2] / oid[2:]


@pytest.fixture(scope="module")
def bomb() -> bytes:
    """A zlib stream of BOMB_BYTES zeros (~0.5 MB compressed)."""
    squeeze = zlib.compressobj(9)
    zeros = b"\0" * (1 << 20)
    return b"".join([*(squeeze.compress(zeros) for _ in range(BOMB_BYTES >> 20)), squeeze.flush()])


# --- the repository --------------------------------------------------------------------------------

class Repo:
    """A repository whose objects are all rewritten: commits, trees and the token in one pack, the
    victims wherever and however a test puts them."""

    def __init__(self, root: Path):
        self.root = init_repo(root)
        self.token = new_token()
        commit(root, {"deploy.env": f"JENKINS_URL=https://jenkins.example.com/\nJENKINS_USER_ID=alice\n"
                                    f"JENKINS_API_TOKEN={self.token}\n",
                      "victim.txt": "first victim\n" * 20, "other.txt": "second victim\n" * 20,
                      "README.md": "# repo\n"})
        self.paths = {path: git(root, "rev-parse", f"HEAD:{path}") for path in ("victim.txt", "other.txt")}
        self.victim, self.other = self.paths["victim.txt"], self.paths["other.txt"]
        self.objects = self._all_objects()

    def _all_objects(self) -> dict[str, tuple[str, bytes]]:
        listing = git(self.root, "cat-file", "--batch-all-objects", "--batch-check=%(objectname) %(objecttype)")
        found = {}
        for line in listing.splitlines():
            oid, kind = line.split()
            data = subprocess.run(["git", "cat-file", kind, oid], cwd=self.root, check=True,
                                  capture_output=True).stdout
            found[oid] = (kind, data)
        return found

    def rewrite(self, crafted: dict[str, bytes], loose: dict[str, bytes] | None = None) -> Path:
        """Everything but the crafted objects in one good pack; crafted pack entries in a second pack,
        ``loose`` victims as loose files (raw file bytes)."""
        objects = self.root / ".git" / "objects"
        for path in objects.glob("??/*"):
            path.unlink()
        for path in (objects / "pack").glob("pack-*"):
            path.unlink()
        skip = set(crafted) | set(loose or {})
        write_pack(objects / "pack", [(oid, whole(kind, data)) for oid, (kind, data) in self.objects.items()
                                      if oid not in skip])
        for oid, raw in (loose or {}).items():
            loose_path(self.root, oid).parent.mkdir(exist_ok=True)
            loose_path(self.root, oid).write_bytes(raw)
        return write_pack(objects / "pack", list(crafted.items())) if crafted else objects / "pack"

    def data(self, oid: str) -> bytes:
        return self.objects[oid][1]


# --- running the CLI under measurement -------------------------------------------------------------

MEASURE = """
import resource, subprocess, sys
done = subprocess.run(sys.argv[2:])
with open(sys.argv[1], "w") as out:
    out.write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))
sys.exit(done.returncode)
"""


def measured(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], float, int]:
    """Run ``jts args``: (result, seconds, peak RSS in MiB of the largest process it ran, git included)."""
    rss = tmp_path / "rss.txt"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "JTS_GIT_STALL_SECONDS": str(STALL)}
    start = time.monotonic()
    # a session of its own, so that a scan that hangs is stopped with every git it started
    with subprocess.Popen([sys.executable, "-c", MEASURE, str(rss), sys.executable, "-m", "scanner", *args],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                          start_new_session=True) as proc:
        try:
            out, err = proc.communicate(timeout=MAX_SECONDS * 2)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            pytest.fail(f"jts {' '.join(args)} still running after {MAX_SECONDS * 2} s")
    done = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
    return done, time.monotonic() - start, int(rss.read_text()) >> 10


def scan_history(repo: Repo, tmp_path: Path) -> tuple[dict, float, int]:
    done, seconds, rss = measured(tmp_path, "scan", "--history", str(repo.root), "-f", "json", "--no-progress")
    assert done.returncode in (1, 2), done.stderr
    return json.loads(done.stdout), seconds, rss


def sweep(repo: Repo, tmp_path: Path) -> tuple[dict, float, int]:
    done, seconds, rss = measured(tmp_path, "sweep", str(repo.root), "--state", str(tmp_path / "state.sqlite"),
                                  "-f", "json", "--no-progress")
    assert done.returncode in (1, 2), done.stderr
    return json.loads(done.stdout), seconds, rss


SCANS: dict[str, Callable[[Repo, Path], tuple[dict, float, int]]] = {"history": scan_history, "sweep": sweep}


def assert_survived(repo: Repo, report: dict, seconds: float, rss: int, damaged: list[str]) -> None:
    """Bounded time and memory; the planted token still found; each damaged blob named."""
    assert seconds < MAX_SECONDS, f"took {seconds:.1f} s"
    assert rss < MAX_RSS_MIB, f"peak RSS {rss} MiB"
    assert any(f["rule_id"] == "api_token" and f["user"] == "alice" for f in report["findings"]), report
    text = "\n".join(report["warnings"] + report.get("errors", []))
    for oid in damaged:
        path = next(path for path, blob in repo.paths.items() if blob == oid)
        assert oid in text or f": {path} (" in text, f"{oid} ({path}) not named in: {text}"


# --- the mutations ---------------------------------------------------------------------------------

@pytest.mark.parametrize("scan", SCANS)
def test_delta_whose_base_is_itself(tmp_path, scan):
    """git itself loops forever on this one (cat-file -t, --batch-command)."""
    repo = Repo(tmp_path / "repo")
    size = len(repo.data(repo.victim))
    repo.rewrite({repo.victim: ref_delta(repo.victim, insert_delta(size, repo.data(repo.victim)))})
    report, seconds, rss = SCANS[scan](repo, tmp_path)
    assert_survived(repo, report, seconds, rss, [repo.victim])
    assert f"blob {repo.victim} (victim.txt) not scanned: " in "\n".join(report["warnings"] + report.get("errors", []))


@pytest.mark.parametrize("scan", SCANS)
def test_two_deltas_based_on_each_other(tmp_path, scan):
    repo = Repo(tmp_path / "repo")
    a, b = repo.victim, repo.other
    repo.rewrite({a: ref_delta(b, insert_delta(len(repo.data(b)), repo.data(a))),
                  b: ref_delta(a, insert_delta(len(repo.data(a)), repo.data(b)))})
    report, seconds, rss = SCANS[scan](repo, tmp_path)
    assert_survived(repo, report, seconds, rss, [a, b])


@pytest.mark.parametrize("scan", SCANS)
def test_delta_claiming_2_60_bytes_over_a_zlib_bomb(tmp_path, scan, bomb, inflater):
    """Issue 13: this inflated to 3.1 GB RSS (the inflate limit was the header's size + 1)."""
    repo = Repo(tmp_path / "repo")
    repo.rewrite({repo.victim: ref_delta(repo.other, b"", claimed=1 << 60, stream=bomb)})
    report, seconds, rss = SCANS[scan](repo, tmp_path)
    assert_survived(repo, report, seconds, rss, [repo.victim])


@pytest.mark.parametrize("scan", SCANS)
def test_blob_whose_stream_outgrows_its_header(tmp_path, scan, bomb, inflater):
    repo = Repo(tmp_path / "repo")
    repo.rewrite({repo.victim: entry_header(TYPES["blob"], 100) + bomb})
    report, seconds, rss = SCANS[scan](repo, tmp_path)
    assert_survived(repo, report, seconds, rss, [repo.victim])


@pytest.mark.parametrize("scan", SCANS)
def test_truncated_pack(tmp_path, scan):
    """git and the in-process reader then refuse the whole pack: its blobs are missing."""
    repo = Repo(tmp_path / "repo")
    victim_pack = repo.rewrite({repo.victim: whole("blob", repo.data(repo.victim)),
                                repo.other: whole("blob", repo.data(repo.other))})
    raw = victim_pack.read_bytes()
    victim_pack.write_bytes(raw[:len(raw) * 3 // 4])
    report, seconds, rss = SCANS[scan](repo, tmp_path)
    assert_survived(repo, report, seconds, rss, [repo.victim, repo.other])


@pytest.mark.parametrize("scan", SCANS)
@pytest.mark.parametrize("at", [0, 3, -3])  # the entry header (its type), the zlib header, the checksum
def test_bit_flipped_pack_entry(tmp_path, scan, at):
    repo = Repo(tmp_path / "repo")
    entry = bytearray(whole("blob", repo.data(repo.victim)))
    entry[at] ^= 0x10
    repo.rewrite({repo.victim: bytes(entry), repo.other: whole("blob", repo.data(repo.other))})
    report, seconds, rss = SCANS[scan](repo, tmp_path)
    assert_survived(repo, report, seconds, rss, [repo.victim])


@pytest.mark.parametrize("scan", SCANS)
@pytest.mark.parametrize("damage", ["truncated", "bit-flipped", "bomb", "claims-2^40"])
def test_damaged_loose_objects(tmp_path, scan, damage, bomb):
    repo = Repo(tmp_path / "repo")
    data = repo.data(repo.victim)
    stream = zlib.compress(b"blob %d\0" % len(data) + data)
    if damage == "truncated":
        raw = stream[:len(stream) // 2]
    elif damage == "bit-flipped":
        raw = stream[:12] + bytes([stream[12] ^ 0x10]) + stream[13:]
    elif damage == "bomb":  # a header saying 100 bytes over half a gigabyte of zeros
        raw = _prefixed_bomb(b"blob 100\0")
    else:
        raw = _prefixed_bomb(b"blob %d\0" % (1 << 40))
    repo.rewrite({}, loose={repo.victim: raw})
    report, seconds, rss = SCANS[scan](repo, tmp_path)
    assert_survived(repo, report, seconds, rss, [repo.victim])


@functools.lru_cache(maxsize=2)
def _prefixed_bomb(header: bytes) -> bytes:
    squeeze = zlib.compressobj(9)
    zeros = b"\0" * (1 << 20)
    return b"".join([squeeze.compress(header), *(squeeze.compress(zeros) for _ in range(BOMB_BYTES >> 20)),
                     squeeze.flush()])


@pytest.mark.parametrize("reader", ["in-process", "cat-file"])
@pytest.mark.parametrize("mutation", ["self", "pair"])
def test_worker_processes_vet_delta_chains_too(tmp_path, monkeypatch, mutation, reader):
    """A history large enough for worker processes: each worker's git is never handed a looping
    delta (git would spin, growing its stack, until the stall watchdog). Before, only the
    listing's sizing pass vetted chains, and the workers asked git for every blob. Workers read
    in-process where deltas are applied by compiled code, else through a git cat-file each."""
    from scanner.detect import DetectorSpec
    from scanner.sources.git import scan_history as scan_in_process
    from scanner.sources.git_catfile import CatFile
    from scanner.sources.git_objects import NO_FAST_DELTAS_ENV, fast_deltas

    if reader == "cat-file":
        monkeypatch.setenv(NO_FAST_DELTAS_ENV, "1")
    else:
        assert fast_deltas() is not None, "the test extra installs dulwich"
        real_read = CatFile.read

        def no_git_contents(self, oids):  # forked workers inherit this: none may ask git
            if self.vet is not None:
                raise AssertionError("a worker read contents through git cat-file")
            return real_read(self, oids)

        monkeypatch.setattr(CatFile, "read", no_git_contents)

    repo = Repo(tmp_path / "repo")
    a, b = repo.victim, repo.other
    if mutation == "self":
        crafted = {a: ref_delta(a, insert_delta(len(repo.data(a)), repo.data(a)))}
    else:
        crafted = {a: ref_delta(b, insert_delta(len(repo.data(b)), repo.data(a))),
                   b: ref_delta(a, insert_delta(len(repo.data(a)), repo.data(b)))}
    repo.rewrite(crafted)
    monkeypatch.setenv("JTS_GIT_STALL_SECONDS", "600")  # only vetting can end this scan in time
    with time_limit(60):
        result = scan_in_process(repo.root, DetectorSpec(), jobs=2, parallel_min_bytes=0)
    assert any(hit.rule_id == "api_token" for hit, _ in result.hits)
    for oid in crafted:
        assert any(oid in error and "delta chain loops" in error for error in result.errors), result.errors


def _readd_victim(repo: Repo) -> None:
    """Commit victim.txt's removal, then stage (for --staged) the looping blob again under its name."""
    git(repo.root, "rm", "-q", "--cached", "victim.txt")
    git(repo.root, "commit", "-q", "-m", "remove victim")
    git(repo.root, "update-index", "--add", "--cacheinfo", f"100644,{repo.victim},victim.txt")


@pytest.mark.parametrize("mode", ["staged", "range"])
def test_looping_delta_in_a_staged_or_range_scan(tmp_path, mode):
    """Sibling of the history case: --staged and --range sized their blobs with a git question that
    walks delta chains (the type) and read them with an unvetted git, so one crafted blob stopped
    the whole scan with an error and reported nothing else. Now it is named, and the rest is scanned."""
    repo = Repo(tmp_path / "repo")
    a = repo.victim
    repo.rewrite({a: ref_delta(a, insert_delta(len(repo.data(a)), repo.data(a)))})
    _readd_victim(repo)
    token = new_token()
    (repo.root / "ci.env").write_text(f"JENKINS_URL=https://jenkins.example.com/\nJENKINS_USER_ID=bob\n"
                                      f"JENKINS_API_TOKEN={token}\n")
    git(repo.root, "add", "ci.env")
    if mode == "range":
        git(repo.root, "commit", "-q", "-m", "re-add victim")
        args = ["--range", "HEAD~1..HEAD"]
    else:
        args = ["--staged"]
    done, seconds, rss = measured(tmp_path, "scan", *args, str(repo.root), "-f", "json", "--no-progress")
    assert done.returncode in (1, 2), done.stderr
    report = json.loads(done.stdout)
    assert seconds < MAX_SECONDS and rss < MAX_RSS_MIB
    assert any(f["user"] == "bob" for f in report["findings"]), report
    errors = "\n".join(report.get("errors", []))
    assert a in errors and "delta chain loops" in errors, errors
    assert token not in done.stdout + done.stderr


@pytest.mark.parametrize("args", [["scan", "--history"], ["scan", "--range", "HEAD~1..HEAD"]])
def test_tree_whose_delta_loops_stops_git_by_memory(tmp_path, args):
    """No scan vets trees (git walks them itself): a tree delta based on itself made rev-list and
    git log loop, growing ~300 MB/s, for the whole stall limit (60 s: ~18 GB). The watchdog now
    stops a git past its memory limit: a clear error in about a second, never a swap storm."""
    repo = Repo(tmp_path / "repo")
    git(repo.root, "commit", "-q", "--allow-empty", "-m", "second")  # a range to scan (its tree is the same)
    repo.objects = repo._all_objects()
    tree = git(repo.root, "rev-parse", "HEAD^{tree}")
    repo.rewrite({tree: ref_delta(tree, insert_delta(len(repo.data(tree)), repo.data(tree)))})
    env = {**os.environ, "PYTHONPATH": str(ROOT), "JTS_GIT_STALL_SECONDS": "600", "JTS_GIT_MAX_MB": "150"}
    start = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "scanner", *args, str(repo.root), "--no-progress"],
                          capture_output=True, text=True, env=env, timeout=120, start_new_session=True)
    assert time.monotonic() - start < 30
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert "used more than 150 MiB of memory" in done.stderr, done.stderr


def test_resumed_sweep_reads_back_secrets_without_handing_git_a_loop(tmp_path, monkeypatch):
    """A resumed sweep reads known secrets back from their blobs (``recover_secrets``) with a git
    of its own; like every other reader it vets each chain first, so a blob whose delta loops is
    never asked for (the cached copy may have changed since the first run)."""
    from scanner.detect import DetectorSpec
    from scanner.findings import fingerprint_of
    from scanner.sources.git_catfile import CatFile
    from scanner.sweep.targets import RepoTarget
    from scanner.sweep.task import RecoverTask, recover_secrets

    repo = Repo(tmp_path / "repo")
    a = repo.victim
    repo.rewrite({a: ref_delta(a, insert_delta(len(repo.data(a)), repo.data(a)))})
    monkeypatch.setenv("JTS_GIT_MAX_MB", "100")  # should the loop reach git after all: stop it small
    asked: list[str] = []
    write = CatFile._write

    def spy(self, commands: str) -> None:
        asked.append(commands)
        write(self, commands)

    monkeypatch.setattr(CatFile, "_write", spy)
    token_blob = git(repo.root, "rev-parse", "HEAD:deploy.env")
    task = RecoverTask(repo=RepoTarget(key=str(repo.root), kind="path", source=str(repo.root)),
                       spec=DetectorSpec(), cache_dir=str(tmp_path / "cache"),
                       blobs=((a, "victim.txt"), (token_blob, "deploy.env")),
                       wanted=frozenset({fingerprint_of(repo.token)}))
    assert recover_secrets(task) == {fingerprint_of(repo.token): repo.token}
    assert not any(f"contents {a}" in commands for commands in asked), asked
