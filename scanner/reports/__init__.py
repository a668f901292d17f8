"""Report renderers: turn one ``Report`` value into text, JSON, JSONL, SARIF, GitLab, GitHub or Markdown.

Format modules are imported inside ``render`` so that ``jts --help`` does not pay for them.
The small helpers below are shared by every format so that all of them order, count and
redact findings the same way.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any, Iterable

from scanner.findings import SEVERITIES, Finding, Location, Report
from scanner.redaction import KnownSecrets

FORMATS = ("text", "json", "jsonl", "sarif", "gitlab", "github", "markdown")

TOOL_NAME = "jenkins-token-scanner"

# Used when a rule gave no remediation text of its own.
DEFAULT_REMEDIATION = (
    "Revoke the token in Jenkins (user > Security > API Token), remove it from the file and "
    "from git history, and load it from a credentials store instead."
)

VERIFICATION_STATUSES = ("live", "invalid", "unknown", "not_verified")
REVOCATION_STATUSES = ("revoked", "already_invalid", "needs_manual", "failed", "planned", "skipped")

def render(report: Report, fmt: str, *, show_secrets: bool = False, color: bool = False) -> str:
    """Render ``report`` in ``fmt`` (one of ``FORMATS``); secrets are redacted unless asked."""
    if fmt == "text":
        from scanner.reports import text

        return text.render_text(report, show_secrets=show_secrets, color=color)
    if fmt == "json":
        from scanner.reports import json_report

        return json_report.render_json(report, show_secrets=show_secrets)
    if fmt == "jsonl":
        from scanner.reports import json_report

        return json_report.render_jsonl(report, show_secrets=show_secrets)
    if fmt == "sarif":
        from scanner.reports import sarif

        return sarif.render_sarif(report, show_secrets=show_secrets)
    if fmt == "gitlab":
        from scanner.reports import gitlab

        return gitlab.render_gitlab(report, show_secrets=show_secrets)
    if fmt == "github":
        from scanner.reports import github

        return github.render_github(report, show_secrets=show_secrets)
    if fmt == "markdown":
        from scanner.reports import markdown

        return markdown.render_markdown(report, show_secrets=show_secrets)
    raise ValueError(f"unknown report format {fmt!r}; choose one of {', '.join(FORMATS)}")


def severity_rank(severity: str) -> int:
    """Position in SEVERITIES; unknown severities sort after ``info``."""
    try:
        return SEVERITIES.index(severity)
    except ValueError:
        return len(SEVERITIES)


def sorted_locations(finding: Finding) -> list[Location]:
    return sorted(finding.locations, key=Location.sort_key)


def finding_sort_key(finding: Finding) -> tuple:
    """Severity first, then where it was first seen; rule and fingerprint break ties stably."""
    locations = sorted_locations(finding)
    where = locations[0].sort_key() if locations else ()
    return (severity_rank(finding.severity), where, finding.rule_id, finding.fingerprint)


def sorted_findings(findings: Iterable[Finding]) -> list[Finding]:
    return sorted(findings, key=finding_sort_key)


def finding_id(finding: Finding) -> str:
    """Short id, stable across runs and machines: derived from rule and secret fingerprint only."""
    digest = hashlib.sha256(f"{finding.rule_id}\0{finding.fingerprint}".encode()).hexdigest()
    return f"jts-{digest[:12]}"


def has_full_secret(finding: Finding) -> bool:
    """False for findings loaded from a redacted report (they carry only the redacted form)."""
    return not getattr(finding, "secret_redacted", False)


def shown_secret(finding: Finding, show_secrets: bool) -> tuple[str, bool]:
    """The secret to print and whether it is redacted."""
    if show_secrets and has_full_secret(finding):
        return finding.secret, False
    return finding.redacted, True


def verification_status(finding: Finding) -> str:
    return finding.verification.status if finding.verification else "not_verified"


def count_by(values: Iterable[str], known: Iterable[str] = ()) -> dict[str, int]:
    """Counts with every known key present (zero if absent) so consumers can rely on the keys."""
    counts = {key: 0 for key in known}
    for value in values:
        counts[value] = counts.get(value, 0) + 1
    return counts


def secret_scrubber(report: Report, show_secrets: bool):
    """A function replacing any secret of the report in a string by its redacted form.

    Renderers only ever put redacted secrets in on purpose; this catches free text (reasons,
    warnings, paths, URLs) that happens to quote a token, so the default output never holds one.
    A finding known only in redacted form (resumed sweeps, saved reports) is matched by its
    fingerprint: a token-shaped run hashing to it is redacted too.
    """
    known = report_secrets(report)
    if show_secrets:  # full secrets are shown; one known only redacted stays redacted everywhere
        known = KnownSecrets(fingerprints=known.fingerprints)
    return known.scrub


def report_secrets(report: Report) -> KnownSecrets:
    """The full secrets of a report's findings, and the fingerprints of those held only redacted."""
    known = KnownSecrets()
    known.add_all(f.secret for f in report.findings if has_full_secret(f))
    known.add_fingerprints(f.fingerprint for f in report.findings if not has_full_secret(f))
    return known


def scrub_tree(value: Any, scrub) -> Any:
    """Apply ``scrub`` to every string (keys included) of a JSON-like value."""
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, dict):
        return {scrub(k): scrub_tree(v, scrub) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub_tree(v, scrub) for v in value]
    return value


_USERINFO = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*://)[^/\s]*@")


def strip_userinfo(url: str) -> str:
    """Drop ``user:password@`` from a URL: remotes are often cloned with a token inside."""
    return _USERINFO.sub(r"\1", url)


def public_repository(repository: dict | None) -> dict | None:
    """The repository facts with credentials removed from any URL-valued entry."""
    if repository is None:
        return None
    return {k: strip_userinfo(v) if isinstance(v, str) else v for k, v in repository.items()}
