"""Which baseline judges a gate: the trusted side's, as for the repository's settings.

A ``.secrets.baseline`` inside the scanned repository is content like ``.jts.toml``: whoever can
change the content can add the hash of the token they add. So ``--staged`` reads it from HEAD and
``--range`` / ``--since-ref`` from BASE (``git cat-file``, never the index or the work tree), and
entries the change adds do not suppress its findings; the change is reported like a settings
change (and, under ``--fail-on any``, fails the gate until reviewed and merged on its own).

A baseline outside the repository (a file the CI job pins) and every other scan mode read the
file as given: ``--history`` has no trusted side (see the README's trust model).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scanner.baseline import OUR_TYPES, load_baseline, normalize_path, parse_baseline
from scanner.findings import some_of
from scanner.settings_trust import SettingsChange

GATE_MODES = ("staged", "range")
EMPTY: dict[str, Any] = {"results": {}}


@dataclass
class ScanBaseline:
    """The baseline a scan applies, where its paths start, and how reports name it."""

    data: dict[str, Any]
    base: Path  # directory its paths are relative to
    source: str  # e.g. ".secrets.baseline @ BASE 0123456789ab", or the path given
    change: SettingsChange | None = None  # the change under review edits the baseline


@dataclass(frozen=True)
class GateSides:
    root: str  # the repository's work tree
    trusted: str | None  # commit judging the change (None: HEAD has no commit yet)
    role: str  # HEAD | BASE
    change: str  # commit under review, or ":" (the index) for --staged


def scan_baseline(path: Path, mode: str, target: Path, rev_range: str | None = None,
                  since_ref: str | None = None) -> ScanBaseline:
    """The baseline ``jts scan --baseline PATH`` applies in ``mode`` (files, stdin, history, staged, range)."""
    sides = gate_sides(mode, target, rev_range, since_ref) if mode in GATE_MODES else None
    rel = repo_relative(path, sides.root) if sides else None
    if sides is None or rel is None:
        return ScanBaseline(data=load_baseline(path), base=path.resolve().parent, source=str(path))
    return trusted_baseline(path, rel, sides)


def gate_sides(mode: str, target: Path, rev_range: str | None, since_ref: str | None) -> GateSides | None:
    from scanner.sources.git_repo import open_repo, resolve_range, since_ref_range

    repo = open_repo(target)
    if repo.bare:  # no work tree: a baseline cannot be inside it
        return None
    if mode == "staged":
        return GateSides(root=repo.path, trusted=repo.head, role="HEAD", change="")
    rng = resolve_range(repo, rev_range or since_ref_range(target, str(since_ref)))
    return GateSides(root=repo.path, trusted=rng.base, role="BASE", change=rng.tip)


def repo_relative(path: Path, root: str) -> str | None:
    """``path`` relative to the work tree ``root``, None when outside it.

    The directories are resolved, not the file itself: a committed symlink named as the baseline is
    still the repository's file (its blob, the link text, is then no baseline: an error).
    """
    absolute = Path(os.path.abspath(path))
    try:
        rel = (absolute.parent.resolve() / absolute.name).relative_to(Path(root).resolve())
    except ValueError:
        return None
    return rel.as_posix()


def trusted_baseline(path: Path, rel: str, sides: GateSides) -> ScanBaseline:
    """The trusted side's version of the repository's baseline, and how the change edits it."""
    from scanner.settings_sources import read_blobs

    trusted_name = f"{sides.trusted}:{rel}" if sides.trusted else None
    change_name = f"{sides.change}:{rel}"
    blobs = read_blobs(sides.root, [n for n in (trusted_name, change_name) if n])
    trusted_raw = blobs.get(trusted_name) if trusted_name else None
    changed_raw = blobs.get(change_name)
    if trusted_raw is None and changed_raw is None and not path.exists():
        load_baseline(path)  # the usual one-line "baseline not found" (exit 2)
    at = f"{sides.role} {sides.trusted[:12]}" if sides.trusted else f"{sides.role} (no commit yet)"
    source = f"{rel} @ {at}"
    data = parse_baseline(trusted_raw, source) if trusted_raw is not None else EMPTY
    if changed_raw is not None:
        changed = parse_baseline(changed_raw, f"{rel} @ {'the index' if not sides.change else sides.change[:12]}")
    else:
        changed = load_baseline(path) if path.exists() else EMPTY
    return ScanBaseline(data=data, base=Path(sides.root) / Path(rel).parent, source=source,
                        change=baseline_change(rel, data, changed, at, present=trusted_raw is not None))


def entries(data: dict[str, Any]) -> set[tuple[str, str]]:
    """(file, hashed_secret) of jts' own entries: the ones that suppress (see ``baseline.suppressions``)."""
    return {(normalize_path(name), e["hashed_secret"]) for name, items in data["results"].items()
            for e in items if e["type"] in OUR_TYPES}


def baseline_change(rel: str, trusted: dict[str, Any], changed: dict[str, Any], at: str,
                    present: bool) -> SettingsChange | None:
    """The change's edit of the baseline as a settings change: added entries loosen the gate."""
    before, after = entries(trusted), entries(changed)
    added, removed = after - before, before - after
    if not added and not removed:
        return None
    files = sorted({name for name, _ in added})
    shown = some_of(files, 3)
    if added:
        what = (f"adds {len(added)} baseline entr{'y' if len(added) == 1 else 'ies'} ({shown})"
                + ("" if present else f"; {at} has no such file"))
        message = (f"{rel}: the change {what}; entries added by the change under review do not suppress its "
                   f"findings (the baseline is read from {at})")
    else:
        message = f"{rel}: the change removes {len(removed)} baseline entr{'y' if len(removed) == 1 else 'ies'}"
    return SettingsChange(path=rel, key="results", before=len(before), after=len(after), loosens=bool(added),
                          message=message)

