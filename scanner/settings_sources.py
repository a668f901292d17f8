"""Reading the settings layers for one command: the user's file, ``--config``, and the scanned
repository's settings file, from the work tree or from a commit.

Gate scans read the repository's file from the trusted side of the change (``--range``: BASE,
``--staged``: HEAD) and compare it with the side under review, so a change can neither loosen the
rules that judge it nor edit them unnoticed. ``settings_trust`` decides what each key may do.
"""

from __future__ import annotations

import os
import posixpath
import tempfile
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

from scanner.config import (
    REPOSITORY_FILES,
    Config,
    ConfigError,
    find_config,
    is_settings_file,
    key_name,
    parse_settings,
    read_settings_file,
    user_config_path,
)
from scanner.settings_trust import (
    CONFIG,
    GATE,
    HISTORY,
    NONE,
    REPOSITORY,
    USER,
    WORKTREE,
    Layer,
    SettingsChange,
    SettingsSummary,
    compare,
    resolve,
)

INDEX = "index"  # the staged side of --staged: git's ``:path`` object names


@dataclass
class SettingsRequest:
    kind: str  # GATE | HISTORY | WORKTREE | NONE (see settings_trust)
    config_file: Path | None = None
    no_repo_config: bool = False
    start: Path | None = None  # WORKTREE: where the lookup of .jts.toml / pyproject.toml starts
    repo_path: str | None = None  # GATE, HISTORY: the repository git runs in
    revision: str | None = None  # the trusted commit (None: there is none yet, e.g. an unborn HEAD)
    role: str = "HEAD"  # how messages name the trusted side: HEAD, BASE
    change: str | None = None  # GATE: the side under review, a commit or INDEX
    prefix: str = ""  # the scan's directory inside the repository ('' = its root)
    why_not_read: str = "not read"  # NONE: said in the report


@dataclass
class LoadedSettings:
    config: Config
    summary: SettingsSummary
    warnings: list[str] = field(default_factory=list)


def load_settings(request: SettingsRequest, stack: ExitStack) -> LoadedSettings:
    """Every layer for ``request``, resolved; temporary rule directories live as long as ``stack``."""
    user_file = user_config_path()
    layers: list[Layer] = []
    if user_file.is_file():
        layers.append(_disk_layer(user_file, USER))
    changes: list[SettingsChange] = []
    revision = None
    if request.config_file is not None:
        inside = _in_repository(request)
        if inside is None:
            layers.append(_disk_layer(request.config_file, CONFIG))
            note = f"not read: --config {request.config_file} given"
        else:  # part of the change under review: read from the trusted side, like the repository's file
            pinned, changes = _pinned_from_git(request, inside, stack)
            layers += [pinned] if pinned is not None else []
            at = f"{request.role} {request.revision[:12]}" if request.revision else request.role
            note = f"not read: --config {inside} given (read from {at})"
        changes += watched_changes(request, "--config given")
    elif request.no_repo_config:
        note = "not read: --no-repo-config"
        changes = watched_changes(request, "--no-repo-config")
    elif request.kind == NONE:
        note = request.why_not_read
    elif request.kind == WORKTREE:
        found = find_config(request.start or Path("."))
        if found is not None:
            layers.append(_disk_layer(found, REPOSITORY))
        note = "work tree" if found else "none found in the work tree"
    else:
        repository, changes = _git_layers(request, stack)
        if repository is not None:
            layers.append(repository)
        revision = request.revision
        at = f"{request.role} {request.revision[:12]}" if request.revision else None
        note = (f"none: {request.role} has no commit yet" if at is None
                else at if repository is not None else f"none found in {at}")
    resolved = resolve(layers, request.kind, str(user_file))
    summary = SettingsSummary(files=resolved.files, repository=note, revision=revision,
                              fail_on=resolved.config.fail_on, fail_on_from=resolved.origin["fail_on"],
                              exclude=resolved.exclude, changes=changes)
    return LoadedSettings(config=resolved.config, summary=summary, warnings=resolved.warnings)


def trusted_only(config_file: str | None, why: str) -> LoadedSettings:
    """Settings for commands that scan no repository of their own (sweep, verify, revoke)."""
    with ExitStack() as stack:  # no repository layer, so no temporary rule directory to keep
        return load_settings(SettingsRequest(kind=NONE, config_file=Path(config_file) if config_file else None,
                                             why_not_read=why), stack)


def _disk_layer(path: Path, origin: str) -> Layer:
    values = read_settings_file(path)
    # Rule directories are relative to the file that names them, not to the caller's cwd.
    rule_dirs = [str((path.parent / d).resolve()) for d in values.get("rules", [])]  # type: ignore[union-attr]
    return Layer(path=str(path), origin=origin, values=values, rule_dirs=rule_dirs)


# --------------------------------------------------------------------------- from git


def _git_layers(request: SettingsRequest, stack: ExitStack) -> tuple[Layer | None, list[SettingsChange]]:
    """The trusted side's settings (rule files materialized), and how the change edits them."""
    repo, rev = str(request.repo_path), request.revision
    trusted = None
    if rev is not None:
        found = tree_settings(repo, rev, request.prefix)
        if found is not None:
            path, raw = found
            label = f"{path} @ {request.role} {rev[:12]}"
            values = parse_settings(raw, path, label)
            rules = values.get("rules", [])
            rule_dirs = materialize_rules(repo, rev, path, rules, label, stack) if rules else []  # type: ignore[arg-type]
            trusted = Layer(path=path, origin=REPOSITORY, values=values, revision=rev, rule_dirs=rule_dirs)
    if request.kind != GATE or request.change is None:
        return trusted, []
    changed, changed_path, error = _lenient_layer(repo, request.change, request.prefix)
    return trusted, compare(trusted, changed, changed_path, error, request.role)


def watched_changes(request: SettingsRequest, why: str) -> list[SettingsChange]:
    """How a gated change edits the repository's settings file, when this scan does not read it.

    ``--no-repo-config`` / ``--config`` keep the file from judging this scan, but once merged it
    judges every scan that reads it (the pre-commit hook first): a loosening must still fail the gate.
    """
    if request.kind != GATE or request.change is None or request.repo_path is None:
        return []
    repo = str(request.repo_path)
    # An unreadable trusted file is not an error here (this scan does not use it): compare with nothing.
    trusted = _lenient_layer(repo, request.revision, request.prefix)[0] if request.revision else None
    changed, changed_path, error = _lenient_layer(repo, request.change, request.prefix)
    later = (f"not applied here ({why}), but scans that read the repository's settings (the pre-commit hook) "
             "will apply it once it is merged")
    return compare(trusted, changed, changed_path, error, request.role, not_applied=later)


def _in_repository(request: SettingsRequest) -> str | None:
    """The repository-relative path of a gate's ``--config`` file inside the scanned work tree, else None."""
    if request.kind != GATE or request.repo_path is None or request.config_file is None:
        return None
    root = Path(request.repo_path).resolve()
    # As named (a symlink in the tree is content too), then as resolved: either way it is in the change.
    for candidate in (Path(os.path.abspath(request.config_file)), request.config_file.resolve()):
        try:
            rel = candidate.relative_to(root).as_posix()
        except ValueError:
            continue
        if rel != "." and not rel.startswith(".git/") and rel != ".git":
            return rel
    return None


def _pinned_from_git(request: SettingsRequest, path: str, stack: ExitStack) -> tuple[Layer | None, list[SettingsChange]]:
    """A ``--config`` file inside the repository, read from the trusted side; the change's edits to it reported."""
    repo, rev = str(request.repo_path), request.revision
    trusted = None
    if rev is not None:
        raw = read_blobs(repo, [object_name(rev, path)]).get(object_name(rev, path))
        if raw is not None:
            label = f"--config {path} @ {request.role} {rev[:12]}"
            values = parse_settings(raw, path, label)
            rules = values.get("rules", [])
            rule_dirs = materialize_rules(repo, rev, path, rules, label, stack) if rules else []  # type: ignore[arg-type]
            trusted = Layer(path=path, origin=CONFIG, values=values, revision=rev, rule_dirs=rule_dirs)
    changed, error = None, None
    raw = read_blobs(repo, [object_name(str(request.change), path)]).get(object_name(str(request.change), path))
    if raw is not None:
        try:
            changed = Layer(path=path, origin=CONFIG, values=parse_settings(raw, path), revision=request.change)
        except ConfigError as exc:
            error = str(exc).split(": ", 1)[-1]
    if trusted is None and changed is None and error is None:
        raise ConfigError(f"--config {path}: not in {request.role} nor in the change under review")
    why = f"not applied: --config {path} is read from {request.role}, the trusted side of this change"
    return trusted, compare(trusted, changed, path if raw is not None else None, error, request.role, not_applied=why)


def _lenient_layer(repo: str, rev: str, prefix: str) -> tuple[Layer | None, str | None, str | None]:
    """(layer, path, parse error) of the settings file at ``rev``; a bad file is reported, not raised."""
    found = tree_settings(repo, rev, prefix)
    if found is None:
        return None, None, None
    path, raw = found
    try:
        return Layer(path=path, origin=REPOSITORY, values=parse_settings(raw, path), revision=rev), path, None
    except ConfigError as exc:
        return None, path, str(exc).split(": ", 1)[-1]


def object_name(rev: str, path: str) -> str:
    return f":{path}" if rev == INDEX else f"{rev}:{path}"


def read_blobs(repo: str, names: list[str]) -> dict[str, bytes | None]:
    """Contents of ``rev:path`` object names in one ``git cat-file --batch``; None when absent or not a blob."""
    from scanner.sources.git_cmd import run_git

    if not names:
        return {}
    out = run_git(repo, ["cat-file", "--batch"], input="".join(f"{n}\n" for n in names).encode(),
                  what="reading settings files").stdout
    found: dict[str, bytes | None] = {}
    pos = 0
    for name in names:
        end = out.index(b"\n", pos)
        header = out[pos:end].split()
        pos = end + 1
        if len(header) != 3 or not header[2].isdigit():  # "<name> missing" / "ambiguous"
            found[name] = None
            continue
        size = int(header[2])
        found[name] = out[pos:pos + size] if header[1] == b"blob" else None
        pos += size + 1
    return found


def tree_settings(repo: str, rev: str, prefix: str) -> tuple[str, bytes] | None:
    """The nearest settings file in ``rev``'s tree (or the index), from ``prefix`` up to the root."""
    dirs, current = [], prefix.strip("/")
    while True:
        dirs.append(current)
        if not current:
            break
        current = posixpath.dirname(current)
    paths = [posixpath.join(d, name) if d else name for d in dirs for name in REPOSITORY_FILES]
    blobs = read_blobs(repo, [object_name(rev, p) for p in paths])
    for path in paths:
        raw = blobs.get(object_name(rev, path))
        if raw is not None and is_settings_file(posixpath.basename(path), raw):
            return path, raw
    return None


def materialize_rules(repo: str, rev: str, settings_path: str, dirs: list[str], label: str,
                      stack: ExitStack) -> list[str]:
    """Copy the rule files of ``dirs`` (relative to ``settings_path``) out of ``rev`` into a temporary
    directory, so the rules that judge a change are the trusted side's, not the change's."""
    from scanner.sources.git_cmd import run_git

    root = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="jts-rules-")))
    base = posixpath.dirname(settings_path)
    out: list[str] = []
    for number, directory in enumerate(dirs):
        rel = posixpath.normpath(posixpath.join(base, directory))
        if posixpath.isabs(directory) or rel == ".." or rel.startswith("../"):
            raise ConfigError(f"{label}: {key_name(settings_path, 'rules')}: {directory!r} is outside the repository")
        listing = run_git(repo, ["ls-tree", "-z", rev, "--", f"{rel}/"], what="listing rule files").stdout
        names = []
        for entry in listing.split(b"\0"):
            meta, _, name = entry.partition(b"\t")
            parts = meta.split()
            path = name.decode("utf-8", "surrogateescape")
            inside = posixpath.dirname(path) == ("" if rel == "." else rel)
            if len(parts) == 3 and parts[1] == b"blob" and inside and path.endswith(".toml"):
                names.append(path)
        if not names and not listing:
            raise ConfigError(f"{label}: {key_name(settings_path, 'rules')}: {directory!r}: no such directory there")
        target = root / f"{number}-{posixpath.basename(rel) or 'rules'}"
        target.mkdir()
        blobs = read_blobs(repo, [object_name(rev, n) for n in names])
        for name in names:
            (target / posixpath.basename(name)).write_bytes(blobs[object_name(rev, name)] or b"")
        out.append(str(target))
    return out


# --------------------------------------------------------------------------- per scan mode


def scan_request(mode: str, target: Path, *, config_file: str | None, no_repo_config: bool,
                 rev_range: str | None = None, since_ref: str | None = None) -> SettingsRequest:
    """Where ``jts scan`` in ``mode`` (files, stdin, history, staged, range) reads repository settings."""
    common = {"config_file": Path(config_file) if config_file else None, "no_repo_config": no_repo_config}
    if mode in ("files", "stdin"):
        return SettingsRequest(kind=WORKTREE, start=target, **common)  # type: ignore[arg-type]
    if mode == "history" and (config_file or no_repo_config):  # the repository is not asked, so not opened here
        return SettingsRequest(kind=HISTORY, **common)  # type: ignore[arg-type]
    # Gates open it even with --config / --no-repo-config: a change to its settings file is still reported.
    from scanner.sources.git_repo import open_repo, resolve_range, since_ref_range

    repo = open_repo(target)
    prefix = _prefix(repo.path, target) if not repo.bare else ""
    if mode == "history":
        return SettingsRequest(kind=HISTORY, repo_path=repo.path, revision=repo.head, role="HEAD", prefix=prefix,
                               **common)  # type: ignore[arg-type]
    if mode == "staged":
        return SettingsRequest(kind=GATE, repo_path=repo.path, revision=repo.head, role="HEAD", change=INDEX,
                               prefix=prefix, **common)  # type: ignore[arg-type]
    rng = resolve_range(repo, rev_range or since_ref_range(target, str(since_ref)))
    return SettingsRequest(kind=GATE, repo_path=repo.path, revision=rng.base, role="BASE", change=rng.tip,
                           prefix=prefix, **common)  # type: ignore[arg-type]


def _prefix(root: str, target: Path) -> str:
    try:
        rel = target.resolve().relative_to(Path(root).resolve())
    except ValueError:
        return ""
    return "" if str(rel) == "." else rel.as_posix()
