"""The finding model: what was found, where, and what later stages learned about it.

Every stage after detection hands these values on; none of them carries a printable full secret
(``Finding.secret`` is excluded from ``repr`` so a stray log line or traceback cannot leak it).
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from scanner.jenkins_crawl.inventory import CrawlInventory
    from scanner.jenkins_home.inventory import HomeInventory
    from scanner.settings_trust import SettingsSummary

SEVERITIES = ("critical", "high", "medium", "low", "info")

# Random hex of 128 bits or more (API tokens, agent secrets, key files): a plain hash of it cannot
# be inverted. Anything else (build-trigger tokens, passwords) may be a guessable word.
HIGH_ENTROPY = re.compile(r"[0-9a-fA-F]{32,}")
# Fixed parameters and salt: the same secret has the same fingerprint on every run and machine
# (baselines, sweep states and reports compare them), yet each guess costs ~40 ms and 16 MiB.
SLOW_SALT = b"jenkins-token-scanner/fingerprint/v1"
SLOW_N, SLOW_R, SLOW_P = 2**14, 8, 1


def is_high_entropy(secret: str) -> bool:
    return HIGH_ENTROPY.fullmatch(secret) is not None


def fingerprint_of(secret: str) -> str:
    """Stable identifier of a secret value, safe to print and to share between runs.

    SHA-256 for random tokens; scrypt for the rest, so a report's fingerprint of a guessable
    trigger token (``letmein-deploy-2024``) cannot be checked against a word list cheaply.
    """
    raw = secret.encode("utf-8", "surrogateescape")
    if is_high_entropy(secret):
        return hashlib.sha256(raw).hexdigest()
    return _slow_fingerprint(raw)


def warm_fingerprints(secrets: Iterable[str]) -> None:
    """Compute the slow fingerprints of ``secrets`` on every core at once (scrypt releases the
    GIL; ~60 ms each would otherwise run one after another while a report is sorted)."""
    slow = list(dict.fromkeys(s.encode("utf-8", "surrogateescape") for s in secrets if not is_high_entropy(s)))
    if len(slow) > 1:
        with ThreadPoolExecutor(max_workers=min(len(slow), os.cpu_count() or 1)) as pool:
            list(pool.map(_slow_fingerprint, slow))


@functools.lru_cache(maxsize=4096)  # a finding's fingerprint is asked for many times per report
def _slow_fingerprint(raw: bytes) -> str:
    return hashlib.scrypt(raw, salt=SLOW_SALT, n=SLOW_N, r=SLOW_R, p=SLOW_P, dklen=32).hex()


def redact(secret: str) -> str:
    """Show just enough of a secret to recognise it: first 4 and last 2 characters of a random
    token, only the first 2 of anything that may be a word (each shown character helps a guess)."""
    if is_high_entropy(secret):
        return f"{secret[:4]}…{secret[-2:]}"
    if len(secret) >= 12:
        return f"{secret[:2]}…"
    return "…"


HEX_RUN = re.compile(r"[0-9a-fA-F]{24,}")


def printable_name(name: str) -> str:
    """A path or name as valid UTF-8: bytes that are not UTF-8 (POSIX names are bytes) become ``\\xNN``.

    Sources decode names with ``surrogateescape``; such strings cannot be written to any report.
    """
    if name.isascii():
        return name
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def scrub(text: str) -> str:
    """Redact anything token-shaped in free text (error messages, warnings) before printing it."""
    return HEX_RUN.sub(lambda m: redact(m.group(0)), text)


def some_of(names: list[str], limit: int = 5) -> str:
    """The first ``limit`` names, then how many more: what a warning names of a long list."""
    return ", ".join(names[:limit]) + (f" and {len(names) - limit} more" if len(names) > limit else "")


def posix_path(path: str) -> str:
    """A report path with ``/`` separators and no leading ``./``.

    Only a Windows drive path has backslash separators: in a POSIX name a backslash is a
    character (and the escape of an undecodable byte, ``\\xNN``), kept as it is.
    """
    posix = path.replace("\\", "/") if re.match(r"^[A-Za-z]:\\", path) else path
    while posix.startswith("./"):
        posix = posix[2:]
    return posix


@dataclass(frozen=True)
class Location:
    """One place a secret occurs: a file line, or a blob seen in a commit."""

    path: str
    line: int
    column: int  # 1-based, of the first character of the secret
    end_column: int  # 1-based, exclusive
    source: str = "file"  # file | history | staged | stdin | range
    commit: str | None = None
    author: str | None = None
    email: str | None = None
    date: str | None = None  # ISO 8601 author date
    in_head: bool | None = None
    blob: str | None = None
    repo: str | None = None

    def __post_init__(self) -> None:
        # every format (JSON, SARIF, text, HTML) shows the same escaped form of an undecodable name
        for name in ("path", "author", "email", "repo"):
            value = getattr(self, name)
            if value is not None and not value.isascii():
                object.__setattr__(self, name, printable_name(value))

    def sort_key(self) -> tuple:
        return (self.repo or "", self.path, self.line, self.column, self.date or "", self.commit or "")


@dataclass
class Verification:
    """Outcome of the who-am-i check. Only ``live`` and ``invalid`` are proofs."""

    status: str  # live | invalid | unknown | not_verified
    reason: str | None = None
    jenkins_url: str | None = None
    user: str | None = None
    authenticated_as: str | None = None
    authorities: list[str] = field(default_factory=list)
    jenkins_version: str | None = None
    checked_at: str | None = None
    # users Jenkins answered 401 for: the token is not theirs, yet it may be another user's
    rejected_for: list[str] = field(default_factory=list)
    # every Jenkins the token was sent to for this verdict: an `invalid` holds there only
    tried_at: list[str] = field(default_factory=list)


@dataclass
class Revocation:
    """Outcome of a revocation attempt."""

    status: str  # revoked | already_invalid | needs_manual | failed | planned | skipped
    reason: str | None = None
    token_uuid: str | None = None
    token_name: str | None = None
    actor: str | None = None  # self | admin
    manual_url: str | None = None
    at: str | None = None


@dataclass
class Finding:
    """A unique secret (per rule) with every place it was found."""

    rule_id: str
    title: str
    severity: str
    secret: str = field(repr=False)
    user: str | None = None
    jenkins_url: str | None = None
    locations: list[Location] = field(default_factory=list)
    confidence: str = "high"
    other_users: list[str] = field(default_factory=list)  # other users the content pairs with this secret  # high | medium
    remediation: str | None = None
    verification: Verification | None = None
    revocation: Revocation | None = None

    @property
    def fingerprint(self) -> str:
        return fingerprint_of(self.secret)

    @property
    def redacted(self) -> str:
        return redact(self.secret)

    @property
    def in_head(self) -> bool | None:
        """True if any occurrence is still in HEAD / the working tree, None if unknown."""
        flags = [loc.in_head for loc in self.locations if loc.in_head is not None]
        if not flags:
            return None
        return any(flags)

    def display_secret(self, show_secrets: bool) -> str:
        return self.secret if show_secrets else self.redacted


@dataclass
class ScanStats:
    files: int = 0
    blobs: int = 0
    bytes: int = 0
    skipped_binary: int = 0
    skipped_large: int = 0
    seconds: float = 0.0


@dataclass(frozen=True)
class Suppressed:
    """A place a finding would have been reported at, kept out of the findings by a baseline entry or
    an inline allow marker: counted and listed in every report, so no exception is silent.

    It carries the redacted secret only: a suppression is shown to anyone who reads the report.
    """

    by: str  # baseline | allow_marker
    rule_id: str
    secret: str  # redacted form
    fingerprint: str
    path: str
    line: int
    column: int
    commit: str | None = None
    source: str = ""  # the baseline (and the revision it was read from), or the marker

    def __post_init__(self) -> None:
        if not self.path.isascii():  # same escaped name as the findings' locations
            object.__setattr__(self, "path", printable_name(self.path))


SUPPRESSED_BY = ("baseline", "allow_marker")


@dataclass
class Report:
    """Everything a report renderer needs; renderers never compute findings themselves."""

    findings: list[Finding]
    targets: list[str] = field(default_factory=list)
    mode: str = "files"  # files | history | staged | stdin | range | sweep
    warnings: list[str] = field(default_factory=list)
    # content that could not be scanned at all: the scan is incomplete, so gates exit 2
    errors: list[str] = field(default_factory=list)
    stats: ScanStats = field(default_factory=ScanStats)
    repository: dict | None = None  # e.g. {"path":..., "shallow": bool, "bare": bool, "head": sha}
    tool_version: str = "0.1.0"
    settings: SettingsSummary | None = None  # which settings files were used, what they skipped
    # scan --jenkins-home: the home and its stored credentials; scan-jenkins: what the crawl read
    inventory: HomeInventory | CrawlInventory | None = None
    # baseline entries and inline allow markers that kept a place out of ``findings``
    suppressed: list[Suppressed] = field(default_factory=list)

    def __post_init__(self) -> None:
        # messages and targets quote file names: keep them writable whatever bytes the names hold
        self.targets = [printable_name(t) for t in self.targets]
        self.warnings = [printable_name(w) for w in self.warnings]
        self.errors = [printable_name(e) for e in self.errors]
        if self.repository:
            self.repository = {k: printable_name(v) if isinstance(v, str) else v for k, v in self.repository.items()}
