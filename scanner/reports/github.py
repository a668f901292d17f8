"""GitHub Actions: workflow-command annotations, and the Markdown job summary beside them.

``jts scan --format github`` in a workflow step prints one ``::error file=...,line=...::`` line per
place a token was found (the pull request diff shows it in place), and appends the Markdown
summary (``scanner.reports.markdown``) to ``$GITHUB_STEP_SUMMARY`` when the runner sets it.

Values are escaped as GitHub's toolkit does (``@actions/core``'s ``escapeData`` and
``escapeProperty``): ``%``, CR and LF in a message; those and ``:`` and ``,`` in a property, so a
file name cannot end a property, add one, or start a second command on a new line. The report is
made terminal-safe first (``scanner.terminal``): the log viewer renders ANSI sequences.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from scanner.findings import Finding, Location, Report
from scanner.reports import secret_scrubber, sorted_findings, sorted_locations, verification_status
from scanner.reports.sarif import LEVEL, result_message
from scanner.reports import suppressed_view
from scanner.reports.settings_view import changes_of
from scanner.terminal import safe_value

# GitHub shows at most 10 annotations of a kind per step and 50 per job; the rest only clutter the log.
MAX_ANNOTATIONS = 50
COMMAND_LEVEL = {"error": "error", "warning": "warning", "note": "notice"}
ADVICE = "Revoke the token in Jenkins and remove it from the change (see the job summary)."


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def command(level: str, message: str, **properties: str | int | None) -> str:
    """One workflow command line: ``::level key=value,...::message``."""
    props = ",".join(f"{key}={escape_property(str(value))}" for key, value in properties.items() if value is not None)
    return f"::{level}{' ' + props if props else ''}::{escape_data(message)}"


def render_github(report: Report, *, show_secrets: bool = False) -> str:
    return "".join(line + "\n" for line in annotations(report, show_secrets=show_secrets))


def annotations(report: Report, *, show_secrets: bool = False, limit: int = MAX_ANNOTATIONS) -> list[str]:
    """Annotation lines: one per finding location (up to ``limit``), errors, settings changes, warnings."""
    scrub = secret_scrubber(report, show_secrets)  # before escaping: a quoted secret is still whole here
    report = safe_value(report)
    lines = [command("error", scrub(f"not scanned: {error}"), title="jts: scan incomplete") for error in report.errors]
    places = [(finding, loc) for finding in sorted_findings(report.findings)
              for loc in (sorted_locations(finding) or [None])]
    for finding, loc in places[:limit]:
        lines.append(finding_annotation(finding, loc, show_secrets, scrub))
    if len(places) > limit:
        lines.append(command("notice", f"{len(places) - limit} more locations are not annotated: see the job "
                                       "summary or the SARIF report", title="jts"))
    for change in changes_of(report):
        level = "error" if change.blocking else "warning"
        lines.append(command(level, scrub(change.message), file=change.path, title="jts: settings change"))
    for item in suppressed_view.sorted_suppressed(report)[:limit]:  # visible in the diff, not counted
        lines.append(command("notice", scrub(suppressed_view.describe(item)), file=scrub(item.path),
                             line=item.line if item.line >= 1 else None, title="jts: suppressed"))
    lines += [command("warning", scrub(warning), title="jts warning") for warning in report.warnings]
    return lines


def finding_annotation(finding: Finding, loc: Location | None, show_secrets: bool, scrub) -> str:  # noqa: ANN001
    status = verification_status(finding)
    level = "error" if status == "live" else COMMAND_LEVEL[LEVEL.get(finding.severity, "warning")]
    message = scrub(f"{result_message(finding, loc, show_secrets)} {ADVICE}")
    title = scrub(f"{finding.title} ({finding.rule_id})")
    if loc is None:
        return command(level, message, title=title)
    line = loc.line if loc.line >= 1 else None
    column = loc.column if line and loc.column >= 1 else None
    end_column = loc.end_column if column and loc.end_column > column else None
    return command(level, message, file=scrub(loc.path), line=line, col=column, endColumn=end_column, title=title)


def write_step_summary(report: Report, *, show_secrets: bool = False, environ: Mapping[str, str] = os.environ,
                       scope: str | None = None) -> Path | None:
    """Append the Markdown summary to ``$GITHUB_STEP_SUMMARY``; None when not in a GitHub Actions step."""
    from scanner.reports.markdown import render_markdown

    target = environ.get("GITHUB_STEP_SUMMARY")
    if not target:
        return None
    text = render_markdown(report, show_secrets=show_secrets, scope=scope)
    path = Path(target)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(text + "\n")
    return path
