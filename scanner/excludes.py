"""Exclude patterns (gitignore syntax) from several places, counting what each place skipped.

All patterns decide together, in order (a later ``!pattern`` re-includes), exactly as one list
would; a skipped path is credited to the first place whose own patterns match it, so a report
can say how many files a repository's settings file hid.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pathspec

from scanner.findings import Location


@dataclass
class Excludes:
    groups: list[tuple[str, list[str]]] = field(default_factory=list)  # (where from, patterns)
    counts: dict[str, int] = field(init=False)

    def __post_init__(self) -> None:
        self.counts = {source: 0 for source, _ in self.groups}
        every = [p for _, patterns in self.groups for p in patterns]
        self._all = pathspec.PathSpec.from_lines("gitwildmatch", every) if every else None
        self._each = [(source, pathspec.PathSpec.from_lines("gitwildmatch", patterns))
                      for source, patterns in self.groups if patterns]

    @classmethod
    def of(cls, patterns: list[str] | Excludes | None) -> Excludes:
        if isinstance(patterns, Excludes):
            return patterns
        return cls([("exclude", list(patterns or []))])

    def __bool__(self) -> bool:
        return self._all is not None

    def skip(self, path: str) -> bool:
        """True when ``path`` (relative, '/'-separated) is excluded; counts it for its source."""
        if self._all is None or not self._all.match_file(path):
            return False
        source = next((s for s, spec in self._each if spec.match_file(path)), self._each[-1][0])
        self.counts[source] += 1
        return True

    def drop_excluded(self, pairs: list[tuple[Any, Location]]) -> list[tuple[Any, Location]]:
        """Keep the (hit, location) pairs whose path is not excluded; counts each dropped location."""
        if self._all is None:
            return pairs
        return [(hit, loc) for hit, loc in pairs if not self.skip(loc.path)]
