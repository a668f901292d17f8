"""Shared test helpers: run the CLI as a user would, build git repos, make fake tokens."""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Test Author", "GIT_AUTHOR_EMAIL": "author@example.com",
    "GIT_COMMITTER_NAME": "Test Author", "GIT_COMMITTER_EMAIL": "author@example.com",
    "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull,
}


def new_token() -> str:
    return "11" + secrets.token_hex(16)


# Hand-typed documentation values (runs, pairs, interleaved, counting, all zero) that the detector
# must take for placeholders; built at run time so no token-shaped literal sits in the source.
DOC_RUNS = "11" + "".join(c * 4 for c in "abcdef") + "0000" + "1111"
DOC_PAIRS = "11" + "".join(c * 2 for c in "0123456789abcdef")
DOC_INTERLEAVED = "11" + "".join("abcdef"[i % 6] + "1234567890"[i % 10] for i in range(16))
DOC_COUNTING = "11" + "0123456789abcdef" * 2
DOC_COUNTING_FROM_1 = "11" + "1234567890abcdef" * 2
DOC_ZERO = "11" + "0" * 34


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def jts(*args: str, cwd: Path | None = None, stdin: str | None = None, env: dict | None = None,
        timeout: float = 120) -> Run:
    """Run ``python -m scanner`` in a subprocess, exactly like the installed ``jts``."""
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    done = subprocess.run([sys.executable, "-m", "scanner", *args], cwd=cwd, input=stdin, text=True,
                          capture_output=True, env=full_env, timeout=timeout)
    return Run(done.returncode, done.stdout, done.stderr)


def findings_by_secret(tree: Path) -> dict[str, dict]:
    """``jts scan .`` of ``tree`` with full secrets: each JSON finding by its secret."""
    run = jts("scan", ".", "-f", "json", "--show-secrets", "--no-progress", cwd=tree)
    assert run.code in (0, 1), run.output
    return {f["secret"]: f for f in json.loads(run.stdout)["findings"]}


def write_files(tree: Path, files: dict[str, str]) -> None:
    """Write ``{relative path: text}`` under ``tree``, making directories as needed."""
    for name, text in files.items():
        path = tree / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def git(repo: Path, *args: str, date: str | None = None) -> str:
    env = {**os.environ, **GIT_ENV}
    if date:
        env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = date
    done = subprocess.run(["git", "-c", "init.defaultBranch=main", "-c", "commit.gpgsign=false", *args],
                          cwd=repo, env=env, check=True, capture_output=True, text=True)
    return done.stdout.strip()


def init_repo(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "-q")
    return path


def commit(repo: Path, files: dict[str, str | None], message: str = "change", date: str | None = None) -> str:
    for name, content in files.items():
        target = repo / name
        if content is None:
            target.unlink()
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message, date=date)
    return git(repo, "rev-parse", "HEAD")


class TimeLimit(Exception):
    """A ``time_limit`` block ran past its seconds."""


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise TimeLimit inside the block once it has run ``seconds`` (SIGALRM: main thread only), so
    a runaway test fails instead of hanging the suite."""
    def expired(*_args: object) -> None:
        raise TimeLimit(f"still running after {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
