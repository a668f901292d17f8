"""One repository's part of a sweep: fetch (URL targets), decide whether to rescan, scan history.

Everything here runs wherever the executor puts it (a local worker process or a Dask worker),
so inputs and outputs are plain picklable dataclasses and nothing raises for a repository
problem: it comes back as an ``error`` outcome and the sweep goes on.
"""

from __future__ import annotations

import base64
import functools
import os
import re
import shutil
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote

from scanner.findings import Location, fingerprint_of, scrub
from scanner.reports import strip_userinfo
from scanner.sources.git_cmd import GitSourceError, run_git
from scanner.sweep.targets import RepoTarget, public_target

if TYPE_CHECKING:
    from scanner.detect import Detector, DetectorSpec, Hit

MAX_BLOB_BYTES = 50 * 2**20


@dataclass(frozen=True)
class RepoTask:
    repo: RepoTarget
    spec: DetectorSpec
    cache_dir: str
    previous_tips: str | None = None  # tips digest of the last complete scan; None = scan regardless
    max_blob_bytes: int = MAX_BLOB_BYTES


@dataclass
class RepoOutcome:
    key: str
    status: str  # scanned | unchanged | error
    tips: str | None = None
    hits: list[tuple[Hit, Location]] = field(default_factory=list)  # full secrets: coordinator only
    blobs: int = 0
    bytes: int = 0
    skipped_large: int = 0
    skipped_binary: int = 0
    warnings: list[str] = field(default_factory=list)
    error: str | None = None
    seconds: float = 0.0
    head: str | None = None
    bare: bool | None = None
    shallow: bool | None = None
    local_path: str | None = None  # the repository or mirror that was read


@dataclass(frozen=True)
class RecoverTask:
    """Read back the secrets of known fingerprints from the blobs that held them (resumed sweeps)."""

    repo: RepoTarget
    spec: DetectorSpec
    cache_dir: str
    blobs: tuple[tuple[str, str], ...]  # (blob oid, path)
    wanted: frozenset[str]  # fingerprints


class _BuiltOnce:
    """A detector recipe that parses the rules once per process, not once per repository."""

    def __init__(self, spec: DetectorSpec):
        self.spec = spec
        self.detector: Detector | None = None

    def build(self) -> Detector:
        if self.detector is None:
            self.detector = self.spec.build()
        return self.detector


@functools.lru_cache(maxsize=8)
def _recipe(spec: DetectorSpec) -> _BuiltOnce:
    return _BuiltOnce(spec)


def warm_up(spec: DetectorSpec) -> None:
    """Pay a worker's start-up costs (imports, rules) before the first repository arrives."""
    import detect_secrets.filters.heuristic  # noqa: F401 - what the placeholder check imports on first use

    import scanner.sources.git  # noqa: F401
    from scanner.sources.git_safety import import_gitpython

    import_gitpython()  # what open_repo imports late

    _recipe(spec).build()


def _one_line(text: str) -> str:
    return scrub(strip_userinfo(" ".join(text.split())))


_HTTP_USERINFO = re.compile(r"^(?P<scheme>https?://)(?P<userinfo>[^/?#\s]*)@", re.I)


@dataclass(frozen=True)
class Remote:
    """A URL as git is given it (no secret: git's argv, and its remote-http helper's, are public in
    /proc), and the environment that carries the URL's credentials to git instead."""

    url: str
    env: dict[str, str] = field(default_factory=dict, repr=False)


def remote_for(source: str) -> Remote:
    """``https://user:token@host/repo.git`` -> the URL without them, and an ``Authorization: Basic`` header
    for that URL only in git's environment (readable by this user alone); other schemes lose the secret
    (ssh never takes a password from the URL)."""
    url = public_target(source)
    found = _HTTP_USERINFO.match(source)
    if url == source or not found:
        return Remote(url)
    user, _, password = found.group("userinfo").partition(":")
    basic = base64.b64encode(f"{unquote(user)}:{unquote(password)}".encode()).decode("ascii")
    return Remote(url, _config_env({f"http.{url}.extraHeader": f"Authorization: Basic {basic}"}))


def _config_env(settings: dict[str, str]) -> dict[str, str]:
    """``git -c`` through the environment (GIT_CONFIG_COUNT), after any such settings the user has."""
    first = int(os.environ.get("GIT_CONFIG_COUNT", "0") or 0)
    env = {"GIT_CONFIG_COUNT": str(first + len(settings))}
    for n, (key, value) in enumerate(settings.items(), start=first):
        env[f"GIT_CONFIG_KEY_{n}"], env[f"GIT_CONFIG_VALUE_{n}"] = key, value
    return env


def _git(args: list[str], cwd: str | None = None, env: dict[str, str] | None = None) -> None:
    """Run a git command that talks to a remote; failure -> one-line GitSourceError without credentials.

    ``run_git(remote=True)`` (the hardening, never prompts, only plain transports, no deadline), with
    ``env`` added: how a URL's credentials reach git without being on any command line.
    """
    try:
        run_git(cwd, args, remote=True, env=env, what=f"git {args[0]}")
    except GitSourceError as exc:
        raise GitSourceError(_one_line(str(exc))) from None


def ensure_mirror(repo: RepoTarget, cache_dir: Path) -> tuple[Path, list[str]]:
    """Clone ``repo`` as a bare mirror, or bring an existing mirror up to date.

    The URL's credentials (if any) reach git through its environment, never its argv, the
    mirror's config or FETCH_HEAD. A failed update of an existing mirror is an error: the cached copy is as old as the
    last scan, and calling it "unchanged" would report stale results as current.
    """
    dest = repo.mirror_path(cache_dir)
    remote = remote_for(repo.source)
    if dest.is_dir():
        try:
            _git(["fetch", "--prune", "--quiet", "--", remote.url, "+refs/*:refs/*"], cwd=str(dest), env=remote.env)
        except GitSourceError as exc:
            raise GitSourceError(f"refresh failed: {exc}") from None
        return dest, []
    cache_dir.mkdir(parents=True, exist_ok=True)
    partial = dest.with_name(f"{dest.name}.partial-{os.getpid()}-{time.monotonic_ns()}")
    try:
        _git(["clone", "--mirror", "--quiet", "--", remote.url, str(partial)], env=remote.env)
        if remote.url != repo.key:
            run_git(partial, ["remote", "set-url", "origin", repo.key])
        partial.rename(dest)  # atomic: an interrupted clone never looks like a mirror
    except GitSourceError as exc:
        raise GitSourceError(f"clone failed: {exc}") from None
    except OSError as exc:
        if not dest.is_dir():  # another worker may have won the race for the same URL
            raise GitSourceError(f"cannot create mirror {dest}: {exc.strerror or exc}") from None
    finally:
        if partial.exists():
            shutil.rmtree(partial, ignore_errors=True)
    return dest, []


def local_copy(repo: RepoTarget, cache_dir: str, update: bool = True) -> tuple[str, list[str]]:
    """The path to read: the repository itself, or the URL's mirror (cloned, or fetched if ``update``)."""
    if repo.problem:
        raise GitSourceError(repo.problem)
    if repo.kind == "url":
        mirror = repo.mirror_path(Path(cache_dir))
        if not update and mirror.is_dir():
            return str(mirror), []
        path, warnings = ensure_mirror(repo, Path(cache_dir))
        return str(path), warnings
    return repo.source, []


def scan_repo(task: RepoTask) -> RepoOutcome:
    """Scan one repository's full history unless its ref tips equal ``previous_tips``."""
    from scanner.detect import problem_warnings
    from scanner.sources.git import open_repo, refs_digest, scan_history

    started = time.monotonic()
    outcome = RepoOutcome(key=task.repo.key, status="error")
    try:
        path, outcome.warnings = local_copy(task.repo, task.cache_dir)
        outcome.local_path = path
        repo = open_repo(Path(path))
        outcome.tips = refs_digest(repo)
        if task.previous_tips is not None and outcome.tips == task.previous_tips:
            outcome.status = "unchanged"  # HEAD is part of the digest: head/bare/shallow are as stored
            return outcome
        # a sweep parallelises across repositories, not inside one: one process per repository,
        # with a git cat-file beside it, whose C delta resolution costs a third of the CPU that
        # resolving deltas in Python does on real histories (jenkinsci/jenkins: 28 vs 41 CPU-s)
        result = scan_history(repo, _recipe(task.spec), jobs=1, max_blob_bytes=task.max_blob_bytes)
        info = result.repo
        outcome.head, outcome.bare, outcome.shallow = info.head, info.bare, info.shallow
        outcome.hits = [(hit, replace(loc, repo=task.repo.key)) for hit, loc in result.hits]
        outcome.blobs, outcome.bytes = result.blobs, result.bytes
        outcome.skipped_large, outcome.skipped_binary = result.skipped_large, result.skipped_binary
        # a sweep reports per repository: blobs it could not read are named there, never dropped
        outcome.warnings += result.warnings + [f"incomplete: {e}" for e in result.errors]
        outcome.warnings += problem_warnings(result.hits)
        outcome.status = "scanned"
    except GitSourceError as exc:
        outcome.error = _one_line(str(exc))
    except OSError as exc:
        outcome.error = _one_line(f"{exc.filename or task.repo.key}: {exc.strerror or exc}")
    except Exception as exc:  # noqa: BLE001 - one odd repository must not stop a sweep of thousands
        outcome.error = _one_line(f"internal error: {type(exc).__name__}: {exc}")
    finally:
        outcome.seconds = round(time.monotonic() - started, 3)
    return outcome


def recover_secrets(task: RecoverTask) -> dict[str, str]:
    """``{fingerprint: secret}`` for the wanted fingerprints found again in the given blobs."""
    from scanner.sources.git_reader import open_reader
    from scanner.sources.git_repo import open_repo

    found: dict[str, str] = {}
    try:
        path, _ = local_copy(task.repo, task.cache_dir, update=False)  # the blobs are old: no fetch needed
        repo = open_repo(Path(path))
    except GitSourceError:
        return found
    detector = _recipe(task.spec).build()
    paths = dict(task.blobs)
    # a git that is never handed a delta chain that loops (the copy may have changed since)
    with open_reader(repo.path, repo.objects_dir, in_process=False) as reader:
        for got in reader.read(paths):
            if got.data is None:
                continue
            for hit in detector.scan_blob(paths[got.oid], got.data):
                fp = fingerprint_of(hit.secret)
                if fp in task.wanted:
                    found[fp] = hit.secret
    return found
