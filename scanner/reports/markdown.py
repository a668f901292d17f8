"""Markdown summary: a table of findings and what to do, for any CI that shows Markdown.

GitHub's job summary (``$GITHUB_STEP_SUMMARY``), a GitLab merge request note, a Jenkins build
description. File names, git authors, users and Jenkins answers are written by others, so every
such value goes through ``md_text``: control characters are made visible first (the terminal
escaping of ``scanner.terminal``), then every character that could start or end a Markdown or
GitHub construct is backslash-escaped. A value can therefore never break the table (``|``, a
line break), render HTML or an image, become a link, a mention, emoji or math, or hide text.
Secrets are redacted unless asked, as in every format.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

from scanner.findings import Finding, Location, Report
from scanner.reports import (
    DEFAULT_REMEDIATION,
    has_full_secret,
    secret_scrubber,
    shown_secret,
    sorted_findings,
    sorted_locations,
    verification_status,
)
from scanner.reports import suppressed_view
from scanner.reports.settings_view import changes_of
from scanner.reports.settings_view import summary_line as settings_summary_line
from scanner.terminal import safe

# Structure (|, \), inline code, emphasis, strike-through and math (` * _ ~ $), links, images,
# autolinks, HTML and entities ([ ] ( ) < > ! & : . @), emoji (:), headings and lists (# + -), braces.
_MARKDOWN_ACTIVE = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~$&:@])")
# A job summary is at most 1 MiB: a history scan of a large repository must not overflow it.
MAX_ROWS = 100
MAX_NOTES = 20
SCOPES = {
    "history": "every blob of the git history",
    "range": "what the commits of the range added",
    "staged": "the staged changes",
    "files": "the working tree",
    "stdin": "standard input",
    "sweep": "the history of every repository of the sweep",
}
COLUMNS = ("Rule", "Token", "User", "Location", "Commit", "Verdict")

WHAT_TO_DO = (
    "**Revoke** each token in Jenkins (the user's *Security* page, *API Token*, *Revoke*): once pushed, "
    "treat it as leaked, even after the commit is removed. `jts scan --verify` tells which ones still work, "
    "`jts revoke` revokes them.",
    "**Remove** it from the change: read it from a credentials store (Jenkins credentials, a CI secret) "
    "instead. A token in a commit stays in the history until the branch is rewritten (`git rebase -i`).",
    "**Not a secret?** Put `jts:allow` on its line, or record it in a baseline (`jts baseline create`, "
    "then `--baseline .secrets.baseline`): a gate reads the baseline from the base of the change, so a new "
    "entry counts once it is reviewed and merged.",
)


@dataclass(frozen=True)
class Row:
    rule: str
    token: str
    user: str
    location: str
    commit: str
    verdict: str


def md_text(value: object) -> str:
    """Text from outside, shown literally in Markdown: one line, no construct of its own."""
    return _MARKDOWN_ACTIVE.sub(r"\\\1", safe(value))


def counted(finding: Finding, fail_on: str) -> bool:
    """Does ``--fail-on`` count this finding? (The same rule as ``scanner.cli.exit_code``.)"""
    status = verification_status(finding)
    if fail_on == "any":
        return True
    if fail_on == "live":
        return status == "live"
    if fail_on == "unknown":
        return status in ("live", "unknown", "not_verified")
    return False


def gate_fails(report: Report) -> bool:
    """Whether the report fails its gate: an incomplete scan, a counted finding, a loosening settings change."""
    fail_on = report.settings.fail_on if report.settings else "any"
    blocking = bool(report.settings and report.settings.blocking)
    return bool(report.errors) or blocking or any(counted(f, fail_on) for f in report.findings)


def render_markdown(report: Report, *, show_secrets: bool = False, title: str = "jts",
                    scope: str | None = None, max_rows: int = MAX_ROWS) -> str:
    """The summary as Markdown; ``scope`` (already Markdown, ours) says what was scanned."""
    findings = sorted_findings(report.findings)
    lines = [f"### {title}: {headline(report, findings)}", ""]
    lines += [scanned_line(report, scope), ""]
    rows = [row for finding in findings for row in finding_rows(finding, show_secrets, report.mode == "sweep")]
    if rows:
        lines += table(rows[:max_rows])
        if len(rows) > max_rows:
            lines.append(f"\n{len(rows) - max_rows} more locations are not shown here: see the full report "
                         "(SARIF, JSON).")
        lines += ["", "#### What to do", ""]
        lines += [f"{n}. {step}" for n, step in enumerate(WHAT_TO_DO, start=1)]
        lines += [""] + remediation_lines(findings)
    lines += errors_section(report) + suppressed_view.markdown_lines(report, md_text)
    lines += settings_section(report) + warnings_section(report)
    scrub = markdown_scrubber(report, show_secrets)
    return "".join(scrub(line) + "\n" for line in lines).rstrip("\n") + "\n"


def markdown_scrubber(report: Report, show_secrets: bool) -> Callable[[str], str]:
    """``secret_scrubber`` for Markdown: a secret quoted in free text is escaped by then
    (``letmein-x`` became ``letmein\\-x``), so its escaped form is redacted too."""
    plain = secret_scrubber(report, show_secrets)
    if show_secrets:
        return plain
    pairs = [(md_text(f.secret), md_text(f.redacted)) for f in report.findings
             if has_full_secret(f) and len(f.secret) >= 8]
    pairs.sort(key=lambda pair: len(pair[0]), reverse=True)  # longest first, in case one contains another

    def scrub(text: str) -> str:
        text = plain(text)
        for escaped, redacted in pairs:
            text = text.replace(escaped, redacted)
        return text

    return scrub


def headline(report: Report, findings: list[Finding]) -> str:
    if report.errors:
        count = len(report.errors)
        return f"scan incomplete, {count} item{'s' if count != 1 else ''} could not be scanned (the gate fails)"
    fail_on = report.settings.fail_on if report.settings else "any"
    hidden = f" ({suppressed_view.headline(report)})" if report.suppressed else ""
    if not findings:
        if report.settings and report.settings.blocking:
            return f"no Jenkins credentials found{hidden}, but a settings change fails the gate"
        return f"no Jenkins credentials found{hidden}"
    noun = "credential" if len(findings) == 1 else "credentials"
    failing = sum(counted(f, fail_on) for f in findings)
    if failing:
        return f"{len(findings)} Jenkins {noun} found{hidden}, the gate fails (`--fail-on {fail_on}`)"
    return f"{len(findings)} Jenkins {noun} found{hidden}, none fails the gate (`--fail-on {fail_on}`)"


def scanned_line(report: Report, scope: str | None) -> str:
    stats = report.stats
    amount = (f"{stats.blobs} blob{'s' if stats.blobs != 1 else ''}" if stats.blobs
              else f"{stats.files} file{'s' if stats.files != 1 else ''}")
    what = scope or SCOPES.get(report.mode, f"mode {md_text(report.mode)}")
    text = f"Scanned {what}: {amount} in {stats.seconds:.2f} s (jts {md_text(report.tool_version)})."
    if report.repository and report.repository.get("shallow"):
        text += (" **Shallow clone:** commits before its boundary were not scanned "
                 "(check out with `fetch-depth: 0`, or `git fetch --unshallow`).")
    return text


def finding_rows(finding: Finding, show_secrets: bool, with_repo: bool = False) -> list[Row]:
    secret, _ = shown_secret(finding, show_secrets)
    return [Row(rule=md_text(finding.rule_id), token=md_text(secret), user=md_text(finding.user or "?"),
                location=location_cell(loc, with_repo), commit=commit_cell(loc), verdict=verdict_cell(finding))
            for loc in (sorted_locations(finding) or [None])]


def location_cell(loc: Location | None, with_repo: bool = False) -> str:
    """``path:line``, relative to the repository; a sweep spans repositories, so it names them."""
    if loc is None:
        return "?"
    place = f"{loc.path}:{loc.line}" if loc.line >= 1 else loc.path
    return md_text(f"{loc.repo}: {place}" if with_repo and loc.repo else place)


def commit_cell(loc: Location | None) -> str:
    if loc is None:
        return ""
    if loc.commit:
        text = md_text(loc.commit[:10])
        if loc.author:
            text += f" by {md_text(loc.author)}"
        return text + (" (history only)" if loc.in_head is False else "")
    return {"staged": "staged", "stdin": "stdin"}.get(loc.source, "working tree")


def verdict_cell(finding: Finding) -> str:
    status = verification_status(finding)
    v = finding.verification
    text = "**LIVE**" if status == "live" else status.replace("_", " ")
    if status == "live" and v and v.authenticated_as:
        text += f" (as {md_text(v.authenticated_as)})"
    elif v and v.reason:
        text += f" ({md_text(v.reason)})"
    if finding.revocation:
        text += f", {finding.revocation.status.replace('_', ' ')}"
    return text


def table(rows: list[Row]) -> list[str]:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + " --- |" * len(COLUMNS)]
    for row in rows:
        cells = (row.rule, row.token, row.user, row.location, row.commit, row.verdict)
        lines.append("| " + " | ".join(cell or " " for cell in cells) + " |")
    return lines


def remediation_lines(findings: list[Finding]) -> list[str]:
    """One advice line per rule, from the rule file (prose we ship, still escaped: rule dirs can be anyone's)."""
    seen: dict[str, str] = {}
    for finding in findings:
        seen.setdefault(finding.rule_id, " ".join((finding.remediation or DEFAULT_REMEDIATION).split()))
    return [f"- {md_text(rule)}: {md_text(advice)}" for rule, advice in seen.items()]


def errors_section(report: Report) -> list[str]:
    if not report.errors:
        return []
    lines = ["", "#### Not scanned: the scan is incomplete", "",
             "What could not be read may hold a token, so the gate fails (exit code 2) whatever `--fail-on` says.", ""]
    lines += [f"- {md_text(error)}" for error in report.errors[:MAX_NOTES]]
    if len(report.errors) > MAX_NOTES:
        lines.append(f"- and {len(report.errors) - MAX_NOTES} more (see the log)")
    return lines


def settings_section(report: Report) -> list[str]:
    lines: list[str] = []
    for change in changes_of(report):
        effect = ("it loosens the scan and fails the gate until reviewed and merged on its own"
                  if change.blocking else "informational")
        lines.append(f"- **Settings change** ({effect}): {md_text(change.message)}")
    summary = settings_summary_line(report.settings)
    if summary:
        lines.append(md_text(summary))
    return ["", *lines] if lines else []


def warnings_section(report: Report) -> list[str]:
    if not report.warnings:
        return []
    count = len(report.warnings)
    lines = ["", f"<details><summary>{count} warning{'s' if count != 1 else ''}</summary>", ""]
    lines += [f"- {md_text(warning)}" for warning in report.warnings[:MAX_NOTES]]
    if count > MAX_NOTES:
        lines.append(f"- and {count - MAX_NOTES} more (see the log)")
    return lines + ["", "</details>"]
