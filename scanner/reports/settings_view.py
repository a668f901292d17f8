"""The settings part of every report: which settings files were used, what their excludes skipped,
and changes to the repository's settings that a gate reports like findings.

One module for all formats, so text, JSON, SARIF and GitLab say the same thing.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any, Callable

from scanner.findings import Report
from scanner.settings_trust import (
    CONFIG,
    REPOSITORY,
    USER,
    SettingsChange,
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
