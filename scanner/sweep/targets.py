"""Turn TARGET arguments into repositories (paths, directories of repositories, git URLs, @lists)
and Jenkins instances (``jenkins+https://``, see ``sweep/jenkins.py``)."""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from scanner.reports import strip_userinfo

URL_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
SCP_RE = re.compile(r"^[A-Za-z0-9._][A-Za-z0-9._-]*@[A-Za-z0-9.-]+:(?!//)")  # git@host:org/repo.git
SKIP_DIRS = {"node_modules", "__pycache__", ".venv", "venv", ".tox"}  # never repositories, often huge


class TargetError(Exception):
    """A TARGET argument cannot be used at all (e.g. an unreadable @list file)."""


@dataclass(frozen=True)
class RepoTarget:
    """One repository of the sweep.

    ``key`` identifies it in the state and in ``Location.repo``: the absolute path, or the URL
    without credentials. ``source`` is what gets opened or cloned and may hold credentials from
    the command line, so it is kept in memory only.
    """

    key: str
    kind: str  # path | url
    source: str = field(compare=False, repr=False)
    target: str = ""  # the TARGET (credentials stripped) it was found through
    problem: str | None = None  # known unusable before scanning (missing path): recorded as its error

    def mirror_path(self, cache_dir: Path) -> Path:
        """Where a URL target's bare mirror lives: readable name + hash of the URL, so names never clash."""
        name = re.sub(r"[^A-Za-z0-9._-]+", "_", self.key.rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1])
        name = name.removesuffix(".git")[:60] or "repo"
        digest = hashlib.sha256(self.key.encode()).hexdigest()[:12]
        return cache_dir / f"{name}-{digest}.git"


@dataclass
class Resolved:
    repos: list[RepoTarget]
    warnings: list[str]
    jenkins: list[str] = field(default_factory=list)  # jenkins+https://... targets, normalised (sweep/jenkins.py)


def is_url(text: str) -> bool:
    return bool(URL_RE.match(text) or SCP_RE.match(text))


SSH_URL_RE = re.compile(r"^(?P<scheme>(?:git\+)?ssh(?:\+git)?://)(?P<user>[^/@:]*)(?::[^/@]*)?@(?P<rest>.*)$", re.I)


def public_target(text: str) -> str:
    """A TARGET as it may be stored and printed, and the identity of its repository.

    Secrets in URLs are removed (an https user may be a token). An ssh user is kept: it is part
    of which repository is meant (per-user ``~`` paths, per-key access on ``git@`` hosts), so
    ``ssh://alice@host/~/infra.git`` and ``ssh://bob@host/~/infra.git`` stay two repositories.
    """
    if not is_url(text):
        return text
    ssh = SSH_URL_RE.match(text)
    if ssh:  # a password in an ssh URL is dropped, the user kept
        user = f"{ssh.group('user')}@" if ssh.group("user") else ""
        return f"{ssh.group('scheme')}{user}{ssh.group('rest')}"
    if SCP_RE.match(text):
        return text  # user@host:path has no room for a password
    return strip_userinfo(text)


def has_credentials(text: str) -> bool:
    """Does this URL carry something that is never stored (so a later run cannot reuse it)?"""
    return is_url(text) and public_target(text) != text


def expand_lists(args: list[str], base: Path | None = None, _seen: frozenset[Path] = frozenset()) -> list[str]:
    """Replace every ``@file`` by its lines (blank lines and ``#`` comments skipped, nesting allowed).

    Relative paths in a list are relative to the list file, so a list can be used from anywhere.
    """
    out: list[str] = []
    for arg in args:
        arg = arg.strip()
        if not arg.startswith("@"):
            out.append(_relative_to(arg, base))
            continue
        list_path = Path(_relative_to(arg[1:], base)).expanduser().resolve()
        if list_path in _seen:
            raise TargetError(f"{arg}: target list includes itself")
        try:
            lines = list_path.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise TargetError(f"{arg}: cannot read target list: {exc.strerror or exc}") from None
        entries = [ln.strip() for ln in lines if ln.strip() and not ln.strip().startswith("#")]
        out.extend(expand_lists(entries, list_path.parent, _seen | {list_path}))
    return out


def _relative_to(arg: str, base: Path | None) -> str:
    if base is None or is_url(arg) or Path(arg).expanduser().is_absolute():
        return arg
    return str(base / arg)


def is_work_tree(path: Path) -> bool:
    return (path / ".git").exists()  # a directory, or a file for worktrees and submodules


def is_bare_repo(path: Path) -> bool:
    return (path / "HEAD").is_file() and (path / "objects").is_dir() and (path / "refs").is_dir()


def find_repositories(root: Path, skip: set[Path], warnings: list[str]) -> list[Path]:
    """Every repository under ``root`` (work trees and bare), not descending into a found one."""
    found: list[Path] = []

    def on_error(exc: OSError) -> None:
        warnings.append(f"{exc.filename}: cannot list directory: {exc.strerror or exc}")

    for current, dirs, _files in os.walk(root, onerror=on_error):
        here = Path(current)
        if here in skip:
            dirs[:] = []
            continue
        if is_work_tree(here) or is_bare_repo(here):
            found.append(here)
            dirs[:] = []  # nested repositories (submodules, vendored clones) belong to this one's owner
            continue
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not os.path.islink(os.path.join(current, d)))
    return found


def resolve_targets(args: list[str], cache_dir: Path) -> Resolved:
    """Expand @lists, directories and URLs into de-duplicated, ordered repositories and Jenkins targets."""
    from scanner.sweep.jenkins import is_jenkins_target, jenkins_target

    warnings: list[str] = []
    repos: dict[str, RepoTarget] = {}
    skip = {cache_dir.resolve()}
    jenkins: dict[str, None] = {}
    for arg in expand_lists(args):
        if is_jenkins_target(arg):
            jenkins.setdefault(jenkins_target(arg))
            continue
        shown = public_target(arg)
        if is_url(arg):
            repos.setdefault(shown, RepoTarget(key=shown, kind="url", source=arg, target=shown))
            continue
        path = Path(arg).expanduser()
        if not path.exists():
            key = str(path.absolute())
            repos.setdefault(key, RepoTarget(key=key, kind="path", source=key, target=shown,
                                             problem=f"{arg}: no such file or directory"))
            continue
        path = path.resolve()
        if is_work_tree(path) or is_bare_repo(path) or not path.is_dir():
            found = [path]  # a file or a non-repository is left to git, which names the problem
        else:
            found = find_repositories(path, skip, warnings)
            if not found:
                warnings.append(f"{arg}: no git repositories found under this directory")
        for repo in found:
            repos.setdefault(str(repo), RepoTarget(key=str(repo), kind="path", source=str(repo), target=shown))
    return Resolved(repos=list(repos.values()), warnings=warnings, jenkins=list(jenkins))
