"""Group raw hits into findings: one finding per (rule, secret), with every place it occurs."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from scanner.detect import Hit
from scanner.findings import SEVERITIES, Finding, Location
from scanner.rules import Rule


def _most_common(values: list[str | None]) -> str | None:
    counted = Counter(v for v in values if v)
    return counted.most_common(1)[0][0] if counted else None


def build_findings(pairs: Iterable[tuple[Hit, Location]], rules: list[Rule]) -> list[Finding]:
    by_id = {r.id: r for r in rules}
    groups: dict[tuple[str, str], list[tuple[Hit, Location]]] = {}
    for hit, location in pairs:
        groups.setdefault((hit.rule_id, hit.secret), []).append((hit, location))
    findings = []
    for (rule_id, secret), members in groups.items():
        rule = by_id[rule_id]
        locations = sorted(set(loc for _, loc in members), key=Location.sort_key)
        findings.append(Finding(
            rule_id=rule_id,
            title=rule.title,
            severity=rule.severity,
            secret=secret,
            user=_most_common([h.user for h, _ in members]),
            jenkins_url=_most_common([h.jenkins_url for h, _ in members]),
            locations=locations,
            confidence="high" if any(h.confidence == "high" for h, _ in members) else "medium",
            remediation=rule.remediation,
        ))
    return sort_findings(findings)


def sort_findings(findings: list[Finding]) -> list[Finding]:
    order = {s: i for i, s in enumerate(SEVERITIES)}
    return sorted(findings, key=lambda f: (order.get(f.severity, 99),
                                           f.locations[0].sort_key() if f.locations else (),
                                           f.rule_id, f.fingerprint))
