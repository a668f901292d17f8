"""Pre-commit latency: our hook (`jts scan --staged`) beside `detect-secrets-hook` on one staged commit.

Builds a throw-away repository (BASE committed files, then a commit touching FILES of them: half
modified, half new, all clean so both hooks pass, as most commits do), then times each hook as
pre-commit runs it: ours with no file names (it reads the index), detect-secrets-hook with the
staged file names. Runs alternate so drift hits both alike; the median of RUNS is reported.

    .venv/bin/python bench/precommit.py [--files 20] [--base 200] [--runs 9] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

BIN = Path(sys.executable).parent
GIT_ENV = {
    "GIT_AUTHOR_NAME": "Bench", "GIT_AUTHOR_EMAIL": "bench@example.com",
    "GIT_COMMITTER_NAME": "Bench", "GIT_COMMITTER_EMAIL": "bench@example.com",
    "GIT_CONFIG_NOSYSTEM": "1", "HOME": "",  # set per run: no user config leaks in
}
WORDS = ("build", "deploy", "stage", "pipeline", "agent", "node", "job", "artifact", "branch", "version",
         "config", "timeout", "retry", "cache", "docker", "image", "tag", "release", "test", "report")


@dataclass
class Timing:
    name: str
    command: str
    median_s: float
    min_s: float
    max_s: float
    runs: int
    exit_codes: list[int]


def git(repo: Path, *args: str, env: dict[str, str]) -> None:
    subprocess.run(["git", "-c", "commit.gpgsign=false", *args], cwd=repo, env=env, check=True,
                   capture_output=True)


def source_file(rng: random.Random, lines: int) -> str:
    """Plausible code/config text with hex ids (commit shas, digests) but no credentials."""
    out = []
    for i in range(lines):
        kind = rng.random()
        if kind < 0.1:
            out.append(f"# {' '.join(rng.choice(WORDS) for _ in range(8))}")
        elif kind < 0.15:
            out.append(f"image_digest = \"sha256:{rng.getrandbits(256):064x}\"")
        elif kind < 0.2:
            out.append(f"commit: {rng.getrandbits(160):040x}")
        else:
            out.append(f"{rng.choice(WORDS)}_{i} = {rng.choice(WORDS)}({rng.randint(0, 9999)}, '{rng.choice(WORDS)}')")
    return "\n".join(out) + "\n"


def build_repo(root: Path, base: int, touched: int, seed: int, env: dict[str, str]) -> list[str]:
    rng = random.Random(seed)
    subprocess.run(["git", "-c", "init.defaultBranch=main", "init", "-q", str(root)], env=env, check=True)
    names = [f"src/mod{i // 20}/file_{i}.py" for i in range(base)]
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source_file(rng, rng.randint(40, 200)), encoding="utf-8")
    git(root, "add", "-A", env=env)
    git(root, "commit", "-qm", "base", env=env)
    staged = rng.sample(names, touched // 2) + [f"src/new/added_{i}.py" for i in range(touched - touched // 2)]
    for name in staged:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source_file(rng, rng.randint(40, 200)), encoding="utf-8")
    git(root, "add", "--", *staged, env=env)
    return staged


def time_runs(commands: dict[str, list[str]], cwd: Path, runs: int, env: dict[str, str]) -> list[Timing]:
    samples: dict[str, list[float]] = {name: [] for name in commands}
    codes: dict[str, list[int]] = {name: [] for name in commands}
    for name, argv in commands.items():  # warm-up: page cache, .pyc files
        subprocess.run(argv, cwd=cwd, env=env, capture_output=True)
    for _ in range(runs):
        for name, argv in commands.items():
            start = time.perf_counter()
            proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True)
            samples[name].append(time.perf_counter() - start)
            codes[name].append(proc.returncode)
    return [
        Timing(name=name, command=" ".join(Path(a).name if i == 0 else a for i, a in enumerate(argv[:3])) + " ...",
               median_s=round(statistics.median(samples[name]), 4), min_s=round(min(samples[name]), 4),
               max_s=round(max(samples[name]), 4), runs=runs, exit_codes=sorted(set(codes[name])))
        for name, argv in commands.items()
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=20, help="files the commit touches (default 20)")
    parser.add_argument("--base", type=int, default=200, help="files already committed (default 200)")
    parser.add_argument("--runs", type=int, default=9, help="timed runs per hook (default 9)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args()
    jts, ds_hook = BIN / "jts", BIN / "detect-secrets-hook"
    for exe in (jts, ds_hook):
        if not exe.exists():
            print(f"bench: {exe} not found (run from the project venv)", file=sys.stderr)
            return 2
    workdir = Path(tempfile.mkdtemp(prefix="jts-bench-"))
    try:
        env = {**os.environ, **GIT_ENV, "HOME": str(workdir)}
        repo = workdir / "repo"
        staged = build_repo(repo, args.base, args.files, args.seed, env)
        commands = {
            "jts (ours)": [str(jts), "scan", "--staged"],
            "detect-secrets-hook": [str(ds_hook), *staged],
        }
        timings = time_runs(commands, repo, args.runs, env)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    ours, theirs = timings
    ratio = ours.median_s / theirs.median_s if theirs.median_s else float("inf")
    if args.json:
        print(json.dumps({"files": args.files, "base": args.base, "timings": [asdict(t) for t in timings],
                          "ratio": round(ratio, 3)}, indent=2))
    else:
        total = args.base + args.files - args.files // 2
        print(f"pre-commit check of a commit touching {args.files} files (repository of {total} files),"
              f" median of {args.runs} runs:")
        for t in timings:
            print(f"  {t.name:<22} {t.median_s * 1000:7.0f} ms  (min {t.min_s * 1000:.0f}, max {t.max_s * 1000:.0f};"
                  f" exit {','.join(map(str, t.exit_codes))})")
        print(f"  ours / detect-secrets-hook = {ratio:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
