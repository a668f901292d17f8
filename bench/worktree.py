"""Working-tree scan speed: `jts scan DIR` vs `git grep -E '[0-9a-f]{32}'` on the same tree.

Target (issue 2): a scan of 10,000 files stays under 2x git grep. Both are timed in the same
run, several times, and the medians compared, since these machines are noisy. By default the tree
is generated; --repo times an existing checkout instead (issue 10: the target on a real tree).
Both commands only read the tree.

    python bench/worktree.py [--files 10000] [--repeat 5]
    python bench/worktree.py --repo PATH [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORDS = ("deploy build jenkins pipeline stage steps sh echo docker image tag push release version "
         "config server user token url timeout retry artifact archive test junit report").split()


def make_tree(path: Path, files: int, seed: int = 7) -> int:
    """A git work tree of small source-like files; one in 500 holds a token. Returns bytes."""
    rng = random.Random(seed)
    if path.exists():
        shutil.rmtree(path)
    total = 0
    for i in range(files):
        directory = path / f"pkg{i % 50:02d}" / f"mod{i % 7}"
        directory.mkdir(parents=True, exist_ok=True)
        lines = []
        for _ in range(rng.randint(20, 120)):
            lines.append(" ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 12))))
        if i % 500 == 0:
            lines.append(f"JENKINS_API_TOKEN=11{secrets.token_hex(16)}")
        if i % 97 == 0:
            lines.append(f"checksum: {secrets.token_hex(20)}")
        text = "\n".join(lines) + "\n"
        (directory / f"file{i}.txt").write_text(text)
        total += len(text)
    env = {**os.environ, "GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@x", "GIT_COMMITTER_NAME": "b",
           "GIT_COMMITTER_EMAIL": "b@x"}
    subprocess.run(["git", "init", "-q"], cwd=path, check=True)
    subprocess.run(["git", "add", "-A"], cwd=path, check=True)
    subprocess.run(["git", "-c", "commit.gpgsign=false", "commit", "-qm", "tree"], cwd=path, check=True, env=env)
    return total


def tree_size(path: Path) -> tuple[int, int]:
    """Tracked files and their bytes in an existing checkout (what git grep searches)."""
    out = subprocess.run(["git", "ls-files", "-z"], cwd=path, check=True, capture_output=True).stdout
    names = [n for n in out.decode("utf-8", "surrogateescape").split("\0") if n]
    total = 0
    for name in names:
        try:
            total += (path / name).lstat().st_size
        except OSError:  # listed but absent (sparse or deleted): git grep skips it too
            pass
    return len(names), total


def jts_command(target: str) -> list[str]:
    """`jts scan TARGET` as a user runs it: the installed entry point, else the module."""
    exe = Path(sys.executable).parent / "jts"
    prefix = [str(exe)] if exe.exists() else [sys.executable, "-m", "scanner"]
    return [*prefix, "scan", target, "--no-progress", "-f", "json", "-o", os.devnull]


def timed(cmd: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=False, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--work", type=Path, default=ROOT / "bench" / ".work" / "worktree")
    parser.add_argument("--repo", type=Path, help="time this existing checkout instead of a generated tree")
    args = parser.parse_args()
    if os.environ.get("PYTHONDONTWRITEBYTECODE"):  # jts would compile its sources on every run
        print("bench: PYTHONDONTWRITEBYTECODE is set, so jts start-up includes compiling its sources;"
              " unset it for figures an installed jts would give", file=sys.stderr)
    if args.repo is not None:
        tree = args.repo.resolve()
        if not (tree / ".git").exists():
            sys.exit(f"bench: {tree} is not the top of a git checkout")
        count, size = tree_size(tree)
        jts = jts_command(str(tree))
        env_note = f"{tree}, {count:,} tracked files, {size / 2**20:.1f} MiB"
    else:
        tree = args.work / f"tree-{args.files}"
        size = make_tree(tree, args.files)
        jts = jts_command(".")
        env_note = f"{args.files} files, {size / 2**20:.1f} MiB"
    grep = ["git", "grep", "-c", "-E", "[0-9a-f]{32}"]
    for cmd in (grep, jts):  # warm-up: page cache and .pyc files, so run 1 is not an outlier
        timed(cmd, tree)
    ours, theirs = [], []
    for _ in range(args.repeat):  # interleaved, so drift in machine load hits both alike
        theirs.append(timed(grep, tree))
        ours.append(timed(jts, tree))
    ours_med, grep_med = statistics.median(ours), statistics.median(theirs)
    print(f"tree: {env_note}; median of {args.repeat} interleaved runs")
    print(f"git grep -E '[0-9a-f]{{32}}': median {grep_med:.3f}s  (runs: {', '.join(f'{t:.3f}' for t in theirs)})")
    print(f"jts scan (whole CLI):        median {ours_med:.3f}s  (runs: {', '.join(f'{t:.3f}' for t in ours)})")
    print(f"ratio jts / git grep: {ours_med / grep_med:.2f}  (target <= 2.0)")


if __name__ == "__main__":
    main()
