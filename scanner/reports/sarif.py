"""SARIF 2.1.0 report, shaped for GitHub code scanning.

One result per finding location. No ``region.snippet``: the line text would hold the token.
``partialFingerprints`` hash the secret fingerprint with the path, not the line, so an alert
keeps its identity when the surrounding code moves.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import quote

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
    strip_userinfo,
    verification_status,
)
from scanner.terminal import json_dumps
from scanner.reports import inventory_view, settings_view, suppressed_view
from scanner.jenkins_crawl.inventory import CrawlInventory
from scanner.jenkins_crawl.places import SCHEME as CRAWL_SCHEME, describe as describe_crawl_path
from scanner.jenkins_home.layout import SCHEME as HOME_SCHEME, describe as describe_home_path

SARIF_SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_VERSION = "2.1.0"
SRCROOT = "%SRCROOT%"
FINGERPRINT_KEY = "jtsSecretFingerprint/v1"

# GitHub code scanning sorts and colours alerts by these (critical >= 9.0, high >= 7.0, ...).
SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0", "info": "1.0"}
LEVEL = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "note"}



def render_sarif(report: Report, *, show_secrets: bool = False) -> str:
    return json_dumps(sarif_log(report, show_secrets=show_secrets), indent=2) + "\n"


def sarif_log(report: Report, *, show_secrets: bool = False) -> dict[str, Any]:
    findings = sorted_findings(report.findings)
    rules, rule_index = _rules(findings)
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": TOOL_NAME,
                "version": report.tool_version,
                "semanticVersion": report.tool_version,
                "rules": rules,
            }
        },
        "invocations": [_invocation(report)],
        "columnKind": "unicodeCodePoints",  # columns count Python str characters
        "results": [
            result
            for finding in findings
            for result in _results(finding, rule_index[finding.rule_id], report, show_secrets)
        ],
        "properties": {"mode": report.mode, "targets": list(report.targets),
                       "settings": settings_view.settings_dict(report.settings),
                       **_inventory_property(report, show_secrets)},
    }
    if report.suppressed:  # results with ``suppressions``: code scanning shows them as suppressed
        run["results"] += suppressed_view.sarif_results(report, lambda rule_id: _rule_for(rules, rule_index, rule_id),
                                                        _artifact_uri, FINGERPRINT_KEY)
    if settings_view.changes_of(report):  # finding-like: a change to the settings that judge it
        run["results"] += settings_view.sarif_results(report, len(rules), _artifact_uri)
        rules.append(settings_view.sarif_rule())
    provenance = _provenance(report.repository)
    if provenance:
        run["versionControlProvenance"] = [provenance]
    log = {"$schema": SARIF_SCHEMA_URI, "version": SARIF_VERSION, "runs": [run]}
    return scrub_tree(log, secret_scrubber(report, show_secrets))


# --------------------------------------------------------------------------- rules


def _rules(findings: list[Finding]) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """One rule per rule_id, described by its most severe finding (findings are sorted)."""
    first: dict[str, Finding] = {}
    remediation: dict[str, str] = {}
    for finding in findings:
        first.setdefault(finding.rule_id, finding)
        if finding.remediation:
            remediation.setdefault(finding.rule_id, finding.remediation)
    rule_ids = sorted(first)
    rules = [_rule(first[r], remediation.get(r, DEFAULT_REMEDIATION)) for r in rule_ids]
    return rules, {r: i for i, r in enumerate(rule_ids)}


def _rule(finding: Finding, remediation: str) -> dict[str, Any]:
    severity = finding.severity
    return {
        "id": finding.rule_id,
        "name": _pascal_case(finding.rule_id),
        "shortDescription": {"text": finding.title},
        "fullDescription": {
            "text": f"{finding.title}: a Jenkins credential committed to a file or to git history. "
            "Anyone who can read the repository can act as its Jenkins user."
        },
        "help": {
            "text": f"Remediation: {remediation}",
            "markdown": f"**Remediation:** {remediation}",
        },
        "defaultConfiguration": {"level": LEVEL.get(severity, "warning")},
        "properties": {
            "security-severity": SECURITY_SEVERITY.get(severity, "5.5"),
            "tags": ["security", "secret"],
            "precision": "high" if finding.confidence == "high" else "medium",
            "problem.severity": "error" if LEVEL.get(severity) == "error" else "warning",
        },
    }


def _rule_for(rules: list[dict[str, Any]], rule_index: dict[str, int], rule_id: str) -> int:
    """The index of ``rule_id``'s rule; a rule whose every place was suppressed gets a plain entry."""
    if rule_id not in rule_index:
        rule_index[rule_id] = len(rules)
        rules.append({"id": rule_id, "name": _pascal_case(rule_id), "shortDescription": {"text": rule_id},
                      "defaultConfiguration": {"level": "warning"},
                      "properties": {"tags": ["security", "secret"], "precision": "high"}})
    return rule_index[rule_id]


def _pascal_case(rule_id: str) -> str:
    return "".join(part.capitalize() for part in re.split(r"[^0-9A-Za-z]+", rule_id) if part)


# --------------------------------------------------------------------------- results


def _results(finding: Finding, rule_index: int, report: Report, show_secrets: bool) -> list[dict[str, Any]]:
    locations = sorted_locations(finding)
    if not locations:  # keep it visible even without a place; SARIF allows a location-less result
        return [_result(finding, None, rule_index, report, show_secrets)]
    return [_result(finding, loc, rule_index, report, show_secrets) for loc in locations]


def _result(
    finding: Finding, loc: Location | None, rule_index: int, report: Report, show_secrets: bool
) -> dict[str, Any]:
    result: dict[str, Any] = {
        "ruleId": finding.rule_id,
        "ruleIndex": rule_index,
        "level": LEVEL.get(finding.severity, "warning"),
        "message": {"text": result_message(finding, loc, show_secrets)},
    }
    uri = _artifact_uri(loc.path, report.repository) if loc else None
    if loc and uri:
        physical: dict[str, Any] = {"artifactLocation": uri}
        region = _region(loc)
        if region:
            physical["region"] = region
        result["locations"] = [{"physicalLocation": physical}]
        if loc.path.startswith(HOME_SCHEME):  # job, build and field, as people name them
            result["locations"][0]["logicalLocations"] = [{"fullyQualifiedName": describe_home_path(loc.path)}]
        elif loc.path.startswith(CRAWL_SCHEME) and describe_crawl_path(loc.path):
            result["locations"][0]["logicalLocations"] = [{"fullyQualifiedName": describe_crawl_path(loc.path)}]
    result["partialFingerprints"] = partial_fingerprints(finding, loc)
    result["properties"] = _result_properties(finding, loc)
    return result


def result_message(finding: Finding, loc: Location | None, show_secrets: bool) -> str:
    secret, _ = shown_secret(finding, show_secrets)
    parts = [f"{finding.title} {secret}"]
    if finding.user or finding.jenkins_url:
        parts.append(f"for user {finding.user or '?'} on {finding.jenkins_url or 'an unknown Jenkins'}")
    text = " ".join(parts) + "."
    text += f" Verification: {_verification_phrase(finding)}."
    if finding.revocation:
        text += f" Revocation: {finding.revocation.status.replace('_', ' ')}."
    if loc and loc.commit:
        who = f" by {loc.author}" if loc.author else ""
        when = f" on {loc.date}" if loc.date else ""
        text += f" Found in commit {loc.commit[:10]}{who}{when}"
        text += "; still in HEAD." if loc.in_head else ("; history only." if loc.in_head is False else ".")
    return text


def _verification_phrase(finding: Finding) -> str:
    status = verification_status(finding)
    v = finding.verification
    if status == "live" and v and v.authenticated_as:
        return f"live (authenticated as {v.authenticated_as})"
    if v and v.reason:
        return f"{status.replace('_', ' ')} ({v.reason})"
    return status.replace("_", " ")


def partial_fingerprints(finding: Finding, loc: Location | None) -> dict[str, str]:
    """Identity of an alert: the secret and its path, deliberately not the line number."""
    path = _posix(loc.path) if loc else ""
    digest = hashlib.sha256(f"{finding.rule_id}\0{finding.fingerprint}\0{path}".encode()).hexdigest()
    return {
        FINGERPRINT_KEY: digest,
        # GitHub would otherwise hash the line text itself; ours survives edits around the token.
        "primaryLocationLineHash": f"{digest[:16]}:1",
    }


def _result_properties(finding: Finding, loc: Location | None) -> dict[str, Any]:
    props: dict[str, Any] = {
        "findingId": finding_id(finding),
        "secretFingerprint": finding.fingerprint,
        "verification": verification_status(finding),
        "revocation": finding.revocation.status if finding.revocation else None,
        "user": finding.user,
        "jenkinsUrl": finding.jenkins_url,
    }
    if loc:
        props.update(
            source=loc.source,
            commit=loc.commit,
            author=loc.author,
            email=loc.email,
            date=loc.date,
            inHead=loc.in_head,
            blob=loc.blob,
            repo=loc.repo,
        )
    return props


def _region(loc: Location) -> dict[str, int] | None:
    if loc.line < 1:
        return None
    region = {"startLine": loc.line}
    if loc.column >= 1:
        region["startColumn"] = loc.column
        if loc.end_column > loc.column:
            region["endColumn"] = loc.end_column
    return region


_posix = posix_path


def _inventory_property(report: Report, show_secrets: bool) -> dict[str, Any]:
    """``jenkinsHome`` (null outside --jenkins-home) and, for scan-jenkins, ``jenkinsCrawl``."""
    if isinstance(report.inventory, CrawlInventory):
        return {"jenkinsHome": None, "jenkinsCrawl": inventory_view.inventory_dict(report.inventory, show_secrets)}
    return {"jenkinsHome": inventory_view.inventory_dict(report.inventory, show_secrets)}


def _artifact_uri(path: str, repository: dict | None) -> dict[str, str] | None:
    """Relative paths are made relative to %SRCROOT%; absolute ones under the repo are too."""
    posix = _posix(path)
    if not posix:
        return None
    if posix.startswith(HOME_SCHEME):  # an absolute URI of its own (docs/report-format.md)
        return {"uri": HOME_SCHEME + quote(posix[len(HOME_SCHEME):], safe="/:=@,#")}
    if posix.startswith(CRAWL_SCHEME):  # item names are already percent-encoded as Jenkins' URLs spell them
        return {"uri": CRAWL_SCHEME + quote(posix[len(CRAWL_SCHEME):], safe="/:=@,#%!$&'()*+")}
    pure = PurePosixPath(posix)
    if pure.is_absolute() or re.match(r"^[A-Za-z]:/", posix):
        root = (repository or {}).get("path")
        try:
            posix = pure.relative_to(_posix(str(root))).as_posix() if root else ""
        except ValueError:
            posix = ""
        if not posix:  # outside the repository: an absolute file URI is the honest answer
            absolute = _posix(path)
            return {"uri": "file://" + quote(absolute if absolute.startswith("/") else "/" + absolute, safe="/:")}
    return {"uri": quote(posix, safe="/"), "uriBaseId": SRCROOT}


def _provenance(repository: dict | None) -> dict[str, Any] | None:
    if not repository:
        return None
    url = strip_userinfo(repository.get("url") or repository.get("remote") or "")
    if not url and repository.get("path"):
        url = Path(repository["path"]).resolve().as_uri()
    if not url:
        return None
    provenance: dict[str, Any] = {"repositoryUri": url}
    if repository.get("head"):
        provenance["revisionId"] = repository["head"]
    if repository.get("branch"):
        provenance["branch"] = repository["branch"]
    provenance["mappedTo"] = {"uriBaseId": SRCROOT}
    return provenance


# --------------------------------------------------------------------------- invocation


def _invocation(report: Report) -> dict[str, Any]:
    # content that could not be scanned makes the run unsuccessful: its results are incomplete
    invocation: dict[str, Any] = {"executionSuccessful": not report.errors}
    notifications = [{"level": "error", "message": {"text": error}} for error in report.errors]
    notifications += [{"level": "warning", "message": {"text": warning}} for warning in report.warnings]
    if notifications:
        invocation["toolExecutionNotifications"] = notifications
    return invocation
