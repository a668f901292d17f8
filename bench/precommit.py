"""Pre-commit latency: our hook (`jts scan --staged`) beside `detect-secrets-hook` on one staged commit.

Builds a throw-away repository (BASE committed files, then a commit touching FILES of them: half
modified, half new, all clean so both hooks pass, as most commits do), then times each hook as
pre-commit runs it: ours with no file names (it reads the index), detect-secrets-hook with the
staged file names. Runs alternate so drift hits both alike; the median of RUNS is reported.

With --repo PATH the commit is staged on a throw-away copy of that repository's HEAD instead
(objects shared with PATH, which is only read): half the files are existing source files with a
few lines appended, half are new; files either hook flags as they stand are not picked.

    .venv/bin/python bench/precommit.py [--files 20] [--base 200] [--runs 9] [--json]
    .venv/bin/python bench/precommit.py --repo PATH [--files 20] [--runs 9] [--json]
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


CODE_SUFFIXES = (".java", ".js", ".groovy", ".jelly", ".properties", ".xml", ".py", ".c", ".go", ".rb", ".sh")
MAX_PICK_BYTES = 200_000  # a typical edited source file, not a generated or vendored one


def appended_lines(rng: random.Random, suffix: str, serial: int) -> str:
    """A few lines of plausible code in the file's comment style; no credential-shaped text."""
    words = [rng.choice(WORDS) for _ in range(6)]
    if suffix == ".properties":
        return "".join(f"{w}.{serial}.{i}={' '.join(words[i:])}\n" for i, w in enumerate(words[:4]))
    if suffix in (".jelly", ".xml"):
        return f"<!-- {' '.join(words)} -->\n<!-- {words[0]}_{serial} {rng.randint(0, 9999)} -->\n"
    comment = "#" if suffix in (".py", ".rb", ".sh") else "//"
    return (f"{comment} {' '.join(words)}\n"
            f"{comment} {words[0]}_{serial} = {words[1]}({rng.randint(0, 9999)}, \"{words[2]}\")\n"
            f"{comment} commit: {rng.getrandbits(160):040x}\n")


def new_java_file(rng: random.Random, serial: int) -> str:
    """A small Java class, the usual new file of a Jenkins core commit."""
    body = []
    for i in range(rng.randint(15, 60)):
        a, b = rng.choice(WORDS), rng.choice(WORDS)
        body.append(f"    static final String {a.upper()}_{i} = \"{b}-{rng.randint(0, 9999)}\";")
    return ("package bench.added;\n\n"
            f"/** {' '.join(rng.choice(WORDS) for _ in range(10))} */\n"
            f"public final class Added{serial} {{\n" + "\n".join(body) + "\n}\n")


def flagged(repo: Path, names: list[str], jts: Path, ds_hook: Path, env: dict[str, str]) -> set[str]:
    """Which of NAMES either hook flags as they stand (so the benchmark commit can stay clean)."""
    hits: set[str] = set()
    wanted = set(names)
    for start in range(0, len(names), 200):  # bounded argv
        chunk = names[start:start + 200]
        out = subprocess.run([str(ds_hook), *chunk], check=False, cwd=repo, env=env, capture_output=True,
                             text=True).stdout
        hits.update(n for n in wanted if f"Location:    {n}:" in out)
        proc = subprocess.run([str(jts), "scan", "--no-progress", "-f", "json", *chunk], check=False,
                              cwd=repo, env=env, capture_output=True, text=True)
        try:
            report = json.loads(proc.stdout or "{}")
        except json.JSONDecodeError:
            report = {}
        for finding in report.get("findings", []):
            for place in (finding.get("locations") or [finding]):
                path = str(place.get("path") or place.get("file") or "")
                hits.update(n for n in wanted if path.endswith(n))
    return hits


def stage_on_copy(source: Path, root: Path, touched: int, seed: int, jts: Path, ds_hook: Path,
                  env: dict[str, str]) -> tuple[list[str], int]:
    """Copy SOURCE's HEAD (shared objects, SOURCE untouched) and stage a clean commit; returns (names, files)."""
    subprocess.run(["git", "clone", "-q", "--shared", "--no-checkout", str(source), str(root)], env=env, check=True)
    git(root, "checkout", "-q", "--detach", "HEAD", env=env)
    listing = subprocess.run(["git", "ls-files", "-z"], cwd=root, env=env, check=True, capture_output=True).stdout
    tracked = [n for n in listing.decode("utf-8", "surrogateescape").split("\0") if n]
    rng = random.Random(seed)
    pool = [n for n in tracked if n.endswith(CODE_SUFFIXES) and (root / n).is_file()  # no symlink: it may lead out
            and not (root / n).is_symlink() and (root / n).stat().st_size <= MAX_PICK_BYTES]
    want = touched // 2
    by_suffix: dict[str, list[str]] = {}
    for name in pool:
        by_suffix.setdefault(Path(name).suffix, []).append(name)
    common = {k: v for k, v in by_suffix.items() if len(v) * 100 >= len(pool)}
    by_suffix = common or by_suffix  # the repository's main file kinds, not its odd scripts
    picks: list[str] = []  # a suffix first, then a file: a mix of code, not mostly translation files
    while by_suffix and len(picks) < want * 3:  # spares for files a hook already flags
        suffix = rng.choice(sorted(by_suffix))
        picks.append(by_suffix[suffix].pop(rng.randrange(len(by_suffix[suffix]))))
        if not by_suffix[suffix]:
            del by_suffix[suffix]
    bad = flagged(root, picks, jts, ds_hook, env)
    modified = [n for n in picks if n not in bad][:want]
    if len(modified) < want:
        raise SystemExit(f"bench: only {len(modified)} clean source files to modify in {source}")
    for serial, name in enumerate(modified):
        ends_clean = (root / name).read_bytes().endswith(b"\n")  # else the first added line joins the last
        with open(root / name, "a", encoding="utf-8", newline="\n") as handle:
            handle.write(("" if ends_clean else "\n") + appended_lines(rng, Path(name).suffix, serial))
    java = [n for n in modified if n.endswith(".java")]
    anchor = Path((java or modified)[0]).parent if modified else Path("src")
    added = [str(anchor / f"Added{i}.java") for i in range(touched - want)]
    for serial, name in enumerate(added):
        (root / name).write_text(new_java_file(rng, serial), encoding="utf-8")
    staged = modified + added
    git(root, "add", "--", *staged, env=env)
    return staged, len(tracked) + len(added)


def time_runs(commands: dict[str, list[str]], cwd: Path, runs: int, env: dict[str, str]) -> list[Timing]:
    samples: dict[str, list[float]] = {name: [] for name in commands}
    codes: dict[str, list[int]] = {name: [] for name in commands}
    for name, argv in commands.items():  # warm-up: page cache, .pyc files
        subprocess.run(argv, check=False, cwd=cwd, env=env, capture_output=True)
    for _ in range(runs):
        for name, argv in commands.items():
            start = time.perf_counter()
            proc = subprocess.run(argv, check=False, cwd=cwd, env=env, capture_output=True)
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
    parser.add_argument("--repo", type=Path, help="stage the commit on a copy of this repository's HEAD")
    args = parser.parse_args()
    if os.environ.get("PYTHONDONTWRITEBYTECODE"):  # jts would compile its sources on every run
        print("bench: PYTHONDONTWRITEBYTECODE is set, so jts start-up includes compiling its sources;"
              " unset it for figures an installed jts would give", file=sys.stderr)
    jts, ds_hook = BIN / "jts", BIN / "detect-secrets-hook"
    for exe in (jts, ds_hook):
        if not exe.exists():
            print(f"bench: {exe} not found (run from the project venv)", file=sys.stderr)
            return 2
    workdir = Path(tempfile.mkdtemp(prefix="jts-bench-"))
    try:
        env = {**os.environ, **GIT_ENV, "HOME": str(workdir)}
        repo = workdir / "repo"
        if args.repo is not None:
            staged, total = stage_on_copy(args.repo.resolve(), repo, args.files, args.seed, jts, ds_hook, env)
        else:
            staged = build_repo(repo, args.base, args.files, args.seed, env)
            total = args.base + args.files - args.files // 2
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
        print(json.dumps({"files": args.files, "base": None if args.repo else args.base, "repository_files": total,
                          "repo": str(args.repo) if args.repo else None, "timings": [asdict(t) for t in timings],
                          "ratio": round(ratio, 3)}, indent=2))
    else:
        where = f"copy of {args.repo}, " if args.repo else ""
        print(f"pre-commit check of a commit touching {args.files} files ({where}repository of {total:,} files),"
              f" median of {args.runs} runs:")
        for t in timings:
            print(f"  {t.name:<22} {t.median_s * 1000:7.0f} ms  (min {t.min_s * 1000:.0f}, max {t.max_s * 1000:.0f};"
                  f" exit {','.join(map(str, t.exit_codes))})")
        print(f"  ours / detect-secrets-hook = {ratio:.2f}")
        if any(code != 0 for t in timings for code in t.exit_codes):
            print("  warning: a hook did not exit 0, so the commit was not the clean one intended", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
