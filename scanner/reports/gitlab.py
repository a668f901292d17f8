"""GitLab secret-detection report (``gl-secret-detection-report.json``, schema 15.x).

GitLab ingests it through ``artifacts:reports:secret_detection`` and shows each entry in the
merge request widget and the vulnerability report. One vulnerability per finding location, so
every file and commit that holds the token is listed. ``raw_source_code_extract`` carries only
the redacted token unless ``show_secrets`` is set: the report is a job artifact many can read.
"""

from __future__ import annotations

import time
import uuid
from datetime import datetime, timezone
from typing import Any

from scanner.findings import Finding, Location, Report, posix_path
from scanner.reports import (
    DEFAULT_REMEDIATION,
    TOOL_NAME,
    finding_id,
    scrub_tree,
    secret_scrubber,
    shown_secret,
    sorted_findings,
    sorted_locations,
    verification_status,
)
from scanner.terminal import json_dumps
from scanner.reports import settings_view, suppressed_view

SCHEMA_VERSION = "15.0.7"
SCHEMA_URL = (
    "https://gitlab.com/gitlab-org/security-products/security-report-schemas/-/raw/"
    f"v{SCHEMA_VERSION}/dist/secret-detection-report-format.json"
)
CATEGORY = "secret_detection"
SCANNER_ID = "jts"
VENDOR = "jenkins-token-scanner"
# GitLab's own analyzer uses this sha for findings outside any commit (working tree scans).
NO_COMMIT_SHA = "0000000"
SEVERITY = {"critical": "Critical", "high": "High", "medium": "Medium", "low": "Low", "info": "Info"}
CONFIDENCE = {"high": "High", "medium": "Medium", "low": "Low"}
# A fixed namespace: vulnerability ids are the same for the same finding on every machine.
ID_NAMESPACE = uuid.UUID("5f3a6c1e-8a47-4a8e-9a55-2f0c6d7e1b90")


def render_gitlab(report: Report, *, show_secrets: bool = False) -> str:
    return json_dumps(gitlab_report(report, show_secrets=show_secrets), indent=2) + "\n"


def gitlab_report(report: Report, *, show_secrets: bool = False, now: float | None = None) -> dict[str, Any]:
    """The report as a JSON-ready dict; ``now`` (epoch seconds) pins the scan times for tests."""
    end = time.time() if now is None else now
    start = end - max(report.stats.seconds, 0.0)
    vulnerabilities = [
        _vulnerability(finding, loc, report, show_secrets)
        for finding in sorted_findings(report.findings)
        for loc in (sorted_locations(finding) or [None])
    ] + settings_view.gitlab_vulnerabilities(report, {"id": SCANNER_ID, "name": TOOL_NAME},
                                             _settings_commit(report))
    data = {
        "version": SCHEMA_VERSION,
        "schema": SCHEMA_URL,
        "vulnerabilities": vulnerabilities,
        "scan": {
            "analyzer": _tool(report),
            "scanner": _tool(report),
            "type": CATEGORY,
            "start_time": _timestamp(start),
            "end_time": _timestamp(end),
            "status": "failure" if report.errors else "success",
            "messages": [{"level": "fatal", "value": f"not scanned: {error}"} for error in report.errors]
            + [{"level": "warn", "value": warning} for warning in report.warnings]
            + settings_view.gitlab_messages(report)
            + suppressed_view.gitlab_messages(report),
        },
    }
    return scrub_tree(data, secret_scrubber(report, show_secrets))


def _settings_commit(report: Report) -> str:
    # A staged settings change belongs to no commit yet; a range's is in the scanned tip.
    return NO_COMMIT_SHA if report.mode == "staged" else (report.repository or {}).get("head") or NO_COMMIT_SHA


def _tool(report: Report) -> dict[str, Any]:
    return {
        "id": SCANNER_ID,
        "name": TOOL_NAME,
        "version": report.tool_version,
        "vendor": {"name": VENDOR},
    }


def _timestamp(epoch: float) -> str:
    # The schema wants a bare YYYY-MM-DDTHH:MM:SS (no zone); GitLab reads it as UTC.
    return datetime.fromtimestamp(epoch, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")


def _vulnerability(finding: Finding, loc: Location | None, report: Report, show_secrets: bool) -> dict[str, Any]:
    secret, _ = shown_secret(finding, show_secrets)
    vulnerability: dict[str, Any] = {
        "id": vulnerability_id(finding, loc),
        "category": CATEGORY,
        "name": finding.title,
        "description": _description(finding, loc),
        "severity": SEVERITY.get(finding.severity, "Unknown"),
        "confidence": CONFIDENCE.get(finding.confidence, "Unknown"),
        "solution": " ".join((finding.remediation or DEFAULT_REMEDIATION).split()),
        "raw_source_code_extract": secret,
        "scanner": {"id": SCANNER_ID, "name": TOOL_NAME},
        "location": _location(loc, report),
        "identifiers": [
            {
                "type": "jts_rule_id",
                "name": f"jts rule {finding.rule_id}",
                "value": finding.rule_id,
            },
            {
                "type": "jts_finding_id",
                "name": f"jts finding {finding_id(finding)}",
                "value": finding_id(finding),
            },
        ],
    }
    return vulnerability


def vulnerability_id(finding: Finding, loc: Location | None) -> str:
    """Stable per (rule, secret, place): the same leak keeps its id across pipelines."""
    place = f"{loc.repo or ''}\0{loc.path}\0{loc.line}\0{loc.commit or ''}" if loc else ""
    return str(uuid.uuid5(ID_NAMESPACE, f"{finding.rule_id}\0{finding.fingerprint}\0{place}"))


def _description(finding: Finding, loc: Location | None) -> str:
    parts = [f"{finding.title} found"]
    if finding.user or finding.jenkins_url:
        parts.append(f"for user {finding.user or '?'} on {finding.jenkins_url or 'an unknown Jenkins'}")
    text = " ".join(parts) + "."
    status = verification_status(finding)
    if status != "not_verified":
        text += f" Verification: {status.replace('_', ' ')}."
    if finding.revocation:
        text += f" Revocation: {finding.revocation.status.replace('_', ' ')}."
    if loc and loc.source == "staged":
        text += " Staged for commit." if loc.in_head is not True else " Staged, and already committed in HEAD."
    elif loc and loc.in_head is False:
        text += " Only in git history; the token stays usable until it is revoked."
    return text


def _location(loc: Location | None, report: Report) -> dict[str, Any]:
    if loc is None:
        return {"file": "", "commit": {"sha": NO_COMMIT_SHA}}
    location: dict[str, Any] = {"file": _posix(loc.path)}
    if loc.line >= 1:
        location["start_line"] = loc.line
        location["end_line"] = loc.line
    # Staged content belongs to no commit yet; a working tree scan in CI is the checked-out HEAD.
    head = None if loc.source == "staged" else (report.repository or {}).get("head")
    commit: dict[str, Any] = {"sha": loc.commit or head or NO_COMMIT_SHA}
    if loc.commit:
        if loc.author:
            commit["author"] = f"{loc.author} <{loc.email}>" if loc.email else loc.author
        if loc.date:
            commit["date"] = loc.date
    location["commit"] = commit
    return location


_posix = posix_path
