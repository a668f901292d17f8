"""History-scan benchmark: our ``scan_history`` against plain ``git cat-file`` on the same repository.

    python bench/history.py                      # 1 GiB of unique blob data (built once, cached)
    python bench/history.py --size-mb 200        # a quicker development run
    python bench/history.py --repo PATH          # an existing repository
    python bench/history.py --linearity          # 256 MiB, 512 MiB and 512 MiB with 10x the commits
    python bench/history.py --hex-percent 6       # 6% of text lines are md5/sha1/uuid lines (3:2:1)
    python bench/history.py --repo PATH --peers   # + the jts CLI, betterleaks and kingfisher, when on PATH

Repositories are generated with ``git fast-import`` under bench/.work/ (gitignored): random-letter
text files of 4-64 KiB, many files modified again and again, a few with planted fake tokens
(made at run time). Every scan runs in a child process so its peak memory can be measured alone:
the process tree's summed RSS is sampled from /proc, and getrusage gives self / largest child.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import secrets
import shutil
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "bench" / ".work"
MiB = 2**20
# random bytes -> lowercase letters, spaces (1 in ~6) and newlines (1 in ~32): plausible text
TEXT_TABLE = bytes((b"abcdefghijklmnopqrstuvwxyz" * 2)[i] if i < 52 else (32 if i < 62 else 10)
                   for i in (j % 64 for j in range(256)))
PLANT_EVERY = 997  # one file in ~1000 gets a token


@dataclass
class Built:
    path: str
    blob_bytes: int
    blobs: int
    commits: int
    planted: int


def _git_env() -> dict[str, str]:
    return {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}


def _hex_lines(data: bytes, rng: random.Random, percent: float) -> bytes:
    """Replace ``percent`` % of the lines by hex-dense ones, as real code has: md5 sums, 40-hex
    ids and UUIDs in the ratio 3:2:1 (checksum files, lockfiles, test vectors)."""
    lines = data.split(b"\n")
    for i in range(len(lines)):
        if rng.random() * 100 >= percent:
            continue
        kind = rng.random()
        if kind < 0.5:
            lines[i] = f"{rng.randbytes(16).hex()}  dist/file{i}.tar.gz".encode()
        elif kind < 5 / 6:
            lines[i] = f"    resolved {rng.randbytes(20).hex()}".encode()
        else:
            h = rng.randbytes(16).hex()
            lines[i] = f'id = "{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"'.encode()
    return b"\n".join(lines)


def build_repo(size_mb: int, files_per_commit: int, seed: int = 7, hex_percent: float = 0.0) -> Built:
    """Build (or reuse) a repository holding ``size_mb`` MiB of unique blob data."""
    suffix = f"-hex{hex_percent:g}" if hex_percent else ""
    dest = WORK / f"repo-{size_mb}mb-{files_per_commit}fpc{suffix}"
    meta = dest / "bench-meta.json"
    if meta.exists():
        return Built(**json.loads(meta.read_text()))
    if dest.exists():
        subprocess.run(["rm", "-rf", str(dest)], check=True)
    dest.mkdir(parents=True)
    env = _git_env()
    subprocess.run(["git", "-c", "init.defaultBranch=main", "init", "-q", "--bare", str(dest)], check=True, env=env)
    rng = random.Random(seed)
    started = time.perf_counter()
    imp = subprocess.Popen(["git", "fast-import", "--quiet"], cwd=dest, stdin=subprocess.PIPE, env=env)
    out = imp.stdin
    assert out is not None
    target, written, blobs, commits, planted = size_mb * MiB, 0, 0, 0, []
    paths: list[str] = []
    when = 1_600_000_000
    while written < target:
        commits += 1
        when += 600
        msg = f"commit {commits}\n".encode()
        out.write(f"commit refs/heads/main\nmark :{commits}\n"
                  f"author Dev{commits % 7} <dev{commits % 7}@example.com> {when} +0000\n"
                  f"committer CI <ci@example.com> {when} +0000\ndata {len(msg)}\n".encode() + msg)
        for _ in range(files_per_commit):
            if paths and rng.random() < 0.6:  # most changes edit an existing file
                path = rng.choice(paths)
            else:
                path = f"src/m{rng.randrange(100):02d}/file{len(paths):06d}.txt"
                paths.append(path)
            data = rng.randbytes(rng.randint(4 * 1024, 64 * 1024)).translate(TEXT_TABLE)
            if hex_percent:
                data = _hex_lines(data, rng, hex_percent)
            blobs += 1
            if blobs % PLANT_EVERY == 0:
                tok = "11" + secrets.token_hex(16)
                planted.append(tok)
                cut = data.find(b"\n", len(data) // 2) + 1
                line = f"curl -u user{blobs}:{tok} https://jenkins.example.org/job/nightly/build\n".encode()
                data = data[:cut] + line + data[cut:]
            out.write(f"M 100644 inline {path}\ndata {len(data)}\n".encode() + data + b"\n")
            written += len(data)
        if commits % 500 == 0:
            out.write(f"reset refs/tags/v{commits // 500}\nfrom :{commits}\n\n".encode())
    out.close()
    if imp.wait() != 0:
        raise SystemExit("git fast-import failed")
    (dest / "bench-planted.json").write_text(json.dumps(planted))
    built = Built(path=str(dest), blob_bytes=written, blobs=blobs, commits=commits, planted=len(planted))
    meta.write_text(json.dumps(asdict(built)))
    print(f"  built {dest.name}: {written / MiB:.0f} MiB in {blobs} blobs, {commits} commits "
          f"({time.perf_counter() - started:.1f} s)", flush=True)
    return built


def catfile_seconds(repo: str) -> tuple[float, float]:
    """(wall, CPU) seconds of ``git cat-file --batch-all-objects --batch --unordered > /dev/null``:
    the floor issue 10 names (pack order; sorted by object id it takes ~4x longer on git/git)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(["git", "cat-file", "--batch-all-objects", "--batch", "--unordered"], cwd=repo, check=True,
                   stdout=subprocess.DEVNULL, env=_git_env())
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


SAMPLE_SECONDS = 0.2  # the memory sampler's period: reading smaps walks page tables, and every
# 50 ms it took ~2.5 CPU-s of a 17 s jenkins scan, time the scan then lacked (its CPU/wall fell)


def _children(pid: int) -> list[int] | None:
    """``pid``'s children from /proc/<pid>/task/*/children (any thread may have started one); None
    where the kernel does not offer those files."""
    kids: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return []
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/children", "rb") as f:
                kids.extend(int(x) for x in f.read().split())
        except FileNotFoundError:
            return None
        except OSError:
            continue
    return kids


def _children_by_scan() -> dict[int, list[int]]:
    """Every process's children, from each /proc/<pid>/stat (where the children files are missing)."""
    kids: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", "rb") as f:
                    stat = f.read()
                kids.setdefault(int(stat[stat.rindex(b")") + 2:].split()[1]), []).append(int(entry))
            except (OSError, ValueError):
                continue
    return kids


def _tree(root: int) -> set[int]:
    scanned: dict[int, list[int]] | None = None
    tree, frontier = {root}, [root]
    while frontier:
        pid = frontier.pop()
        kids = _children(pid) if scanned is None else scanned.get(pid, [])
        if kids is None:
            scanned = _children_by_scan()
            kids = scanned.get(pid, [])
        kids = [k for k in kids if k not in tree]
        tree.update(kids)
        frontier.extend(kids)
    return tree


def _tree_rss(root: int) -> int:
    """Summed PSS (bytes) of ``root`` and all its descendants, from /proc.

    PSS, not RSS: forked workers share their parent's pages and every git maps the same pack
    files, so summed RSS would count one page once per process that touched it."""
    total = 0
    for pid in _tree(root):
        try:
            with open(f"/proc/{pid}/smaps_rollup") as f:
                total += next(int(line.split()[1]) * 1024 for line in f if line.startswith("Pss:"))
        except (OSError, ValueError, StopIteration):
            continue
    return total


def measure_scan(repo: str, jobs: int, detector: str) -> dict:
    """Run one scan in a child process; return its own report plus the sampled tree peak PSS."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--measure-child", repo, "--jobs", str(jobs),
           "--detector", detector]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, cwd=ROOT)
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _tree_rss(proc.pid))
            done.wait(SAMPLE_SECONDS)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, _ = proc.communicate()
    done.set()
    sampler.join()
    if proc.returncode != 0:
        raise SystemExit(f"scan child failed with exit code {proc.returncode}")
    report = json.loads(out.decode().strip().splitlines()[-1])
    report["tree_peak_rss_mb"] = peak / MiB
    return report


def measure_command(cmd: list[str], cwd: str | None = None) -> dict:
    """Wall, CPU (all processes) and sampled tree peak PSS of one command: our CLI or a peer's."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    peak = 0
    while proc.poll() is None:
        peak = max(peak, _tree_rss(proc.pid))
        time.sleep(SAMPLE_SECONDS)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"seconds": wall, "cpu": cpu, "tree_peak_rss_mb": peak / MiB, "code": proc.returncode}


def peer_commands(repo: str, jobs: int) -> dict[str, list[str]]:
    """The scanners to compare, as a new user runs them on a full history (peers only when installed)."""
    commands = {f"jts scan --history -j {jobs}": [sys.executable, "-m", "scanner", "scan", "--history", repo,
                                                 "-j", str(jobs), "--no-progress", "-f", "json", "-o", os.devnull]}
    if shutil.which("betterleaks"):
        commands["betterleaks git"] = ["betterleaks", "git", repo, "--no-banner", "--redact", "-o",
                                       str(WORK / "betterleaks.json")]
    if shutil.which("kingfisher"):
        commands["kingfisher scan --no-validate"] = ["kingfisher", "scan", repo, "--no-validate", "-o",
                                                     str(WORK / "kingfisher.txt")]
    return commands


def bench_peers(repo: str, jobs: int, base: float, repeat: int) -> None:
    """Our CLI beside the peers, each a ratio to the raw read measured in this run.

    Rounds are interleaved (jts, then each peer, then jts again...), so a machine that slows down
    for a minute weighs on both sides of a ratio; the ratio is printed per round, as the best
    against the best and as the median of the rounds. Memory is the highest peak of any round.
    """
    WORK.mkdir(parents=True, exist_ok=True)
    commands = peer_commands(repo, jobs)
    runs: dict[str, list[dict]] = {name: [] for name in commands}
    for _ in range(repeat):
        for name, cmd in commands.items():
            runs[name].append(measure_command(cmd, cwd=str(ROOT)))
    print(f"  -- whole commands (best of {repeat}, interleaved), ratios to the raw read ({base:.2f} s):")
    for name, measured in runs.items():
        r = min(measured, key=lambda x: x["seconds"])
        peak = max(x["tree_peak_rss_mb"] for x in measured)
        print(f"  {name:34s} {r['seconds']:7.2f} s wall ({r['seconds'] / base:5.2f}x raw), {r['cpu']:7.2f} s CPU "
              f"(CPU/wall {r['cpu'] / r['seconds']:.2f}), tree peak PSS {peak:.0f} MiB = {peak * MiB / 1e6:.0f} MB, "
              f"exit {r['code']}")
    ours = next(v for k, v in runs.items() if k.startswith("jts"))
    for name, measured in runs.items():
        if name.startswith("jts"):
            continue
        rounds = [a["seconds"] / b["seconds"] for a, b in zip(ours, measured)]
        best = min(x["seconds"] for x in ours) / min(x["seconds"] for x in measured)
        print(f"  jts / {name}: {best:.2f}x wall best against best; median of rounds "
              f"{statistics.median(rounds):.2f}x (rounds: {', '.join(f'{x:.2f}' for x in rounds)})")


class NullSpec:
    """A detector that finds nothing: measures the pipeline without detection cost."""

    def build(self) -> NullSpec:
        return self

    def scan_blob(self, path: str, data: bytes) -> list:
        return []


def child_main(repo: str, jobs: int, detector: str) -> None:
    sys.path.insert(0, str(ROOT))
    from scanner.sources.git import scan_history

    if detector == "real":
        from scanner.detect import DetectorSpec
        spec = DetectorSpec()
    else:
        spec = NullSpec()
    started = time.perf_counter()
    result = scan_history(Path(repo), spec, jobs=jobs)  # type: ignore[arg-type]
    seconds = time.perf_counter() - started
    planted_file = Path(repo, "bench-planted.json")
    missed = None
    if planted_file.exists() and detector == "real":
        found = {hit.secret for hit, _ in result.hits}
        missed = len(set(json.loads(planted_file.read_text())) - found)
    kib = 1024
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    print(json.dumps({
        "cpu": me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime,
        "seconds": seconds, "blobs": result.blobs, "bytes": result.bytes, "hits": len(result.hits),
        "missed_planted": missed, "warnings": len(result.warnings),
        "self_maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * kib / MiB,
        "children_maxrss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * kib / MiB,
    }))


def bench_one(repo: str, blob_bytes: int | None, jobs_list: list[int], detector: str, label: str,
              repeat: int = 1, peers: bool = False) -> dict:
    """Time cat-file and our scan on one repository; the machine may be shared, so CPU is shown too
    and each figure is the best of ``repeat`` runs."""
    catfile_seconds(repo)  # warm the page cache so both sides read from memory
    print(f"\n== {label}: {repo}")
    rows = {}
    bases = []
    for jobs in jobs_list:
        base, base_cpu = min(catfile_seconds(repo) for _ in range(max(2, repeat)))  # beside each scan
        bases.append((base, base_cpu))
        r = min((measure_scan(repo, jobs, detector) for _ in range(repeat)), key=lambda x: x["seconds"])
        size = blob_bytes or r["bytes"]
        rows[jobs] = r
        missed = "" if r["missed_planted"] is None else f", planted tokens missed {r['missed_planted']}"
        print(f"  git cat-file --batch-all-objects --batch --unordered > /dev/null: {base:6.2f} s wall, {base_cpu:6.2f} s CPU")
        print(f"  scan_history jobs={jobs}: {r['seconds']:6.2f} s wall (ratio {r['seconds'] / base:4.2f}x), "
              f"{r['cpu']:6.2f} s CPU in all processes, {size / MiB / r['seconds']:4.0f} MiB/s; "
              f"{r['blobs']} blobs {r['bytes'] / MiB:.0f} MiB, {r['hits']} hits{missed}")
        print(f"      peak PSS: process tree {r['tree_peak_rss_mb']:.0f} MiB (sampled), "
              f"self {r['self_maxrss_mb']:.0f} MiB, largest child {r['children_maxrss_mb']:.0f} MiB")
    if peers:
        bench_peers(repo, jobs_list[-1], min(bases)[0], repeat)
    return {"catfile": min(bases)[0], "scans": rows}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repo", help="benchmark this repository instead of a generated one")
    ap.add_argument("--size-mb", type=int, default=1024, help="unique blob data to generate (MiB)")
    ap.add_argument("--files-per-commit", type=int, default=10)
    ap.add_argument("--jobs", default="1,2", help="comma-separated worker counts to time")
    ap.add_argument("--detector", choices=["real", "null"], default="real")
    ap.add_argument("--linearity", action="store_true", help="256 + 512 MiB, and 512 MiB with 10x commits")
    ap.add_argument("--repeat", type=int, default=1, help="best of N runs per figure (noisy machines)")
    ap.add_argument("--hex-percent", type=float, default=0.0,
                    help="generated text: this %% of lines are hex-dense (md5 sums, 40-hex ids, UUIDs)")
    ap.add_argument("--peers", action="store_true",
                    help="also time the jts CLI, betterleaks and kingfisher (when on PATH) on the repository")
    ap.add_argument("--measure-child", metavar="REPO", help=argparse.SUPPRESS)
    args = ap.parse_args()
    jobs_list = [int(j) for j in args.jobs.split(",")]
    if args.measure_child:
        child_main(args.measure_child, jobs_list[0], args.detector)
        return
    version = subprocess.run(["git", "--version"], check=False, capture_output=True, text=True).stdout.split()[-1]
    print(f"machine: {os.cpu_count()} CPUs, git {version}")
    if args.repo:
        bench_one(args.repo, None, jobs_list, args.detector, "given repository", args.repeat, args.peers)
        return
    if not args.linearity:
        built = build_repo(args.size_mb, args.files_per_commit, hex_percent=args.hex_percent)
        hex_note = f", {args.hex_percent:g}% hex-dense lines" if args.hex_percent else ""
        bench_one(built.path, built.blob_bytes, jobs_list, args.detector,
                  f"{built.blob_bytes / MiB:.0f} MiB, {built.blobs} blobs, {built.commits} commits{hex_note}",
                  args.repeat, args.peers)
        return
    fpc = args.files_per_commit
    shapes = [(256, fpc), (512, fpc), (512, max(1, fpc // 10))]
    results = []
    for size, per_commit in shapes:
        built = build_repo(size, per_commit)
        res = bench_one(built.path, built.blob_bytes, jobs_list, args.detector,
                        f"{built.blob_bytes / MiB:.0f} MiB, {built.blobs} blobs, {built.commits} commits", args.repeat)
        results.append((built, res))
    print(f"\n== linearity (jobs={jobs_list[-1]}): seconds per GiB of blob data")
    for built, res in results:
        scan = res["scans"][jobs_list[-1]]
        gib = built.blob_bytes / 2**30
        print(f"  {built.blob_bytes / MiB:5.0f} MiB, {built.commits:6d} commits: {scan['seconds']:6.2f} s wall = "
              f"{scan['seconds'] / gib:5.2f} s/GiB, {scan['cpu'] / gib:5.2f} CPU s/GiB "
              f"(cat-file {res['catfile'] / gib:.2f} s/GiB)")

if __name__ == "__main__":
    main()
