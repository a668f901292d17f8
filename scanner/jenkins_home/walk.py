"""A JENKINS_HOME directory (a live home or a restored backup) as a stream of entries.

Only the top-level directories that can hold a source are walked (``jobs``, ``nodes``,
``users``, ``secrets``); workspaces, plugins and caches are named, not listed. Symbolic links
are never followed: one leading out of the home is named in a warning, one inside it is skipped
(its target is read under its own name). FIFOs and devices are never opened.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

from scanner.jenkins_home.entries import Entry, SourceProblems
from scanner.jenkins_home.layout import MARKER_DIRS, MARKER_FILES

WALKED_DIRS = frozenset({"jobs", "nodes", "users", "secrets"})


def is_home_directory(root: Path) -> bool:
    try:
        names = set(os.listdir(root))
    except OSError:
        return False
    return bool(names & (MARKER_DIRS | MARKER_FILES))


def walk_home(root: Path, problems: SourceProblems) -> Iterator[Entry]:
    real_root = os.path.realpath(root)
    try:
        top = sorted(os.listdir(root))
    except OSError as exc:
        problems.unreadable.append(f"{root}: cannot list directory: {exc.strerror or exc}")
        return
    for name in top:
        path = os.path.join(root, name)
        try:
            mode = os.lstat(path).st_mode
        except OSError:
            continue
        if stat.S_ISDIR(mode):
            if name in WALKED_DIRS:
                yield from _walk_dir(path, name, real_root, problems)
            else:
                problems.not_scanned_dirs.append(name)
            continue
        entry = _entry(path, name, mode, real_root, problems)
        if entry:
            yield entry


def _walk_dir(path: str, rel: str, real_root: str, problems: SourceProblems) -> Iterator[Entry]:
    def unreadable(exc: OSError) -> None:
        problems.unreadable.append(f"{exc.filename}: cannot list directory: {exc.strerror or exc}")

    for directory, dirs, files in os.walk(path, followlinks=False, onerror=unreadable):
        dirs.sort()
        base = os.path.relpath(directory, os.path.dirname(path)).replace(os.sep, "/") if directory != path else rel
        for link in [d for d in dirs if os.path.islink(os.path.join(directory, d))]:
            _link(os.path.join(directory, link), f"{base}/{link}", real_root, problems)
        for name in sorted(files):
            full = os.path.join(directory, name)
            try:
                mode = os.lstat(full).st_mode
            except OSError:
                continue
            entry = _entry(full, f"{base}/{name}", mode, real_root, problems)
            if entry:
                yield entry


def _entry(path: str, rel: str, mode: int, real_root: str, problems: SourceProblems) -> Entry | None:
    if stat.S_ISLNK(mode):
        _link(path, rel, real_root, problems)
        return None
    if not stat.S_ISREG(mode):
        problems.special.append(rel)
        return None
    try:
        size = os.lstat(path).st_size
    except OSError:
        size = 0
    return Entry(rel=rel, size=size, open=lambda: open(path, "rb"))


def _link(path: str, rel: str, real_root: str, problems: SourceProblems) -> None:
    real = os.path.realpath(path)
    if real != real_root and not real.startswith(real_root.rstrip(os.sep) + os.sep):
        try:
            target = os.readlink(path)
        except OSError:
            target = "?"
        problems.links.append(f"{rel} -> {target}")
