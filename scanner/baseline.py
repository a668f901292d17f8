"""Baselines in detect-secrets' ``.secrets.baseline`` format: create, load, apply, update.

One file serves both tools: entries are keyed by path and ``hashed_secret`` (SHA-1 of the secret,
as detect-secrets computes it), so a team already on detect-secrets keeps its baseline and
``detect-secrets audit`` reads ours. Entries of other types (their plugins) are never touched,
except that entries for files that no longer exist are pruned on update, as detect-secrets does.

Matching ignores line numbers on purpose: a baselined token stays suppressed when code moves.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath
from typing import Any

import click

from scanner.findings import Finding, Location, Suppressed, posix_path

DETECT_SECRETS_VERSION = "1.5.0"  # baseline layout we write when no detect-secrets is importable
PLUGIN_MODULE = "scanner.plugins.detect_secrets_jenkins"

# detect-secrets secret types of our rules; the plugin module defines one detector class each.
SECRET_TYPES: dict[str, str] = {
    "api_token": "Jenkins API Token",
    "legacy_api_token": "Jenkins Legacy API Token",
    "agent_secret": "Jenkins Agent Secret",
    "build_trigger_token": "Jenkins Build Trigger Token",
    "initial_admin_password": "Jenkins Initial Admin Password",
    "jenkins_secret_store": "Jenkins Secret Store Key",
}
GENERIC_TYPE = "Jenkins Credential"  # rules from extra rule directories
PLUGIN_CLASSES: dict[str, str] = {
    "Jenkins API Token": "JenkinsApiTokenDetector",
    "Jenkins Legacy API Token": "JenkinsLegacyApiTokenDetector",
    "Jenkins Agent Secret": "JenkinsAgentSecretDetector",
    "Jenkins Build Trigger Token": "JenkinsBuildTriggerTokenDetector",
    "Jenkins Initial Admin Password": "JenkinsInitialAdminPasswordDetector",
    "Jenkins Secret Store Key": "JenkinsSecretStoreKeyDetector",
    GENERIC_TYPE: "JenkinsCredentialDetector",
}
OUR_TYPES = frozenset(PLUGIN_CLASSES)

# What `detect-secrets scan` writes as filters_used by default (1.5.0), for a brand-new file.
DEFAULT_FILTERS: tuple[dict[str, Any], ...] = (
    {"path": "detect_secrets.filters.allowlist.is_line_allowlisted"},
    {"path": "detect_secrets.filters.common.is_ignored_due_to_verification_policies", "min_level": 2},
    {"path": "detect_secrets.filters.heuristic.is_indirect_reference"},
    {"path": "detect_secrets.filters.heuristic.is_likely_id_string"},
    {"path": "detect_secrets.filters.heuristic.is_lock_file"},
    {"path": "detect_secrets.filters.heuristic.is_not_alphanumeric_string"},
    {"path": "detect_secrets.filters.heuristic.is_potential_uuid"},
    {"path": "detect_secrets.filters.heuristic.is_prefixed_with_dollar_sign"},
    {"path": "detect_secrets.filters.heuristic.is_sequential_string"},
    {"path": "detect_secrets.filters.heuristic.is_swagger_file"},
    {"path": "detect_secrets.filters.heuristic.is_templated_secret"},
)


class BaselineError(click.ClickException):
    """A baseline file is missing, unreadable or not a detect-secrets baseline: one line, exit 2."""

    exit_code = 2

    def show(self, file=None) -> None:  # noqa: ANN001 - click's signature
        from scanner.terminal import safe

        click.echo(f"jts: error: {safe(self.format_message())}", err=True)


@dataclass(frozen=True)
class Occurrence:
    """One secret in one file as a baseline sees it: no line in the identity, only for display."""

    path: str  # posix, relative to the baseline's directory
    hashed_secret: str
    type: str
    line: int


def hash_secret(secret: str) -> str:
    """detect-secrets' ``PotentialSecret.hash_secret``: SHA-1 hex of the UTF-8 secret."""
    return hashlib.sha1(secret.encode("utf-8", "surrogateescape")).hexdigest()


def secret_type(rule_id: str) -> str:
    return SECRET_TYPES.get(rule_id, GENERIC_TYPE)


def plugin_file() -> str:
    """Absolute path of our detect-secrets plugin file (what ``--plugin`` and plugins_used want)."""
    import importlib.util

    spec = importlib.util.find_spec(PLUGIN_MODULE)
    assert spec is not None and spec.origin, PLUGIN_MODULE
    return os.path.abspath(spec.origin)


# --------------------------------------------------------------------------- load


def load_baseline(path: Path) -> dict[str, Any]:
    """Read and sanity-check a baseline; every problem becomes one ``BaselineError`` line."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise BaselineError(f"{path}: baseline not found (create one with `jts baseline create`)") from None
    except OSError as exc:
        raise BaselineError(f"{path}: cannot read baseline: {exc.strerror or exc}") from None
    return parse_baseline(raw, str(path))


def parse_baseline(raw: bytes, label: str) -> dict[str, Any]:
    """A baseline's bytes (a file, or a blob read from git) checked; ``label`` names it in errors."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BaselineError(f"{label}: not a baseline (not UTF-8 text)") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BaselineError(f"{label}: not a baseline (invalid JSON at line {exc.lineno})") from None
    if not isinstance(data, dict) or not isinstance(data.get("results"), dict):
        raise BaselineError(f"{label}: not a detect-secrets baseline (no \"results\" object)")
    for filename, entries in data["results"].items():
        if not isinstance(entries, list) or not all(
            isinstance(e, dict) and isinstance(e.get("hashed_secret"), str) and isinstance(e.get("type"), str)
            for e in entries
        ):
            raise BaselineError(f"{label}: malformed results for {filename!r} (need type and hashed_secret)")
    return data


def suppressions(data: dict[str, Any]) -> set[tuple[str, str]]:
    """(path, hashed_secret) pairs of jts' own entries: only they may suppress a jts finding.

    Entries of detect-secrets' plugins (``Hex High Entropy String``, ``Secret Keyword``...) record a
    verdict on another detector's claim, and ``detect-secrets scan`` writes one for every random
    string, a real Jenkins token included, so they never hide a Jenkins credential.
    """
    return {
        (normalize_path(filename), entry["hashed_secret"])
        for filename, entries in data["results"].items()
        for entry in entries
        if entry["type"] in OUR_TYPES
    }


# --------------------------------------------------------------------------- apply


def apply_baseline(findings: list[Finding], data: dict[str, Any], base: Path,
                   source: str) -> tuple[list[Finding], list[Suppressed]]:
    """Drop the locations recorded in the baseline ``data`` (paths relative to ``base``); drop findings
    left with no location. Every dropped location is returned, to be reported as suppressed."""
    known = suppressions(data)
    cwd = Path.cwd()
    kept: list[Finding] = []
    dropped: list[Suppressed] = []
    for finding in findings:
        digest = hash_secret(finding.secret)
        locations = []
        for loc in finding.locations:
            if any((candidate, digest) in known for candidate in path_candidates(loc, base, cwd)):
                dropped.append(suppressed_at(finding, loc, "baseline", source))
            else:
                locations.append(loc)
        if locations == finding.locations:
            kept.append(finding)
        elif locations:
            kept.append(replace(finding, locations=locations))
    return kept, dropped


def suppressed_at(finding: Finding, loc: Location, by: str, source: str) -> Suppressed:
    return Suppressed(by=by, rule_id=finding.rule_id, secret=finding.redacted, fingerprint=finding.fingerprint,
                      path=loc.path, line=loc.line, column=loc.column, commit=loc.commit, source=source)


def path_candidates(loc: Location, base: Path, cwd: Path) -> set[str]:
    """The names a location may have in a baseline: as reported, and relative to its directory."""
    names = {normalize_path(loc.path)}
    if loc.source in ("file", "stdin"):  # working-tree paths are relative to the current directory
        absolute = Path(loc.path) if os.path.isabs(loc.path) else cwd / loc.path
    elif loc.repo:  # git paths are relative to the repository root
        absolute = Path(loc.repo) / loc.path
    else:
        return names
    rel = relative_to(absolute, base)
    if rel:
        names.add(rel)
    return names


def normalize_path(path: str) -> str:
    posix = posix_path(path)
    return str(PurePosixPath(posix)) if posix else posix


def relative_to(path: Path, base: Path) -> str | None:
    try:
        return normalize_path(os.path.relpath(os.path.abspath(path), os.path.abspath(base)))
    except ValueError:  # another drive on Windows
        return None


# --------------------------------------------------------------------------- create / update


def occurrences(findings: Iterable[Finding], base: Path, cwd: Path) -> list[Occurrence]:
    """One occurrence per (file, secret, type), at its first line, with baseline-relative paths."""
    first: dict[tuple[str, str, str], int] = {}
    for finding in findings:
        digest = hash_secret(finding.secret)
        kind = secret_type(finding.rule_id)
        for loc in finding.locations:
            absolute = Path(loc.path) if os.path.isabs(loc.path) else cwd / loc.path
            name = relative_to(absolute, base) or normalize_path(loc.path)
            key = (name, digest, kind)
            first[key] = min(first.get(key, loc.line), loc.line)
    return [Occurrence(path=p, hashed_secret=h, type=t, line=line) for (p, h, t), line in first.items()]


def create_baseline(found: list[Occurrence], existing: dict[str, Any] | None = None, *,
                    plugin_path: str, version: str = DETECT_SECRETS_VERSION, now: float | None = None) -> dict[str, Any]:
    """A baseline of ``found``; merged into ``existing`` when given.

    Other tools' entries are kept as they are; ours are replaced by ``found``, keeping the audit
    flags (``is_secret``, ``is_verified``) of entries that are found again.
    """
    old = existing or {}
    flags = _flags(old)
    results: dict[str, list[dict[str, Any]]] = {}
    for filename, entries in (old.get("results") or {}).items():
        theirs = [e for e in entries if e.get("type") not in OUR_TYPES]
        if theirs:
            results[filename] = [dict(e) for e in theirs]
    for occ in found:
        results.setdefault(occ.path, []).append(_entry(occ, flags))
    return _document(old, results, plugin_path=plugin_path, version=version, now=now)


def update_baseline(existing: dict[str, Any], found: list[Occurrence], *, existing_files: set[str],
                    plugin_path: str | None = None, now: float | None = None) -> dict[str, Any]:
    """Prune what is gone, refresh line numbers, add nothing new.

    ``found`` is a fresh scan of the files the baseline names; ``existing_files`` the ones of them
    that still exist. Our entries survive only if their secret is still found in that file; other
    tools' entries survive while their file exists.
    """
    lines = {(o.path, o.hashed_secret, o.type): o.line for o in found}
    by_secret = {(o.path, o.hashed_secret): o.line for o in found}
    results: dict[str, list[dict[str, Any]]] = {}
    for filename, entries in existing["results"].items():
        name = normalize_path(filename)
        kept = []
        for entry in entries:
            entry = dict(entry)
            if entry.get("type") in OUR_TYPES:
                line = lines.get((name, entry["hashed_secret"], entry["type"]))
                if line is None:
                    line = by_secret.get((name, entry["hashed_secret"]))  # rule renamed or reclassified
                if line is None:
                    continue
                if entry.get("line_number"):
                    entry["line_number"] = line
            elif name not in existing_files:
                continue
            kept.append(entry)
        if kept:
            results[filename] = kept
    path = plugin_path or recorded_plugin_path(existing) or plugin_file()
    return _document(existing, results, plugin_path=path, version=existing.get("version") or DETECT_SECRETS_VERSION,
                     now=now)


def our_files(data: dict[str, Any]) -> list[str]:
    """Files named in the baseline (all of them: other tools' entries need an existence check)."""
    return sorted(data.get("results") or {})


def _flags(old: dict[str, Any]) -> dict[tuple[str, str, str], dict[str, Any]]:
    flags = {}
    for filename, entries in (old.get("results") or {}).items():
        for e in entries:
            if e.get("type") in OUR_TYPES:
                kept = {k: e[k] for k in ("is_secret", "is_verified") if k in e}
                flags[(normalize_path(filename), e["hashed_secret"], e["type"])] = kept
    return flags


def _entry(occ: Occurrence, flags: dict[tuple[str, str, str], dict[str, Any]]) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "type": occ.type,
        "filename": occ.path,
        "hashed_secret": occ.hashed_secret,
        "is_verified": False,
        "line_number": occ.line,
    }
    entry.update(flags.get((occ.path, occ.hashed_secret, occ.type), {}))
    if entry.get("is_secret") is None:
        entry.pop("is_secret", None)
    return entry


def recorded_plugin_path(data: dict[str, Any]) -> str | None:
    """Keep the plugin path a team chose (e.g. a repo-relative shim), unless it is gone."""
    for plugin in data.get("plugins_used") or []:
        if plugin.get("name") in PLUGIN_CLASSES.values() and str(plugin.get("path", "")).startswith("file://"):
            recorded = plugin["path"][len("file://"):]
            return recorded if os.path.exists(recorded) else None
    return None


def _plugins_used(old: dict[str, Any], plugin_path: str) -> list[dict[str, Any]]:
    ours = set(PLUGIN_CLASSES.values())
    plugins = [dict(p) for p in old.get("plugins_used") or [] if p.get("name") not in ours]
    plugins += [{"name": name, "path": f"file://{plugin_path}"} for name in sorted(ours)]
    return sorted(plugins, key=lambda p: str(p.get("name", "")).lower())  # detect-secrets' order


def _document(old: dict[str, Any], results: dict[str, list[dict[str, Any]]], *, plugin_path: str,
              version: str, now: float | None) -> dict[str, Any]:
    ordered = {
        filename: sorted(entries, key=lambda e: (e.get("line_number", 0), e["hashed_secret"], e["type"]))
        for filename, entries in sorted(results.items())
    }
    doc: dict[str, Any] = {
        "version": old.get("version") or version,
        "plugins_used": _plugins_used(old, plugin_path),
        "filters_used": old.get("filters_used") if "filters_used" in old else [dict(f) for f in DEFAULT_FILTERS],
        "results": ordered,
    }
    extra = {k: v for k, v in old.items() if k not in doc and k != "generated_at"}
    doc.update(extra)  # keep keys a newer detect-secrets may have added
    doc["generated_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))
    return doc


def dump_baseline(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=2) + "\n"  # detect-secrets' own layout, so diffs stay small
