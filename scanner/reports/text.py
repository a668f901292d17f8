"""Human-readable report: one block per finding, then a summary line.

Secrets are redacted unless asked; ``color=True`` adds ANSI styles through ``click.style``.
Everything below renders a terminal-safe copy of the report (``scanner.terminal.safe_value``):
every string that came from outside is escaped once, up front, so no line can forget it.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Callable

import click

from scanner.findings import SEVERITIES, Finding, Location, Report, Revocation, Verification
from scanner.jenkins_crawl.places import describe as describe_crawl_path
from scanner.jenkins_home.layout import describe as describe_home_path
from scanner.reports import (
    DEFAULT_REMEDIATION,
    VERIFICATION_STATUSES,
    count_by,
    secret_scrubber,
    shown_secret,
    sorted_findings,
    sorted_locations,
    verification_status,
)
from scanner.terminal import bounded, quoted, safe_value
from scanner.reports import inventory_view
from scanner.reports import suppressed_view
from scanner.reports.settings_view import change_lines
from scanner.reports.settings_view import summary_line as settings_summary_line

Style = Callable[..., str]

SEVERITY_STYLE: dict[str, dict] = {
    "critical": {"fg": "red", "bold": True},
    "high": {"fg": "red"},
    "medium": {"fg": "yellow"},
    "low": {"fg": "cyan"},
    "info": {"fg": "blue"},
}
VERIFICATION_STYLE: dict[str, dict] = {
    "live": {"fg": "red", "bold": True},
    "invalid": {"fg": "green"},
    "unknown": {"fg": "yellow"},
    "not_verified": {"dim": True},
}
REVOCATION_STYLE: dict[str, dict] = {
    "revoked": {"fg": "green"},
    "already_invalid": {"fg": "green"},
    "planned": {"fg": "cyan"},
    "needs_manual": {"fg": "yellow", "bold": True},
    "failed": {"fg": "red", "bold": True},
    "skipped": {"dim": True},
}


def render_text(report: Report, *, show_secrets: bool = False, color: bool = False) -> str:
    if report.mode == "staged":  # pre-commit: a short block message, not the full report
        from scanner.reports.precommit import render_precommit

        return render_precommit(report, show_secrets=show_secrets, color=color)
    report = terminal_report(report)
    style = _styler(color)
    findings = sorted_findings(report.findings)
    lines: list[str] = []
    if not findings and not report.suppressed:
        lines.append(style("No Jenkins credentials found.", fg="green", bold=True))
    elif not findings:  # never a plain "none found" when exceptions hid some
        lines.append(style(f"No Jenkins credentials reported: {suppressed_view.headline(report)}, listed below.",
                           fg="yellow", bold=True))
    for finding in findings:
        lines.extend(finding_lines(finding, style, show_secrets))
        lines.append("")
    settings_changes = change_lines(report, style)  # finding-like: a gate fails on them too
    lines.extend([*settings_changes, ""] if settings_changes else [])
    hidden = suppressed_view.text_lines(report, style)  # a baseline or allow marker kept these out
    lines.extend([*hidden, ""] if hidden else [])
    home = inventory_view.text_lines(report.inventory, show_secrets)  # scan --jenkins-home
    lines.extend([*home, ""] if home else [])
    lines.extend(summary_lines(report, findings))
    scrub = secret_scrubber(report, show_secrets)
    return "".join(scrub(line) + "\n" for line in lines)


def terminal_report(report: Report) -> Report:
    """A copy of the report fit for a terminal: file names, authors, Jenkins answers escaped.

    Remediation is prose from rule files, wrapped over several lines: it is joined into one
    line first, so its line breaks read as spaces rather than as escaped ``\\n``.
    """
    findings = [replace(f, remediation=" ".join(f.remediation.split()) if f.remediation else f.remediation)
                for f in report.findings]
    return safe_value(replace(report, findings=findings))


def _styler(color: bool) -> Style:
    if color:
        return click.style
    return lambda text, **_: text


# --------------------------------------------------------------------------- one finding


def finding_lines(finding: Finding, style: Style, show_secrets: bool) -> list[str]:
    lines = [header_line(finding, style, show_secrets)]
    if finding.verification:
        lines.extend(verification_lines(finding.verification, style))
    if finding.revocation:
        lines.append(revocation_line(finding.revocation, style))
    for loc in sorted_locations(finding):
        lines.append("  " + location_text(loc))
    remediation = " ".join((finding.remediation or DEFAULT_REMEDIATION).split())
    lines.append(f"  Remediation: {remediation}")
    return lines


def header_line(finding: Finding, style: Style, show_secrets: bool) -> str:
    secret, _ = shown_secret(finding, show_secrets)
    label = style(f"[{finding.severity.upper()}]", **SEVERITY_STYLE.get(finding.severity, {}))
    parts = [label, style(finding.title, bold=True), secret]
    owner = _owner(finding)
    if owner:
        parts.append(owner)
    if finding.verification:
        status = verification_status(finding)
        parts.append(style(_status_word(status), **VERIFICATION_STYLE.get(status, {})))
    return " ".join(parts)


def _owner(finding: Finding) -> str | None:
    if finding.user and finding.jenkins_url:
        return f"{finding.user}@{finding.jenkins_url}"
    return finding.user or finding.jenkins_url


def _status_word(status: str) -> str:
    return status.upper() if status == "live" else status.replace("_", " ")


def verification_lines(v: Verification, style: Style) -> list[str]:
    """Details under the header's verdict: why, which Jenkins, and who the token acts as."""
    details = [d for d in (v.reason, f"Jenkins {v.jenkins_version}" if v.jenkins_version else None) if d]
    if v.checked_at:
        details.append(f"checked {v.checked_at}")
    lines = []
    if details:
        verdict = style(_status_word(v.status), **VERIFICATION_STYLE.get(v.status, {}))
        lines.append(f"  Verification: {verdict} ({', '.join(details)})")
    if v.status == "live":
        # Same wording as Jenkins' own `who-am-i` CLI command, which operators already know.
        # Jenkins' words: bounded, so no padding wraps into a line of the report
        lines.append(f"    Authenticated as: {bounded(v.authenticated_as or v.user or '?')}")
        lines.append("    Authorities:")
        lines.extend(f"      {bounded(authority, 200)}" for authority in v.authorities)
    return lines


def revocation_line(r: Revocation, style: Style) -> str:
    line = f"  Revocation: {style(r.status.replace('_', ' '), **REVOCATION_STYLE.get(r.status, {}))}"
    details = []
    if r.token_name or r.token_uuid:
        name = quoted(r.token_name) if r.token_name else ""  # chosen by whoever holds the token
        details.append(f"token {name}{f' [{bounded(r.token_uuid, 40)}]' if r.token_uuid else ''}".rstrip())
    if r.actor:
        details.append(f"by {r.actor}")
    if r.at:
        details.append(f"at {r.at}")
    if r.reason:
        details.append(r.reason)
    if details:
        line += f" ({', '.join(details)})"
    if r.manual_url:
        line += f"; revoke by hand at {r.manual_url}"
    return line


def location_text(loc: Location) -> str:
    place = f"{loc.path}:{loc.line}:{loc.column}"
    if loc.repo:
        place = f"{loc.repo}: {place}"
    parts = [place]
    if loc.commit:
        who = loc.author or "?"
        if loc.email:
            who += f" <{loc.email}>"
        parts.append(f"commit {loc.commit[:10]} {who}")
        if loc.date:
            parts.append(loc.date)
    elif loc.source == "jenkins-home":
        parts.append(f"({describe_home_path(loc.path)})")
    elif loc.source == "jenkins" and describe_crawl_path(loc.path):
        parts.append(f"({describe_crawl_path(loc.path)})")
    elif loc.source not in ("file", "history"):
        parts.append(f"({loc.source})")
    if loc.in_head is True:
        parts.append("(in HEAD)")
    elif loc.in_head is False:
        parts.append("(history only)")
    return " ".join(parts)


# --------------------------------------------------------------------------- summary


def summary_lines(report: Report, findings: list[Finding]) -> list[str]:
    stats = report.stats
    parts = []
    if stats.files or not stats.blobs:
        parts.append(f"{stats.files} file{'s' if stats.files != 1 else ''}")
    if stats.blobs:
        parts.append(f"{stats.blobs} blob{'s' if stats.blobs != 1 else ''}")
    scanned = " / ".join(parts)
    timing = f"{stats.seconds:.2f} s"
    if findings:
        severities = count_by((f.severity for f in findings), SEVERITIES)
        breakdown = ", ".join(f"{n} {sev}" for sev, n in severities.items() if n)
        noun = "finding" if len(findings) == 1 else "findings"
        lines = [f"{len(findings)} {noun} ({breakdown}) in {scanned}, {timing}"]
        verified = count_by((verification_status(f) for f in findings), VERIFICATION_STATUSES)
        if verified["not_verified"] != len(findings):
            lines.append("Verification: " + ", ".join(f"{n} {_status_word(s)}" for s, n in verified.items() if n))
    else:
        lines = [f"Scanned {scanned} ({_size(stats.bytes)}) in {timing}"]
    if stats.skipped_binary:  # not skipped: read as bytes (key files) and as their printable text
        lines.append(f"Binary: {stats.skipped_binary} (scanned as bytes and as their text)")
    if stats.skipped_large:
        lines.append(f"Skipped: {stats.skipped_large} too large")
    if report.warnings:
        lines.append(f"{len(report.warnings)} warning{'s' if len(report.warnings) != 1 else ''}")
    if report.errors:
        count = len(report.errors)
        lines.append(f"INCOMPLETE: {count} item{'s' if count != 1 else ''} could not be scanned (see the errors)")
    hidden = suppressed_view.headline(report)
    if hidden:
        lines.append(f"Suppressed: {hidden}")
    settings = settings_summary_line(report.settings)
    if settings:
        lines.append(settings)
    return lines


def _size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"
