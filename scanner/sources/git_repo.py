"""Opening a repository and asking it simple questions: shallow?, HEAD?, which commits a range means."""

from __future__ import annotations

import atexit
import hashlib
import os
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from scanner.sources.git_cmd import (
    GitSourceError,
    first_error_line,
    git_executable,
    git_lines,
    run_git,
    use_shallow_file,
)
from scanner.sources.git_safety import import_gitpython

FETCH_MORE = "fetch more history: git fetch --deepen=N, git fetch --unshallow, or git fetch origin {rev}"


@dataclass
class RepoInfo:
    path: str  # work tree root, or the git dir of a bare repository; git commands run here
    git_dir: str
    bare: bool
    shallow: bool
    head: str | None  # HEAD commit sha; None when unborn (empty repo) or missing
    refs: int  # number of refs (branches, tags, remotes, stash, notes, ...)
    has_stash: bool = True  # False only when there is certainly no stash (saves a git call)
    common_dir: str = ""  # where refs and objects live (differs from git_dir in a linked worktree)
    # commits the shallow file calls roots although their parents are in the object database:
    # git is run without those entries (see open_repo), so the history behind them is scanned
    ignored_shallow: tuple[str, ...] = ()

    @property
    def objects_dir(self) -> str | None:
        """The object database to read in-process; None when the environment points git elsewhere."""
        if os.environ.get("GIT_OBJECT_DIRECTORY") or os.environ.get("GIT_ALTERNATE_OBJECT_DIRECTORIES"):
            return None
        return str(Path(self.common_dir or self.git_dir) / "objects")


def open_repo(path: Path | str) -> RepoInfo:
    """Validate ``path`` as a repository (bare, shallow or a sub-directory of a work tree)."""
    git_executable()
    target = Path(path).expanduser()
    if not target.exists():
        raise GitSourceError(f"not a git repository: {target} does not exist")
    try:
        git = import_gitpython()  # imported late: a cost only repository scans pay
    except ImportError as exc:
        raise GitSourceError(f"cannot load GitPython: {_one_line(exc)}") from None
    try:
        repo = git.Repo(target, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        raise GitSourceError(f"not a git repository: {target}") from None
    except Exception as exc:  # GitPython raises assorted errors on damaged .git dirs
        raise GitSourceError(f"cannot open git repository {target}: {_one_line(exc)}") from None
    # Everything below reads .git files through GitPython: no git process per repository, which
    # matters when a sweep opens thousands of small repositories (and GitPython cannot start one).
    with repo:
        bare = bool(repo.bare)
        git_dir = str(Path(repo.git_dir).resolve())
        common_dir = Path(repo.common_dir).resolve()
        root = git_dir if bare or repo.working_tree_dir is None else str(Path(repo.working_tree_dir).resolve())
        try:
            head: str | None = git.SymbolicReference.dereference_recursive(repo, "HEAD")
        except Exception:  # unborn branch, or a ref GitPython cannot read
            head = None
        try:
            ref_paths = _ref_names(common_dir)
            refs = len(ref_paths)
            has_stash = "refs/stash" in ref_paths or (common_dir / "logs" / "refs" / "stash").exists()
        except Exception:  # an unreadable ref: let git count them
            refs = len(git_lines(root, ["for-each-ref", "--format=%(objectname)"], what="listing refs"))
            has_stash = True
    if head is None:  # ask git itself; still None for an empty repository
        proc = run_git(root, ["rev-parse", "--verify", "--quiet", "HEAD^{commit}"], check=False)
        head = (proc.stdout.decode().strip() or None) if proc.returncode == 0 else None
    shallow_file = common_dir / "shallow"  # what `rev-parse --is-shallow-repository` checks
    shallow = shallow_file.is_file() and shallow_file.stat().st_size > 0
    ignored: tuple[str, ...] = ()
    if shallow:
        shallow, ignored = _check_shallow(root, shallow_file)
    return RepoInfo(path=root, git_dir=git_dir, bare=bare, shallow=shallow, head=head, refs=refs,
                    has_stash=has_stash, common_dir=str(common_dir), ignored_shallow=ignored)


OID_LINE = re.compile(r"[0-9a-f]{40}(?:[0-9a-f]{24})?")


def _check_shallow(root: str, shallow_file: Path) -> tuple[bool, tuple[str, ...]]:
    """(still shallow, entries ignored): git treats each commit the shallow file names as a root,
    whatever the object says. Writing a commit id there hides a complete history behind it (grafts
    and commit-graphs are neutralised for the same reason, see git_safety). An entry whose commit's
    parents are all in the object database cuts nothing off: every later git in ``root`` reads a
    shallow file without it (GIT_SHALLOW_FILE), so the walks follow the objects."""
    try:
        boundary = [line for line in shallow_file.read_text(encoding="ascii", errors="replace").split()
                    if OID_LINE.fullmatch(line)]
    except OSError:
        return True, ()
    parents = _parents(root, boundary)
    wanted = sorted({parent for found in parents.values() for parent in found})
    present = _present(root, wanted)
    ignored = tuple(c for c in boundary if parents.get(c) and all(p in present for p in parents[c]))
    if not ignored:
        return True, ()
    kept = [c for c in boundary if c not in ignored]
    use_shallow_file(root, _shallow_copy(kept) if kept else "")
    return bool(kept), ignored


def _parents(root: str, commits: list[str]) -> dict[str, list[str]]:
    """Each commit's parents as its object lists them (``cat-file`` reads no shallow file)."""
    out = run_git(root, ["cat-file", "--batch"], input="".join(f"{c}\n" for c in commits).encode(),
                  check=False).stdout
    found: dict[str, list[str]] = {}
    pos = 0
    while pos < len(out):
        eol = out.find(b"\n", pos)
        if eol < 0:
            break
        header = out[pos:eol].split()
        pos = eol + 1
        if len(header) != 3 or not header[2].isdigit():
            continue  # "<id> missing": no parents to look for
        size = int(header[2])
        body = out[pos:pos + size]
        pos += size + 1
        if header[1] == b"commit":
            head = body.split(b"\n\n", 1)[0].split(b"\n")
            found[header[0].decode()] = [line[7:].decode("ascii", "replace") for line in head
                                         if line.startswith(b"parent ")]
    return found


def _present(root: str, oids: list[str]) -> set[str]:
    """Which of ``oids`` the object database holds."""
    return set(_object_types(root, oids))


def _object_types(root: str, names: list[str]) -> dict[str, str]:
    """``{object id: type}`` of the objects ``names`` (ids, or ``id^{commit}``) resolve to; none for
    a name that resolves to nothing (one ``cat-file``, in input order)."""
    if not names:
        return {}
    out = run_git(root, ["cat-file", "--batch-check=%(objectname) %(objecttype)"],
                  input="".join(f"{name}\n" for name in names).encode(), check=False).stdout
    found = (line.split() for line in out.decode("ascii", "replace").splitlines())
    return {parts[0]: parts[1] for parts in found if len(parts) == 2 and parts[1] != "missing"}


def _shallow_copy(commits: list[str]) -> str:
    """A shallow file of these commits only, removed when the process ends."""
    with tempfile.NamedTemporaryFile("w", prefix="jts-shallow-", delete=False) as file:
        file.write("".join(f"{c}\n" for c in commits))
    atexit.register(_remove, file.name)
    return file.name


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def resolve_commit(repo: RepoInfo, rev: str) -> str | None:
    """Full sha of ``rev`` as a commit, or None when it is not present in this clone."""
    if not rev or rev.startswith("-"):
        raise GitSourceError(f"invalid revision: {rev!r}")
    proc = run_git(repo.path, ["rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}"],
                   check=False)
    out = proc.stdout.decode().strip()
    return out if proc.returncode == 0 and out else None


def require_commit(repo: RepoInfo, rev: str, role: str) -> str:
    sha = resolve_commit(repo, rev)
    if sha is None:
        where = " (shallow clone)" if repo.shallow else ""
        raise GitSourceError(f"{role} '{rev}' is not present in this repository{where}: "
                             + FETCH_MORE.format(rev=rev))
    return sha


def since_ref_range(path: Path | str, ref: str) -> str:
    """``ref..HEAD``: the commits on HEAD since it forked from ``ref``.

    Two-dot is already merge-base semantics for *commit selection* (everything reachable from
    ``ref`` is excluded), which is what a scan wants; three-dot would add ``ref``'s own new commits.
    """
    repo = open_repo(Path(path))
    require_commit(repo, ref, "reference")
    return f"{ref}..HEAD"


@dataclass(frozen=True)
class CommitRange:
    spec: str  # as the user gave it
    base: str  # resolved sha of the excluded side
    tip: str  # resolved sha of the included side


def resolve_range(repo: RepoInfo, rev_range: str) -> CommitRange:
    """Resolve ``BASE..TIP`` (either side may be empty = HEAD) or ``BASE...TIP`` (from merge-base)."""
    spec = rev_range.strip()
    three = "..." in spec
    if three:
        left, _, right = spec.partition("...")
    elif ".." in spec:
        left, _, right = spec.partition("..")
    else:
        raise GitSourceError(f"invalid commit range {rev_range!r}: expected BASE..HEAD")
    left, right = left or "HEAD", right or "HEAD"
    tip = require_commit(repo, right, "range tip")
    base = require_commit(repo, left, "range base")
    if three:  # GitHub-style compare: what TIP added since it forked from BASE
        proc = run_git(repo.path, ["merge-base", base, tip], check=False)
        if proc.returncode != 0:
            raise GitSourceError(f"no merge base between '{left}' and '{right}' in this clone: "
                                 + FETCH_MORE.format(rev=left))
        base = proc.stdout.decode().split()[0]
    return CommitRange(spec=spec, base=base, tip=tip)


def shallow_boundary(repo: RepoInfo) -> set[str]:
    """Commits whose parents were cut off by a shallow clone (git's ``shallow`` file)."""
    if not repo.shallow:
        return set()
    rel = run_git(repo.path, ["rev-parse", "--git-path", "shallow"]).stdout.decode().strip()
    shallow_file = Path(repo.path, rel)
    try:
        return {ln.strip() for ln in shallow_file.read_text().splitlines() if ln.strip()} - set(repo.ignored_shallow)
    except OSError:
        return set()


def stash_tips(repo: RepoInfo) -> list[str]:
    """Every stash entry (``--all`` sees only the newest: older ones live in the stash reflog)."""
    if not repo.has_stash or resolve_commit(repo, "refs/stash") is None:
        return []
    proc = run_git(repo.path, ["reflog", "show", "--format=%H", "refs/stash", "--"], check=False)
    if proc.returncode != 0:
        return []
    return [ln for ln in proc.stdout.decode().split() if ln]


# Root pseudo-refs a worktree's git dir may hold, each naming commits (FETCH_HEAD and MERGE_HEAD one a line)
PSEUDO_REFS = ("ORIG_HEAD", "MERGE_HEAD", "CHERRY_PICK_HEAD", "REVERT_HEAD", "BISECT_HEAD", "REBASE_HEAD",
               "FETCH_HEAD")
# Refs each worktree keeps for itself: ``--all`` lists only the current worktree's
PER_WORKTREE_REFS = ("refs/bisect", "refs/worktree", "refs/rewritten")


def _worktree_ref_files(common: Path) -> list[Path]:
    """Files of every worktree's pseudo-refs and per-worktree refs (the main worktree's git dir is
    the common dir; a linked one's is worktrees/<name>, whose whole refs/ is its own)."""
    found: list[Path] = []
    linked = sorted(p for p in (common / "worktrees").glob("*") if p.is_dir())
    for git_dir in [common, *linked]:
        found += [git_dir / name for name in PSEUDO_REFS if (git_dir / name).is_file()]
        bases = [git_dir / ref for ref in PER_WORKTREE_REFS] if git_dir == common else [git_dir / "refs"]
        for base in bases:
            for folder, _dirs, files in os.walk(base):  # never follows a symlinked directory
                found += [Path(folder, name) for name in sorted(files)]
    return found


def worktree_tips(repo: RepoInfo) -> list[str]:
    """Commits only a worktree's own refs or pseudo-refs hold: ``--all`` covers every worktree's
    HEAD but only the current worktree's ``refs/bisect``, ``refs/worktree``, ``refs/rewritten``,
    and no pseudo-ref (ORIG_HEAD, MERGE_HEAD, FETCH_HEAD ...), so a scan from another worktree
    would miss them. Read from the files (ids at line starts, symbolic refs left to ``--all``);
    ids that are no commit in the object database (pruned since) are dropped."""
    common = Path(repo.common_dir or repo.git_dir)
    ids: dict[str, None] = {}
    for path in _worktree_ref_files(common):
        try:
            text = path.read_text(encoding="ascii", errors="replace")
        except OSError:
            continue
        for line in text.splitlines():
            first = line.split(maxsplit=1)[0] if line.strip() else ""
            if OID_LINE.fullmatch(first):
                ids[first] = None
    types = _object_types(repo.path, [f"{oid}^{{commit}}" for oid in ids])
    return [oid for oid, kind in types.items() if kind == "commit"]


def head_blobs(repo: RepoInfo, keep: Callable[[str, str], bool], rev: str | None = None) -> dict[str, str] | None:
    """``{path: blob}`` of HEAD's (or ``rev``'s) tree for entries ``keep(path, oid)`` accepts; None without HEAD."""
    commit = rev or repo.head
    if commit is None:
        return None
    out = run_git(repo.path, ["ls-tree", "-r", "-z", "--full-tree", commit], what="reading HEAD tree").stdout
    found: dict[str, str] = {}
    for entry in out.split(b"\0"):
        meta, _, path_b = entry.partition(b"\t")
        parts = meta.split()
        if len(parts) != 3 or parts[1] != b"blob":
            continue
        path, oid = path_b.decode("utf-8", "surrogateescape"), parts[2].decode()
        if keep(path, oid):
            found[path] = oid
    return found


def _ref_names(common: Path) -> set[str]:
    """Every ref's name, from packed-refs and the loose ref files, as GitPython's ``repo.refs``
    lists them but without building an object per ref (a clone with thousands of tags paid
    ~40 ms per open, which a pre-commit hook feels). Reftable repositories: git counts them."""
    if (common / "reftable").exists():
        raise OSError("reftable")
    names: set[str] = set()
    packed = common / "packed-refs"
    if packed.is_file():
        for line in packed.read_bytes().splitlines():
            if line and not line.startswith((b"#", b"^")):
                names.add(line.partition(b" ")[2].decode("utf-8", "surrogateescape"))
    base = common / "refs"
    for folder, _dirs, files in os.walk(base):  # never follows a symlinked directory
        for name in files:
            names.add(Path(folder, name).relative_to(common).as_posix())
    return names


def refs_digest(repo: RepoInfo) -> str:
    """Digest of every ref tip, HEAD and stash entry: equal digests mean the history a scan reads
    did not move.

    Read from the ref files themselves (HEADs, packed-refs, loose refs) instead of a git process per
    repository; any ref update rewrites one of them. Over-sensitive on purpose (``git pack-refs``
    changes it too): a needless rescan costs time, a missed one would hide a leak. Reftable
    repositories, or refs that cannot be read, are listed by git instead.
    """
    common = Path(repo.common_dir or repo.git_dir)
    if (common / "reftable").exists():
        return _git_refs_digest(repo)
    digest = hashlib.sha256()
    try:
        heads = [Path(repo.git_dir) / "HEAD", common / "HEAD", *sorted((common / "worktrees").glob("*/HEAD"))]
        refs = sorted(p for p in (common / "refs").rglob("*") if p.is_file())
        # older stash entries live only in the stash's reflog, and history scans read them too, as
        # every worktree's own refs and pseudo-refs (worktree_tips)
        for name in [*dict.fromkeys(heads), common / "packed-refs", common / "logs" / "refs" / "stash", *refs,
                     *_worktree_ref_files(common)]:
            if name.is_file():  # named relative to the repository: moving it is not a change
                digest.update(b"%s\0%s\0" % (os.path.relpath(name, common).encode(), name.read_bytes()))
    except OSError:
        return _git_refs_digest(repo)
    return digest.hexdigest()


def _git_refs_digest(repo: RepoInfo) -> str:
    proc = run_git(repo.path, ["show-ref", "--head"], check=False)
    if proc.returncode not in (0, 1) or (proc.returncode == 1 and proc.stderr.strip()):  # 1 = no refs at all
        raise GitSourceError(f"listing refs failed in {repo.path}: {first_error_line(proc.stderr)}")
    return hashlib.sha256(proc.stdout).hexdigest()
