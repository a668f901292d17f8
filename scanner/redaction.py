"""Redacting the secrets a run knows, wherever they sit in text it stores or prints.

A token is not only found in content: the same value can sit in a file path, a Jenkins URL, a
warning or a verdict's reason. Reports and the sweep state pass every such string through a
``KnownSecrets``: full secrets this run holds are replaced by their redacted form, and so are
token-shaped runs whose SHA-256 is the fingerprint of a secret known only by fingerprint (a
finding read back from a state or a report, whose full value this run never held).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from scanner.findings import redact

# Shorter values are redacted to "…" or two characters; scrubbing them would mangle unrelated text.
MIN_SCRUB_LENGTH = 8
# Token-shaped runs (random hex of 128 bits or more) whose SHA-256 may be a known fingerprint.
_HEX_RUN = re.compile(r"[0-9a-fA-F]{32,}")
# Lengths of the random-hex secrets the rules find (legacy and current API tokens, agent secrets):
# a token glued to other hex digits is looked for at these lengths inside a longer run.
_TOKEN_LENGTHS = (32, 34, 64)
# A longer run is only compared whole (windows of a huge run would cost a hash per position).
_MAX_WINDOWED_RUN = 512
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")


@dataclass
class KnownSecrets:
    """The secrets one run must never show: full values, and SHA-256 fingerprints of hex secrets."""

    secrets: set[str] = field(default_factory=set)
    fingerprints: set[str] = field(default_factory=set)
    _pattern: re.Pattern[str] | None = field(default=None, repr=False)

    def add(self, secret: str) -> bool:
        """Remember a full secret; True if it was new."""
        if len(secret) < MIN_SCRUB_LENGTH or secret in self.secrets:
            return False
        self.secrets.add(secret)
        self._pattern = None
        return True

    def add_all(self, secrets: Iterable[str]) -> bool:
        return any([self.add(s) for s in secrets])  # a list: every secret is added, not only up to the first new one

    def add_fingerprints(self, fingerprints: Iterable[str]) -> None:
        # scrypt fingerprints (non-hex secrets) cannot be matched cheaply: only SHA-256 ones are kept
        self.fingerprints.update(fp for fp in fingerprints if _SHA256_HEX.fullmatch(fp))

    def scrub(self, text: str) -> str:
        """``text`` with every known secret in its redacted form."""
        if self.secrets:
            text = self._exact().sub(lambda m: redact(m.group(0)), text)
        if self.fingerprints and len(text) >= 32:
            text = _HEX_RUN.sub(self._redact_run, text)
        return text

    def _exact(self) -> re.Pattern[str]:
        if self._pattern is None:  # longest first, in case one secret contains another
            ordered = sorted(self.secrets, key=len, reverse=True)
            self._pattern = re.compile("|".join(re.escape(s) for s in ordered))
        return self._pattern

    def _known(self, candidate: str) -> bool:
        return hashlib.sha256(candidate.encode("ascii")).hexdigest() in self.fingerprints

    def _redact_run(self, match: re.Match[str]) -> str:
        run = match.group(0)
        if self._known(run):
            return redact(run)
        if len(run) > _MAX_WINDOWED_RUN:
            return run
        for size in _TOKEN_LENGTHS:
            for start in range(len(run) - size + 1):
                window = run[start:start + size]
                if self._known(window):  # redact it, then look for more in what follows
                    return run[:start] + redact(window) + self._redact_run_text(run[start + size:])
        return run

    def _redact_run_text(self, rest: str) -> str:
        match = _HEX_RUN.fullmatch(rest)
        return self._redact_run(match) if match else rest
