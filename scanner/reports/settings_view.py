"""The settings part of every report: which settings files were used, what their excludes skipped,
and changes to the repository's settings that a gate reports like findings.

One module for all formats, so text, JSON, SARIF and GitLab say the same thing.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import asdict
from typing import Any, Callable

from scanner.findings import Report
from scanner.settings_trust import (
    CONFIG,
    REPOSITORY,
    USER,
    ExcludeUse,
    SettingsChange,
    SettingsFileUse,
    SettingsSummary,
)

CHANGE_RULE_ID = "settings_change"
CHANGE_TITLE = "Change to the scanner's settings"
CHANGE_HELP = (
    "The change under review edits the repository's jts settings. They are not applied to the change "
    "itself (the trusted side's settings judge it); a change that loosens them fails a --fail-on any "
    "gate until it is reviewed and merged on its own."
)
ORIGIN_WORDS = {USER: "user", CONFIG: "--config", REPOSITORY: "repository"}

Style = Callable[..., str]


def settings_dict(summary: SettingsSummary | None) -> dict[str, Any] | None:
    """The JSON ``settings`` block (also SARIF's run properties); None when the report has none."""
    if summary is None:
        return None
    return {
        "files": [asdict(f) for f in summary.files],
        "repository_settings": summary.repository,
        "repository_revision": summary.revision,
        "fail_on": summary.fail_on,
        "fail_on_from": summary.fail_on_from,
        "exclude": [asdict(e) for e in summary.exclude],
        "skipped": summary.skipped,
        "skipped_unit": summary.skipped_unit,
        "changes": [change_dict(c) for c in summary.changes],
    }


def change_dict(change: SettingsChange) -> dict[str, Any]:
    return {"rule_id": CHANGE_RULE_ID, **asdict(change)}


def changes_of(report: Report) -> list[SettingsChange]:
    return list(report.settings.changes) if report.settings else []


def file_word(summary: SettingsSummary, origin: str) -> str:
    word = ORIGIN_WORDS.get(origin, origin)
    return f"{word}, {summary.repository}" if origin == REPOSITORY else word


def summary_line(summary: SettingsSummary | None) -> str | None:
    """One line for text reports: files used, the gate, and what excludes skipped."""
    if summary is None:
        return None
    used = ", ".join(f"{f.path} ({file_word(summary, f.origin)})" for f in summary.files) or "defaults"
    parts = [f"Settings: {used}"]
    if not any(f.origin == REPOSITORY for f in summary.files):
        parts.append(f"repository settings {summary.repository}")
    parts.append(f"fail-on {summary.fail_on} ({summary.fail_on_from})")
    unit = summary.skipped_unit if summary.skipped != 1 else summary.skipped_unit.removesuffix("s")
    if summary.exclude:
        sources = (summary.exclude[0].source if len(summary.exclude) == 1
                   else "; ".join(f"{e.skipped} by {e.source}" for e in summary.exclude))
        parts.append(f"exclude skipped {summary.skipped} {unit} ({sources})")
    return "; ".join(parts)


def change_lines(report: Report, style: Style) -> list[str]:
    """A finding-like block per settings change (text and pre-commit output)."""
    lines: list[str] = []
    for change in changes_of(report):
        label = style("[SETTINGS]", fg="red" if change.blocking else "yellow", bold=change.blocking)
        lines.append(f"{label} {change.message}")
        if change.blocking:
            lines.append("  This fails the gate (--fail-on any): settings that loosen the scan need a reviewer's "
                         "explicit approval; keep them out of changes that add content")
    return lines


def precommit_lines(report: Report, style: Style) -> list[str]:
    """Pre-commit output stays short: settings changes, and the settings line only when a file was used."""
    lines = change_lines(report, style)
    summary = report.settings
    if summary is not None and (summary.files or summary.changes):
        lines.append(summary_line(summary) or "")
    return lines


# --------------------------------------------------------------------------- SARIF and GitLab


def sarif_rule() -> dict[str, Any]:
    return {
        "id": CHANGE_RULE_ID,
        "name": "SettingsChange",
        "shortDescription": {"text": CHANGE_TITLE},
        "fullDescription": {"text": CHANGE_HELP},
        "help": {"text": CHANGE_HELP, "markdown": CHANGE_HELP},
        "defaultConfiguration": {"level": "warning"},
        "properties": {"tags": ["security", "configuration"], "precision": "high", "problem.severity": "warning"},
    }


def sarif_results(report: Report, rule_index: int,
                  artifact_uri: Callable[[str, dict | None], dict[str, str] | None]) -> list[dict[str, Any]]:
    """One SARIF result per settings change, at the settings file."""
    results = []
    for change in changes_of(report):
        digest = _change_digest(change)
        result: dict[str, Any] = {
            "ruleId": CHANGE_RULE_ID,
            "ruleIndex": rule_index,
            "level": "error" if change.blocking else "warning" if change.loosens else "note",
            "message": {"text": change.message},
        }
        uri = artifact_uri(change.path, report.repository)
        if uri:
            result["locations"] = [{"physicalLocation": {"artifactLocation": uri}}]
        result["partialFingerprints"] = {"jtsSettingsChange/v1": digest, "primaryLocationLineHash": f"{digest[:16]}:1"}
        result["properties"] = {"key": change.key, "before": change.before, "after": change.after,
                                "loosens": change.loosens, "blocking": change.blocking}
        results.append(result)
    return results


def gitlab_vulnerabilities(report: Report, scanner: dict[str, str], commit_sha: str) -> list[dict[str, Any]]:
    """Settings changes that loosen the gate, as GitLab vulnerabilities (the MR widget lists them)."""
    out = []
    for change in changes_of(report):
        if not change.loosens:
            continue  # informational: in scan.messages instead
        out.append({
            "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"jts:{CHANGE_RULE_ID}:{_change_digest(change)}")),
            "category": "secret_detection",
            "name": CHANGE_TITLE,
            "description": change.message,
            "severity": "High" if change.blocking else "Medium",
            "confidence": "High",
            "solution": CHANGE_HELP,
            "raw_source_code_extract": "",
            "scanner": scanner,
            "location": {"file": change.path, "commit": {"sha": commit_sha}},
            "identifiers": [{"type": "jts_rule_id", "name": f"jts rule {CHANGE_RULE_ID}", "value": CHANGE_RULE_ID}],
        })
    return out


def gitlab_messages(report: Report) -> list[dict[str, str]]:
    line = summary_line(report.settings)
    notes = [{"level": "info", "value": line}] if line else []
    return notes + [{"level": "warn", "value": c.message} for c in changes_of(report) if not c.loosens]


def _change_digest(change: SettingsChange) -> str:
    text = json.dumps([change.path, change.key, change.after], sort_keys=True, default=str)
    return hashlib.sha256(f"{CHANGE_RULE_ID}\0{text}".encode()).hexdigest()


def settings_from_dict(data: dict[str, Any] | None) -> SettingsSummary | None:
    """The ``settings`` block of a JSON report, back into a ``SettingsSummary`` (None when absent)."""
    if not isinstance(data, dict):
        return None
    return SettingsSummary(
        files=[SettingsFileUse(**{k: f[k] for k in ("path", "origin", "revision", "applied", "ignored") if k in f})
               for f in data.get("files") or []],
        repository=data.get("repository_settings") or "not read",
        revision=data.get("repository_revision"),
        fail_on=data.get("fail_on") or "any",
        fail_on_from=data.get("fail_on_from") or "default",
        exclude=[ExcludeUse(source=e["source"], patterns=list(e.get("patterns") or []), skipped=e.get("skipped", 0))
                 for e in data.get("exclude") or []],
        skipped_unit=data.get("skipped_unit") or "files",
        changes=[SettingsChange(**{k: c.get(k) for k in ("path", "key", "before", "after", "loosens", "message",
                                                          "blocking")}) for c in data.get("changes") or []],
    )
