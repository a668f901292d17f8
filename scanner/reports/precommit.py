"""Compact text for ``jts scan --staged``: what a developer sees when a commit is refused.

Like gitleaks' and detect-secrets' hooks: one line per leak (file:line, kind, redacted token),
then the three ways out. The full report's verification and history details are noise here.
Staged file names are the committer's own, but may come from anywhere (a merge, an unpacked
archive): the report is escaped for the terminal first, so a newline cannot split a row.
"""

from __future__ import annotations

from typing import Callable

import click

from dataclasses import replace

from scanner.findings import Report
from scanner.reports import secret_scrubber, shown_secret, sorted_findings, sorted_locations
from scanner.reports import suppressed_view
from scanner.reports.settings_view import precommit_lines as settings_notes

Style = Callable[..., str]

FIX_LINES = (
    "How to fix:",
    "  - remove it: edit the file, read the token from a secret store or env var, `git add` the fix",
    "  - rotate it: revoke the token in Jenkins (user > Security > API Token) if it was ever pushed or shared",
    "  - not a secret? add `jts:allow` to that line, or record it (`jts baseline create`) and commit the baseline on its",
    "    own first: a gate reads the baseline from HEAD (CI: from BASE), so entries staged with the token do not count",
)


def render_precommit(report: Report, *, show_secrets: bool = False, color: bool = False) -> str:
    from scanner.reports.text import terminal_report

    report = terminal_report(report)  # every string from outside, escaped once (see scanner.terminal)
    style: Style = click.style if color else (lambda text, **_: text)
    findings = sorted_findings(report.findings)
    if report.errors:
        # what could not be read may hold a token: refuse rather than wave it through
        count = len(report.errors)
        head = style(f"jts: commit blocked: {count} staged item{'s' if count != 1 else ''} could not be scanned "
                     "(jts: error lines); fix or unstage them, then commit again", fg="red", bold=True)
        if not findings:
            return head + "\n"
        return head + "\n" + render_precommit(_without_errors(report), show_secrets=show_secrets, color=color)
    settings = suppressed_view.text_lines(report, style) + settings_notes(report, style)
    if not findings:
        blocked = report.settings is not None and report.settings.blocking
        head = (style("jts: commit blocked: the staged change loosens the jts settings", fg="red", bold=True)
                if blocked else "jts: no Jenkins credentials staged.")
        return "".join(line + "\n" for line in [head, *settings])
    rows: list[tuple[str, str, str, list[str]]] = []
    for finding in findings:
        secret, _ = shown_secret(finding, show_secrets)
        for loc in sorted_locations(finding) or [None]:
            notes = [f"user {finding.user}"] if finding.user else []
            if loc is not None and loc.in_head:
                notes.append("already committed in HEAD: rotate it")
            rows.append((f"{loc.path}:{loc.line}" if loc else "?", finding.title, secret, notes))
    width = max(len(place) for place, *_ in rows)
    count = len(rows)
    lines = [style(f"jts: commit blocked: {count} Jenkins credential{'s' if count != 1 else ''} staged",
                   fg="red", bold=True)]
    for place, title, secret, notes in rows:
        line = f"  {style(place.ljust(width), bold=True)}  {title}  {secret}"
        lines.append(f"{line}  ({'; '.join(notes)})" if notes else line)
    lines.extend(FIX_LINES)
    lines.extend(settings)
    scrub = secret_scrubber(report, show_secrets)
    return "".join(scrub(line) + "\n" for line in lines)


def _without_errors(report: Report) -> Report:
    return replace(report, errors=[])
