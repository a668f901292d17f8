"""Running the git CLI: one place that turns git's failures into one-line ``GitSourceError``s."""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from scanner.errors import JtsError

# Config that would change machine-readable output (signatures in log, colours, quoting), and
# bounds on git's memory: by default it maps whole packs (RSS grows to the pack size) and caches
# 96 MiB of delta bases; 16 MiB windows cost a few extra mmap calls and keep each git small.
SAFE_CONFIG = (
    "-c", "log.showSignature=false",
    "-c", "color.ui=false",
    "-c", "core.quotePath=false",
    "-c", "core.packedGitWindowSize=16m",
    "-c", "core.packedGitLimit=64m",
    "-c", "core.deltaBaseCacheLimit=32m",
)


class GitSourceError(JtsError):
    """A git source cannot be scanned; the message is one line, fit for the CLI to print."""


@functools.lru_cache(maxsize=4)
def _which_git(search_path: str) -> str | None:
    return shutil.which("git", path=search_path)


def git_executable() -> str:
    """Path of the git binary, or a clear error when git is not installed."""
    exe = _which_git(os.environ.get("PATH", os.defpath))  # a sweep asks once per git process
    if exe is None:
        raise GitSourceError("git is not installed or not on PATH: install git to scan repositories")
    return exe


def git_env() -> dict[str, str]:
    """The caller's environment (hooks set GIT_INDEX_FILE on purpose), minus prompts and pagers."""
    env = dict(os.environ)
    env.update({"GIT_TERMINAL_PROMPT": "0", "GIT_PAGER": "cat", "PAGER": "cat", "GIT_OPTIONAL_LOCKS": "0"})
    return env


def git_argv(*args: str) -> list[str]:
    return [git_executable(), *SAFE_CONFIG, *args]


def first_error_line(stderr: bytes | str, default: str = "git failed") -> str:
    """The most telling line of git's stderr: the fatal one if any, else the first non-empty."""
    text = stderr.decode("utf-8", "replace") if isinstance(stderr, bytes) else stderr
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    for ln in lines:
        if ln.startswith("fatal:"):
            return ln
    return lines[0] if lines else default


def run_git(cwd: Path | str, args: Sequence[str], *, input: bytes | None = None,
            check: bool = True, what: str | None = None) -> subprocess.CompletedProcess[bytes]:
    """Run ``git args`` in ``cwd``, capturing output; a failure becomes ``GitSourceError``."""
    try:
        proc = subprocess.run(git_argv(*args), check=False, cwd=str(cwd), input=input, capture_output=True,
                              env=git_env(), stdin=None if input is not None else subprocess.DEVNULL)
    except OSError as exc:  # e.g. cwd vanished, git not executable
        raise GitSourceError(f"cannot run git in {cwd}: {exc.strerror or exc}") from None
    if check and proc.returncode != 0:
        label = what or f"git {args[0]}"
        raise GitSourceError(f"{label} failed in {cwd}: {first_error_line(proc.stderr)}")
    return proc


def git_lines(cwd: Path | str, args: Sequence[str], **kw) -> list[str]:
    out = run_git(cwd, args, **kw).stdout.decode("utf-8", "surrogateescape")
    return [ln for ln in out.splitlines() if ln]
