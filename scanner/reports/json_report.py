"""JSON and JSONL reports, and loading a JSON report back into a ``Report``.

The JSON layout is versioned (``schema_version``) and described by ``report-schema.json`` next
to this module. Every key is always present (``null`` when unknown) so consumers can rely on it.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from scanner.findings import (
    SEVERITIES,
    Finding,
    Location,
    Report,
    Revocation,
    ScanStats,
    Verification,
    fingerprint_of,
    redact,
)
from scanner.reports import (
    REVOCATION_STATUSES,
    TOOL_NAME,
    VERIFICATION_STATUSES,
    count_by,
    finding_id,
    has_full_secret,
    public_repository,
    scrub_tree,
    secret_scrubber,
    shown_secret,
    sorted_findings,
    sorted_locations,
    verification_status,
)
from scanner.terminal import json_dumps
from scanner.reports import inventory_view, suppressed_view
from scanner.reports.settings_view import (
    CHANGE_RULE_ID,
    change_dict,
    changes_of,
    settings_dict,
    settings_from_dict,
)

SCHEMA_VERSION = "1.3"
SCHEMA_PATH = Path(__file__).with_name("report-schema.json")

_LOCATION_KEYS = tuple(f.name for f in fields(Location))
_VERIFICATION_KEYS = tuple(f.name for f in fields(Verification))
_REVOCATION_KEYS = tuple(f.name for f in fields(Revocation))
_STATS_KEYS = tuple(f.name for f in fields(ScanStats))


@dataclass(repr=False)
class RedactedFinding(Finding):
    """A finding read from a report written without ``--show-secrets``.

    ``secret`` holds only the redacted form, so it cannot be verified or revoked; the real
    fingerprint comes from the report because it cannot be recomputed from the redacted text.
    """

    known_fingerprint: str = ""
    secret_redacted: bool = True
    # the report held a full value it did not mark full (``"secret_redacted": false``): redacted on loading
    redacted_on_load: bool = False

    @property
    def fingerprint(self) -> str:
        return self.known_fingerprint

    @property
    def redacted(self) -> str:
        return self.secret

    def __repr__(self) -> str:  # the generated repr would not show it is a redacted finding
        return f"RedactedFinding(rule_id={self.rule_id!r}, fingerprint={self.known_fingerprint[:12]!r})"


# --------------------------------------------------------------------------- rendering


def render_json(report: Report, *, show_secrets: bool = False) -> str:
    return json_dumps(report_to_dict(report, show_secrets=show_secrets), indent=2) + "\n"


def render_jsonl(report: Report, *, show_secrets: bool = False) -> str:
    """One finding object per line, exactly as in ``findings[]`` of the JSON report; then one line per
    change to the repository's settings (``settings.changes[]``, marked ``"notice": "settings_change"``)."""
    scrub = secret_scrubber(report, show_secrets)
    objects = [finding_to_dict(f, show_secrets=show_secrets) for f in sorted_findings(report.findings)]
    objects += [{"notice": CHANGE_RULE_ID, **change_dict(c)} for c in changes_of(report)]
    objects += [{"notice": suppressed_view.NOTICE, **suppressed_view.suppressed_dict(s)}
                for s in suppressed_view.sorted_suppressed(report)]
    lines = [json_dumps(scrub_tree(obj, scrub)) for obj in objects]
    return "".join(line + "\n" for line in lines)


def report_to_dict(report: Report, *, show_secrets: bool = False) -> dict[str, Any]:
    findings = sorted_findings(report.findings)
    data = {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": TOOL_NAME, "version": report.tool_version},
        "mode": report.mode,
        "targets": list(report.targets),
        "repository": public_repository(report.repository),
        "stats": {key: getattr(report.stats, key) for key in _STATS_KEYS},
        "warnings": list(report.warnings),
        "errors": list(report.errors),
        "summary": {**summary_of(findings), "suppressed": suppressed_view.counts(report)},
        "settings": settings_dict(report.settings),
        "findings": [finding_to_dict(f, show_secrets=show_secrets) for f in findings],
        "inventory": inventory_view.inventory_dict(report.inventory, show_secrets),
        "suppressed": [suppressed_view.suppressed_dict(s) for s in suppressed_view.sorted_suppressed(report)],
    }
    return scrub_tree(data, secret_scrubber(report, show_secrets))


def summary_of(findings: list[Finding]) -> dict[str, Any]:
    return {
        "findings": len(findings),
        "by_rule": dict(sorted(count_by(f.rule_id for f in findings).items())),
        "by_severity": count_by((f.severity for f in findings), SEVERITIES),
        "verification": count_by((verification_status(f) for f in findings), VERIFICATION_STATUSES),
        "revocation": count_by(
            (f.revocation.status if f.revocation else "not_attempted" for f in findings),
            (*REVOCATION_STATUSES, "not_attempted"),
        ),
    }


def finding_to_dict(finding: Finding, *, show_secrets: bool = False) -> dict[str, Any]:
    secret, is_redacted = shown_secret(finding, show_secrets)
    return {
        "id": finding_id(finding),
        "rule_id": finding.rule_id,
        "title": finding.title,
        "severity": finding.severity,
        "confidence": finding.confidence,
        "secret": secret,
        "secret_redacted": is_redacted,
        "fingerprint": finding.fingerprint,
        "user": finding.user,
        "other_users": list(finding.other_users),
        "jenkins_url": finding.jenkins_url,
        "in_head": finding.in_head,
        "remediation": finding.remediation,
        "locations": [asdict(loc) for loc in sorted_locations(finding)],
        "verification": _verification_dict(finding.verification),
        "revocation": asdict(finding.revocation) if finding.revocation else None,
    }


def _verification_dict(verification: Verification | None) -> dict[str, Any]:
    # Unverified findings still get every key, so consumers never need to test for presence.
    data = asdict(verification or Verification(status="not_verified"))
    data["authorities"] = list(data["authorities"])
    data["rejected_for"] = list(data["rejected_for"])
    data["tried_at"] = list(data["tried_at"])
    return data


# --------------------------------------------------------------------------- loading


def load_report(source: str | os.PathLike[str]) -> Report:
    """Read a JSON report (or a JSONL findings stream) back into a ``Report``.

    ``source`` is the JSON text or a path to it. Findings written without full secrets come
    back as ``RedactedFinding`` (see ``findings_without_secret``); the others are plain
    ``Finding`` values with the full secret, ready to verify or revoke.
    """
    text = _read_source(source)
    stripped = text.lstrip()
    try:
        data = json.loads(stripped) if stripped else None
    except json.JSONDecodeError:
        data = None
    if isinstance(data, dict) and "schema_version" in data:
        return _report_from_dict(data)
    if isinstance(data, dict) and "rule_id" in data:
        findings = [finding_from_dict(data)]
        return Report(findings=findings, warnings=relabel_warnings(findings))
    return _report_from_jsonl(stripped)


def findings_without_secret(report: Report) -> list[Finding]:
    """Findings that carry only a redacted secret, so cannot be verified or revoked."""
    return [f for f in report.findings if not has_full_secret(f)]


def _read_source(source: str | os.PathLike[str]) -> str:
    if isinstance(source, str) and source.lstrip().startswith("{"):
        return source
    return Path(source).read_text(encoding="utf-8")


def _report_from_jsonl(text: str) -> Report:
    findings = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            if isinstance(data, dict) and "notice" in data:  # a settings change: not a finding
                continue
            findings.append(finding_from_dict(data))
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise ValueError(f"not a jts JSON/JSONL report (line {number}: {exc})") from exc
    return Report(findings=findings, warnings=relabel_warnings(findings))


def relabel_warnings(findings: list[Finding]) -> list[str]:
    return [f"{finding_id(f)}: the report holds this secret in full without \"secret_redacted\": false; it was "
            "treated as redacted (write the report with --show-secrets to verify or revoke it)"
            for f in findings if getattr(f, "redacted_on_load", False)]


def _report_from_dict(data: dict[str, Any]) -> Report:
    version = str(data.get("schema_version", ""))
    if version.split(".")[0] != SCHEMA_VERSION.split(".")[0]:
        raise ValueError(f"unsupported report schema_version {version!r} (expected {SCHEMA_VERSION})")
    stats = data.get("stats") or {}
    tool = data.get("tool") or {}
    findings = [finding_from_dict(f) for f in data.get("findings") or []]
    report = Report(
        findings=findings,
        targets=list(data.get("targets") or []),
        mode=data.get("mode") or "files",
        warnings=list(data.get("warnings") or []) + relabel_warnings(findings),
        errors=list(data.get("errors") or []),
        stats=ScanStats(**{k: stats[k] for k in _STATS_KEYS if stats.get(k) is not None}),
        repository=data.get("repository"),
        settings=settings_from_dict(data.get("settings")),
        suppressed=[suppressed_view.suppressed_from_dict(s) for s in data.get("suppressed") or []],
    )
    if tool.get("version"):
        report.tool_version = tool["version"]
    return report


def finding_from_dict(data: dict[str, Any]) -> Finding:
    """Rebuild one finding from its JSON object (as in ``findings[]`` or a JSONL line)."""
    common = {
        "rule_id": data["rule_id"],
        "title": data.get("title") or data["rule_id"],
        "severity": data.get("severity") or "medium",
        "secret": data["secret"],
        "user": data.get("user"),
        "other_users": [str(u) for u in data.get("other_users") or []],
        "jenkins_url": data.get("jenkins_url"),
        "locations": [_location_from_dict(loc) for loc in data.get("locations") or []],
        "confidence": data.get("confidence") or "high",
        "remediation": data.get("remediation"),
        "verification": _verification_from_dict(data.get("verification")),
        "revocation": _pick(Revocation, _REVOCATION_KEYS, data.get("revocation")),
    }
    secret = common["secret"]
    if not isinstance(secret, str):
        raise TypeError("a finding's secret is not a string")
    if _REDACTED_FORM.fullmatch(secret):  # whatever the flag says: it cannot be verified, or shown in full
        return RedactedFinding(**common, known_fingerprint=data.get("fingerprint") or "")
    if data.get("secret_redacted", True) is False:  # exactly false: a --show-secrets report
        return Finding(**common)
    # a full value the report does not mark as full: never shown, even with --show-secrets
    return RedactedFinding(**{**common, "secret": redact(secret)}, known_fingerprint=fingerprint_of(secret),
                           redacted_on_load=True)


# What ``redact`` writes: 4 + 2 characters of a random token, 2 of anything else, or nothing.
_REDACTED_FORM = re.compile(r"[^…]{4}…[^…]{2}|[^…]{2}…|…")


def _location_from_dict(data: dict[str, Any]) -> Location:
    return Location(**{k: data[k] for k in _LOCATION_KEYS if k in data})


def _verification_from_dict(data: dict[str, Any] | None) -> Verification | None:
    # A bare "not_verified" is how the JSON spells "no verification"; keep the model's None for it.
    if not data or (data.get("status") == "not_verified" and not any(v for k, v in data.items() if k != "status")):
        return None
    verification = _pick(Verification, _VERIFICATION_KEYS, data)
    verification.authorities = list(verification.authorities or [])
    verification.rejected_for = [u for u in verification.rejected_for or [] if isinstance(u, str)]
    verification.tried_at = [u for u in verification.tried_at or [] if isinstance(u, str)]
    return verification


def _pick(cls, keys: tuple[str, ...], data: dict[str, Any] | None):
    if not data:
        return None
    return cls(**{k: data[k] for k in keys if k in data})
