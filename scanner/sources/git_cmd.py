"""Running the git CLI: the one place jts starts git, always hardened (``git_safety``); failures
become one-line ``GitSourceError``s."""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from scanner.errors import JtsError
from scanner.sources.git_safety import hardened_argv, hardened_env
from scanner.sources.git_watchdog import Watchdog, stall_seconds


QUICK_SECONDS = 0.05  # how long a git runs before the memory watchdog watches it (~15 MB of a loop)


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


def git_env(*, remote: bool = False) -> dict[str, str]:
    """The environment for a git process, with the hardening (see ``git_safety``)."""
    return hardened_env(remote=remote)


def git_argv(*args: str, remote: bool = False, tuning: Sequence[tuple[str, str]] = ()) -> list[str]:
    """argv for ``git args`` with the hardening; ``remote`` for clones and fetches of sweep URLs."""
    return hardened_argv(git_executable(), args, remote=remote, tuning=tuning)


def first_error_line(stderr: bytes | str, default: str = "git failed") -> str:
    """The most telling line of git's stderr: the fatal one if any, else the first non-empty."""
    text = stderr.decode("utf-8", "replace") if isinstance(stderr, bytes) else stderr
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    for ln in lines:
        if ln.startswith("fatal:"):
            return ln
    return lines[0] if lines else default


def git_deadline(input: bytes | None) -> float:
    """Seconds a local git command may take: the stall limit, once more per 64 KiB of input
    (e.g. ~1,400 oids for cat-file): generous for real work, finite for a git looping on a crafted object."""
    return stall_seconds() * (1 + len(input or b"") // (1 << 16))


def run_git(cwd: Path | str | None, args: Sequence[str], *, input: bytes | None = None,
            check: bool = True, what: str | None = None, remote: bool = False,
            timeout: float | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[bytes]:
    """Run ``git args`` in ``cwd``, capturing output; a failure or overrun becomes ``GitSourceError``.

    ``timeout``: default ``git_deadline`` for local commands, none for ``remote`` ones (a clone
    of a big repository takes what it takes). ``env``: added to git's hardened environment (how a
    URL's credentials reach git without being on its command line).
    """
    where = "" if cwd is None else f" in {cwd}"
    label = what or f"git {args[0]}"
    if timeout is None and not remote:
        timeout = git_deadline(input)
    try:
        child = subprocess.Popen(git_argv(*args, remote=remote), cwd=None if cwd is None else str(cwd),
                                 stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 env={**(git_env(remote=True) if remote else _local_env(cwd)), **(env or {})})
    except OSError as exc:  # e.g. cwd vanished, git not executable
        raise GitSourceError(f"cannot run git{where}: {exc.strerror or exc}") from None
    guard: Watchdog | None = None
    started = time.monotonic()
    try:
        quick = QUICK_SECONDS if timeout is None else min(QUICK_SECONDS, timeout)
        try:  # most git commands end within milliseconds: no watchdog thread for them
            out, err = child.communicate(input, timeout=quick)
        except subprocess.TimeoutExpired:
            # memory only (the deadline stays the timeout): a local git looping on a crafted object grows fast
            guard = None if remote else Watchdog(child, limit=float("inf"))
            left = None if timeout is None else max(0.0, timeout - (time.monotonic() - started))
            out, err = child.communicate(timeout=left)
    except subprocess.TimeoutExpired:
        child.kill()
        child.communicate()
        raise GitSourceError(f"{label}{where} did not finish in {timeout:g} s and was stopped "
                             "(damaged object? try git fsck)") from None
    finally:
        if guard is not None:
            guard.close()
    if guard is not None and guard.over_memory:
        raise GitSourceError(f"{guard.message(label)}{where}")
    proc = subprocess.CompletedProcess(child.args, child.returncode, out, err)
    if check and proc.returncode != 0:
        raise GitSourceError(f"{label} failed{where}: {first_error_line(proc.stderr)}")
    return proc


def popen_git(cwd: Path | str, args: Sequence[str], tuning: Sequence[tuple[str, str]] = (),
              **kwargs: Any) -> subprocess.Popen[bytes]:
    """Start ``git args`` in ``cwd`` for streaming (``kwargs``: the pipes); the caller waits for it."""
    return subprocess.Popen(git_argv(*args, tuning=tuning), cwd=str(cwd), env=_local_env(cwd), **kwargs)


# Repositories whose shallow file names commits whose parents are in the object database: the
# shallow file git reads there instead ("" for none), see git_repo.open_repo
_SHALLOW_FILES: dict[str, str] = {}


def use_shallow_file(cwd: Path | str, value: str) -> None:
    """Every later git in ``cwd`` reads ``value`` as its shallow file (GIT_SHALLOW_FILE; "": none)."""
    _SHALLOW_FILES[os.path.realpath(cwd)] = value


def _local_env(cwd: Path | str | None) -> dict[str, str]:
    env = git_env()
    if _SHALLOW_FILES and cwd is not None:
        value = _SHALLOW_FILES.get(os.path.realpath(cwd))
        if value is not None:
            env["GIT_SHALLOW_FILE"] = value
    return env


def git_lines(cwd: Path | str, args: Sequence[str], **kw) -> list[str]:
    out = run_git(cwd, args, **kw).stdout.decode("utf-8", "surrogateescape")
    return [ln for ln in out.splitlines() if ln]
