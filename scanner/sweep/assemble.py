"""Findings of a whole sweep: one per (rule, fingerprint), every occurrence in every repository."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from scanner.aggregate import sort_findings
from scanner.findings import Finding, Location, Revocation, Verification
from scanner.reports.json_report import RedactedFinding
from scanner.rules import Rule
from scanner.sweep.state import Occurrence


def _most_common(values: Iterable[str | None]) -> str | None:
    counted = Counter(v for v in values if v)
    return counted.most_common(1)[0][0] if counted else None


def assemble_findings(occurrences: list[Occurrence], secrets: dict[str, str], rules: list[Rule],
                      verdicts: dict[tuple[str, str], tuple[Verification | None, Revocation | None]]
                      ) -> list[Finding]:
    """Group stored occurrences into findings; a secret not known in memory stays redacted.

    Grouping is by fingerprint, not by secret, because occurrences from earlier runs come back
    from the state without their secret; the same token in 50 repositories is still one finding.
    """
    by_id = {r.id: r for r in rules}
    groups: dict[tuple[str, str], list[Occurrence]] = {}
    for occ in occurrences:
        groups.setdefault((occ.rule_id, occ.fingerprint), []).append(occ)
    findings: list[Finding] = []
    for (rule_id, fp), members in groups.items():
        rule = by_id.get(rule_id)
        verification, revocation = verdicts.get((rule_id, fp), (None, None))
        user = _most_common(o.user for o in members)
        common = {
            "rule_id": rule_id,
            "title": rule.title if rule else rule_id,
            "severity": rule.severity if rule else "medium",
            "user": user,
            "other_users": sorted({o.user for o in members if o.user and o.user != user}),
            "jenkins_url": _most_common(o.jenkins_url for o in members),
            "locations": sorted({o.location for o in members}, key=Location.sort_key),
            "confidence": "high" if any(o.confidence == "high" for o in members) else "medium",
            "remediation": rule.remediation if rule else None,
            "verification": verification,
            "revocation": revocation,
        }
        if fp in secrets:
            findings.append(Finding(secret=secrets[fp], **common))
        else:
            findings.append(RedactedFinding(secret=members[0].redacted, known_fingerprint=fp, **common))
    return sort_findings(findings)
