"""The sweep state: a SQLite file that makes a sweep resumable and holds its consolidated result.

It stores targets, one row per repository (status, ref-tips digest, counters, error), every
occurrence of every secret as fingerprint + redacted form + location, and the verdicts. Full
secret values are never written here (see docs/sweep.md, "What the state file holds").
Only the coordinator writes; each repository's result is committed as soon as it arrives, so a
crash loses at most the repositories being scanned at that moment.
"""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
from collections.abc import Iterable
from dataclasses import asdict, dataclass, fields
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from scanner.findings import (
    Finding,
    Location,
    Revocation,
    Verification,
    fingerprint_of,
    redact,
)
from scanner.redaction import KnownSecrets
from scanner.reports import scrub_tree

if TYPE_CHECKING:
    from scanner.detect import Hit
    from scanner.sweep.targets import RepoTarget
    from scanner.sweep.task import RepoOutcome

SCHEMA_VERSION = 1
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS targets (target TEXT PRIMARY KEY, added_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS repos (
    key TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    target TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',  -- pending | running | done | error
    tips TEXT,                               -- ref-tips digest of the last complete scan
    rules TEXT,                              -- rules digest that scan used
    head TEXT, bare INTEGER, shallow INTEGER, local_path TEXT,
    scans INTEGER NOT NULL DEFAULT 0,        -- completed history scans over the sweep's life
    skips INTEGER NOT NULL DEFAULT 0,        -- runs that found the tips unchanged and did not rescan
    failures INTEGER NOT NULL DEFAULT 0,
    blobs INTEGER NOT NULL DEFAULT 0, bytes INTEGER NOT NULL DEFAULT 0,
    skipped_large INTEGER NOT NULL DEFAULT 0, skipped_binary INTEGER NOT NULL DEFAULT 0,
    seconds REAL NOT NULL DEFAULT 0,
    error TEXT, warnings TEXT NOT NULL DEFAULT '[]', updated_at TEXT
);
CREATE TABLE IF NOT EXISTS occurrences (
    repo TEXT NOT NULL, rule_id TEXT NOT NULL, fingerprint TEXT NOT NULL, redacted TEXT NOT NULL,
    user TEXT, jenkins_url TEXT, confidence TEXT NOT NULL, location TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS occurrences_repo ON occurrences (repo);
CREATE TABLE IF NOT EXISTS tokens (
    rule_id TEXT NOT NULL, fingerprint TEXT NOT NULL, verification TEXT, revocation TEXT,
    PRIMARY KEY (rule_id, fingerprint)
);
-- scan-jenkins: per job, the last build scanned and the config.xml digest (nodes and views as the jobs
-- "/computer/<name>", "/view/<name>", config digest only); occurrences per part
-- ("config", or "build:<n>") so a changed config or a re-read build replaces only its own
CREATE TABLE IF NOT EXISTS jenkins_jobs (
    jenkins TEXT NOT NULL, job TEXT NOT NULL, last_build INTEGER, config_digest TEXT, rules TEXT,
    updated_at TEXT, PRIMARY KEY (jenkins, job)
);
CREATE TABLE IF NOT EXISTS jenkins_occurrences (
    jenkins TEXT NOT NULL, job TEXT NOT NULL, part TEXT NOT NULL, rule_id TEXT NOT NULL,
    fingerprint TEXT NOT NULL, redacted TEXT NOT NULL, user TEXT, jenkins_url TEXT, confidence TEXT NOT NULL,
    location TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS jenkins_occurrences_job ON jenkins_occurrences (jenkins, job, part);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT, started_at TEXT NOT NULL, finished_at TEXT, status TEXT NOT NULL
);
"""

_LOCATION_KEYS = {f.name for f in fields(Location)}


class StateError(Exception):
    """The state file cannot be used (locked by another sweep, not a sweep state, unreadable)."""


def now() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


@dataclass(frozen=True)
class Occurrence:
    """One place a secret was found, as stored: never the secret itself."""

    repo: str
    rule_id: str
    fingerprint: str
    redacted: str
    user: str | None
    jenkins_url: str | None
    confidence: str
    location: Location


@dataclass
class RepoRow:
    key: str
    kind: str
    target: str
    status: str
    tips: str | None
    rules: str | None
    head: str | None
    bare: bool | None
    shallow: bool | None
    local_path: str | None
    scans: int
    skips: int
    failures: int
    blobs: int
    bytes: int
    skipped_large: int
    skipped_binary: int
    seconds: float
    error: str | None
    warnings: list[str]
    updated_at: str | None


def _is_sweep_state(conn: sqlite3.Connection) -> bool:
    has_meta = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").fetchone()
    return bool(has_meta) and conn.execute("SELECT 1 FROM meta WHERE key = 'schema_version'").fetchone() is not None


class SweepState:
    def __init__(self, path: Path, conn: sqlite3.Connection, lock_fd: int):
        self.path = path
        self.conn = conn
        self._lock_fd = lock_fd
        self.run_id: int | None = None
        # every stored string passes through it: a token may also sit in a path, a URL or a warning
        self.known = KnownSecrets()
        self._stored = False  # rows were written this run
        self._late = False  # ... and a secret was learnt after them, which they may hold

    @classmethod
    def open(cls, path: Path, continuing: bool = False) -> SweepState:
        """Open (or create) the state and lock it: two sweeps must not share one state.

        ``continuing``: no targets were given, so the file must be an earlier sweep's state (an
        empty or foreign file would otherwise become a new, empty sweep that "found nothing").
        """
        path = path.expanduser()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            lock_fd = os.open(f"{path}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise StateError(f"{path}: cannot create the sweep state: {exc.strerror or exc}") from None
        try:
            fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.pread(lock_fd, 32, 0).decode("ascii", "replace").strip()
            os.close(lock_fd)
            held_by = f" (process {holder})" if holder.isdigit() else ""
            raise StateError(f"{path}: another sweep is using this state file{held_by}; wait for it or pass "
                             "another --state") from None
        # who holds it, for the message above: the lock dies with its holder, this is only a name
        os.ftruncate(lock_fd, 0)
        os.pwrite(lock_fd, str(os.getpid()).encode(), 0)
        try:
            conn = sqlite3.connect(str(path), isolation_level=None, timeout=30)
            if continuing and not _is_sweep_state(conn):
                conn.close()
                os.close(lock_fd)
                raise StateError(f"{path}: not the state of an earlier sweep; give the TARGETs to sweep")
            conn.execute("PRAGMA journal_mode=WAL")  # readers (a watching operator, tests) never block us
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA secure_delete=ON")  # a row replaced or scrubbed leaves no old bytes in the file
            conn.executescript(SCHEMA)
            os.chmod(path, 0o600)  # fingerprints and paths only, but still incident data
            state = cls(path, conn, lock_fd)
            state._check_version()
            state.known.add_fingerprints(state._stored_fingerprints())
        except sqlite3.DatabaseError as exc:
            os.close(lock_fd)
            raise StateError(f"{path}: not a jts sweep state ({exc})") from None
        return state

    @property
    def lock_fd(self) -> int:
        return self._lock_fd

    def close(self) -> None:
        try:
            self.rescrub()
        finally:
            self.conn.close()
            os.close(self._lock_fd)

    # ------------------------------------------------------------------ secrets never stored

    def _stored_fingerprints(self) -> set[str]:
        return {r[0] for r in self.conn.execute(
            "SELECT fingerprint FROM occurrences UNION SELECT fingerprint FROM jenkins_occurrences")}

    def learn(self, secrets: Iterable[str]) -> None:
        """Secrets this run holds: stored text is scrubbed of them (rows written before, at ``rescrub``)."""
        if self.known.add_all(secrets) and self._stored:
            self._late = True

    def _scrub(self, text: str | None) -> str | None:
        return None if text is None else self.known.scrub(text)

    def _location_json(self, loc: Location) -> str:
        return json.dumps({k: self._scrub(v) if isinstance(v, str) else v for k, v in asdict(loc).items()},
                          sort_keys=True)

    def _json(self, value: object) -> str:
        return json.dumps(scrub_tree(value, self.known.scrub), sort_keys=True)

    def _loaded(self, stored: str) -> dict:
        return scrub_tree(json.loads(stored), self.known.scrub)

    def rescrub(self) -> None:
        """Scrub rows written this run of secrets learnt after they were written (a token of repository B
        in repository A's file path, A recorded first); a no-op when there are none."""
        if not self._late:
            return
        with self.conn:
            for table, columns in (("occurrences", ("user", "jenkins_url", "location")),
                                   ("jenkins_occurrences", ("user", "jenkins_url", "location")),
                                   ("repos", ("error", "warnings")), ("tokens", ("verification", "revocation"))):
                self._rescrub_table(table, columns)
        self._late = False

    def _rescrub_table(self, table: str, columns: tuple[str, ...]) -> None:
        listed = ", ".join(columns)
        changed = []
        for rowid, *values in self.conn.execute(f"SELECT rowid, {listed} FROM {table}").fetchall():
            scrubbed = [self._scrub(v) for v in values]
            if scrubbed != values:
                changed.append((*scrubbed, rowid))
        assignments = ", ".join(f"{c} = ?" for c in columns)
        self.conn.executemany(f"UPDATE {table} SET {assignments} WHERE rowid = ?", changed)

    def __enter__(self) -> SweepState:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _check_version(self) -> None:
        found = self.get_meta("schema_version")
        if found is None:
            self.set_meta("schema_version", str(SCHEMA_VERSION))
            self.set_meta("created_at", now())
        elif found != str(SCHEMA_VERSION):
            raise StateError(f"{self.path}: sweep state version {found}, this jts reads {SCHEMA_VERSION}")

    # ------------------------------------------------------------------ meta, runs, targets

    def get_meta(self, key: str) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        self.conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    def delete_meta(self, key: str) -> None:
        self.conn.execute("DELETE FROM meta WHERE key = ?", (key,))

    def begin_run(self) -> int:
        cur = self.conn.execute("INSERT INTO runs (started_at, status) VALUES (?, 'running')", (now(),))
        self.run_id = int(cur.lastrowid or 0)
        return self.run_id

    def end_run(self, status: str) -> None:
        if self.run_id is not None:
            self.conn.execute("UPDATE runs SET finished_at = ?, status = ? WHERE id = ?", (now(), status, self.run_id))

    def add_targets(self, targets: list[str]) -> None:
        with self.conn:
            self.conn.executemany("INSERT OR IGNORE INTO targets (target, added_at) VALUES (?, ?)",
                                  [(t, now()) for t in targets])

    def targets(self) -> list[str]:
        return [r[0] for r in self.conn.execute("SELECT target FROM targets ORDER BY rowid")]

    # ------------------------------------------------------------------ repositories

    def register(self, repos: list[RepoTarget]) -> None:
        with self.conn:
            self.conn.executemany(
                "INSERT INTO repos (key, kind, target, updated_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (key) DO UPDATE SET kind = excluded.kind, target = excluded.target",
                [(r.key, r.kind, r.target, now()) for r in repos])

    def previous_tips(self, key: str, rules: str) -> str | None:
        """The tips digest a rescan can be skipped for: only after a complete scan with the same rules."""
        row = self.conn.execute("SELECT status, tips, rules FROM repos WHERE key = ?", (key,)).fetchone()
        if row and row[0] == "done" and row[2] == rules:
            return row[1]
        return None

    def mark_running(self, keys: list[str]) -> None:
        with self.conn:
            self.conn.executemany("UPDATE repos SET status = 'running', updated_at = ? WHERE key = ?",
                                  [(now(), k) for k in keys])

    def reset_running(self) -> None:
        """Repositories left 'running' by an interrupted or crashed run are simply pending again."""
        self.conn.execute("UPDATE repos SET status = 'pending' WHERE status = 'running'")

    def record(self, outcome: RepoOutcome, rules: str) -> None:
        """Store one repository's outcome and, for a fresh scan, replace its occurrences; one transaction."""
        self.learn(hit.secret for hit, _loc in outcome.hits)
        self._stored = True
        warnings = self._json(outcome.warnings)
        current = f"current_at:{outcome.key}"  # when its findings were last known to be current
        with self.conn:
            if outcome.status == "error":
                since = self.get_meta(current)
                # its earlier findings stay in the report: say they may be out of date, and since when
                error = self._scrub(f"stale since {since}: {outcome.error}" if since else outcome.error)
                self.conn.execute(
                    "UPDATE repos SET status = 'error', error = ?, warnings = ?, failures = failures + 1, "
                    "seconds = ?, updated_at = ? WHERE key = ?",
                    (error, warnings, outcome.seconds, now(), outcome.key))
                return
            self.set_meta(current, now())
            common = (outcome.tips, rules, outcome.head, outcome.bare, outcome.shallow, outcome.local_path)
            if outcome.status == "unchanged":
                self.conn.execute(
                    "UPDATE repos SET status = 'done', error = NULL, skips = skips + 1, tips = ?, rules = ?, "
                    "local_path = ?, updated_at = ? WHERE key = ?",
                    (outcome.tips, rules, outcome.local_path, now(), outcome.key))
                return
            self.conn.execute(
                "UPDATE repos SET status = 'done', error = NULL, scans = scans + 1, tips = ?, rules = ?, head = ?, "
                "bare = ?, shallow = ?, local_path = ?, blobs = ?, bytes = ?, skipped_large = ?, "
                "skipped_binary = ?, seconds = ?, warnings = ?, updated_at = ? WHERE key = ?",
                (*common, outcome.blobs, outcome.bytes, outcome.skipped_large, outcome.skipped_binary,
                 outcome.seconds, warnings, now(), outcome.key))
            self.conn.execute("DELETE FROM occurrences WHERE repo = ?", (outcome.key,))
            self.conn.executemany(
                "INSERT INTO occurrences (repo, rule_id, fingerprint, redacted, user, jenkins_url, confidence, "
                "location) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [(outcome.key, hit.rule_id, fingerprint_of(hit.secret), redact(hit.secret), self._scrub(hit.user),
                  self._scrub(hit.jenkins_url), hit.confidence, self._location_json(loc))
                 for hit, loc in outcome.hits])

    def repos(self, keys: list[str] | None = None) -> list[RepoRow]:
        rows = self.conn.execute("SELECT * FROM repos ORDER BY rowid").fetchall()
        names = [d[0] for d in self.conn.execute("SELECT * FROM repos LIMIT 0").description]
        wanted = set(keys) if keys is not None else None
        out = []
        for row in rows:
            data = dict(zip(names, row))
            if wanted is not None and data["key"] not in wanted:
                continue
            # states written before secrets were scrubbed on the way in: scrubbed on the way out too
            data["warnings"] = [self.known.scrub(w) for w in json.loads(data["warnings"] or "[]")]
            data["error"] = self._scrub(data["error"])
            for flag in ("bare", "shallow"):
                data[flag] = None if data[flag] is None else bool(data[flag])
            out.append(RepoRow(**data))
        if keys is not None:  # callers want their own order (the order targets were resolved in)
            order = {k: i for i, k in enumerate(keys)}
            out.sort(key=lambda r: order[r.key])
        return out

    def occurrences(self, keys: list[str]) -> list[Occurrence]:
        wanted = set(keys)
        out = []
        for repo, rule_id, fp, redacted, user, url, confidence, location in self.conn.execute(
                "SELECT repo, rule_id, fingerprint, redacted, user, jenkins_url, confidence, location "
                "FROM occurrences ORDER BY rowid"):
            if repo in wanted:
                out.append(Occurrence(repo, rule_id, fp, redacted, self._scrub(user), self._scrub(url), confidence,
                                      self._location(location)))
        return out

    def _location(self, stored: str) -> Location:
        return Location(**{k: self._scrub(v) if isinstance(v, str) else v for k, v in json.loads(stored).items()
                           if k in _LOCATION_KEYS})

    def fingerprints(self, key: str) -> set[str]:
        return {r[0] for r in self.conn.execute("SELECT fingerprint FROM occurrences WHERE repo = ?", (key,))}

    # ------------------------------------------------------------------ verdicts

    def verdicts(self) -> dict[tuple[str, str], tuple[Verification | None, Revocation | None]]:
        out = {}
        for rule_id, fp, verification, revocation in self.conn.execute(
                "SELECT rule_id, fingerprint, verification, revocation FROM tokens"):
            v = Verification(**self._loaded(verification)) if verification else None
            r = Revocation(**self._loaded(revocation)) if revocation else None
            out[(rule_id, fp)] = (v, r)
        return out

    def save_verdicts(self, findings: list[Finding]) -> None:
        with self.conn:
            self.conn.executemany(
                "INSERT INTO tokens (rule_id, fingerprint, verification, revocation) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (rule_id, fingerprint) DO UPDATE SET verification = excluded.verification, "
                "revocation = excluded.revocation",
                [(f.rule_id, f.fingerprint, self._json(asdict(f.verification)) if f.verification else None,
                  self._json(asdict(f.revocation)) if f.revocation else None)
                 for f in findings if f.verification or f.revocation])

    # ------------------------------------------------------------------ scan-jenkins

    def jenkins_job(self, jenkins: str, job: str, rules: str) -> tuple[int | None, str | None]:
        """(last build scanned, config digest) of a job, as far as they hold for these rules."""
        row = self.conn.execute("SELECT last_build, config_digest, rules FROM jenkins_jobs WHERE jenkins = ? AND job = ?",
                                (jenkins, job)).fetchone()
        if not row or row[2] != rules:  # other rules: what was scanned before may hold more findings now
            return None, None
        return row[0], row[1]

    def record_jenkins_job(self, jenkins: str, job: str, rules: str, last_build: int | None,
                           config_digest: str | None, parts: dict[str, list[tuple[Hit, Location]]]) -> None:
        """One job's progress and the occurrences of the parts read now (each replacing its earlier
        ones); one transaction, so an interrupted crawl resumes after the last job it recorded."""
        self.learn(hit.secret for hits in parts.values() for hit, _loc in hits)
        self._stored = True
        with self.conn:
            self.conn.execute(
                "INSERT INTO jenkins_jobs (jenkins, job, last_build, config_digest, rules, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (jenkins, job) DO UPDATE SET last_build = excluded.last_build, "
                "config_digest = excluded.config_digest, rules = excluded.rules, updated_at = excluded.updated_at",
                (jenkins, job, last_build, config_digest, rules, now()))
            for part, hits in parts.items():
                self.conn.execute("DELETE FROM jenkins_occurrences WHERE jenkins = ? AND job = ? AND part = ?",
                                  (jenkins, job, part))
                self.conn.executemany(
                    "INSERT INTO jenkins_occurrences (jenkins, job, part, rule_id, fingerprint, redacted, user, "
                    "jenkins_url, confidence, location) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [(jenkins, job, part, hit.rule_id, fingerprint_of(hit.secret), redact(hit.secret),
                      self._scrub(hit.user), self._scrub(hit.jenkins_url), hit.confidence, self._location_json(loc))
                     for hit, loc in hits])

    def jenkins_occurrences(self, jenkins: str) -> list[Occurrence]:
        """Every occurrence recorded for one Jenkins, earlier runs included (``repo`` is the job)."""
        out = []
        for job, rule_id, fp, redacted, user, url, confidence, location in self.conn.execute(
                "SELECT job, rule_id, fingerprint, redacted, user, jenkins_url, confidence, location "
                "FROM jenkins_occurrences WHERE jenkins = ? ORDER BY rowid", (jenkins,)):
            out.append(Occurrence(job, rule_id, fp, redacted, self._scrub(user), self._scrub(url), confidence,
                                  self._location(location)))
        return out


# Where an earlier run proved a token dead: the Jenkins its `invalid` verdict asked; None for a
# revoked token (proven live as a user of that Jenkins, then revoked there: dead wherever it was).
Scope = frozenset[str] | None
DEAD = ("revoked", "already_invalid")


def remembered_dead(verdicts: dict[tuple[str, str], tuple[Verification | None, Revocation | None]]
                    ) -> dict[tuple[str, str], Scope]:
    """(rule, fingerprint) of the tokens an earlier run proved dead or revoked, with where that holds."""
    dead: dict[tuple[str, str], Scope] = {}
    for key, (verification, revocation) in verdicts.items():
        if revocation is not None and revocation.status == "revoked":
            dead[key] = None
        elif (verification is not None and verification.status == "invalid") or (
                revocation is not None and revocation.status in DEAD):
            asked = (verification.tried_at or [verification.jenkins_url]) if verification else []
            dead[key] = frozenset(u for u in asked if u)  # states written before tried_at: the one URL kept
    return dead
