"""What ``jts scan --staged`` scans when the pre-commit framework runs it outside a commit.

pre-commit tells a hook nothing about ``--all-files`` or ``--files``; it exports ``PRE_COMMIT=1``
to every hook, and ``PRE_COMMIT_FROM_REF`` / ``PRE_COMMIT_TO_REF`` for ``--from-ref``/``--to-ref``
(pre_commit/commands/run.py). A staged scan with nothing staged would pass without reading a
byte, which is what ``pre-commit run --all-files`` (pre-commit.ci, CI jobs) sees in a clean
checkout; so under pre-commit the hook follows the range it was given, and with nothing staged
scans every tracked file instead of passing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

STAGED, RANGE, TRACKED = "staged", "range", "tracked"


@dataclass(frozen=True)
class HookScope:
    mode: str  # STAGED | RANGE | TRACKED
    rev_range: str | None = None  # RANGE: FROM..TO
    note: str | None = None  # said on stderr and in the report's warnings


def hook_scope(environ: Mapping[str, str], repo: Path) -> HookScope:
    """The scan a ``--staged`` run stands for, from pre-commit's environment and the index."""
    if environ.get("PRE_COMMIT") != "1":  # by hand, or another hook manager: the index, as asked
        return HookScope(STAGED)
    source, target = environ.get("PRE_COMMIT_FROM_REF", ""), environ.get("PRE_COMMIT_TO_REF", "")
    if source and target:
        return HookScope(RANGE, f"{source}..{target}",
                         f"pre-commit ran this hook with --from-ref/--to-ref: scanned what {source}..{target} added")
    if _nothing_staged(repo):
        return HookScope(TRACKED, note="pre-commit ran this hook with nothing staged (--all-files or --files): "
                                       "scanned every tracked file, as committed in the index")
    return HookScope(STAGED)


def _nothing_staged(repo: Path) -> bool:
    from scanner.sources.git_blobs import index_blobs
    from scanner.sources.git_repo import head_blobs, open_repo

    info = open_repo(repo)
    if info.bare:
        return False  # no index: --staged reports that itself
    entries = index_blobs(info)[1]
    # the index holds exactly HEAD's blobs (none at all before the first commit)
    return dict(entries) == (head_blobs(info, lambda _p, _oid: True) or {})
