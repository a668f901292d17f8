"""Group raw hits into findings: one finding per (rule, secret), with every place it occurs."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from scanner.detect import Hit
from scanner.findings import SEVERITIES, Finding, Location, warm_fingerprints
from scanner.rules import Rule


def _most_common(values: list[str | None]) -> str | None:
    counted = Counter(v for v in values if v)
    return counted.most_common(1)[0][0] if counted else None


def build_findings(pairs: Iterable[tuple[Hit, Location]], rules: list[Rule]) -> list[Finding]:
    by_id = {r.id: r for r in rules}
    groups: dict[tuple[str, str], list[tuple[Hit, Location]]] = {}
    for hit, location in pairs:
        groups.setdefault((hit.rule_id, hit.secret), []).append((hit, location))
    warm_fingerprints(secret for _rule, secret in groups)  # sorting asks for every fingerprint
    findings = []
    for (rule_id, secret), members in groups.items():
        rule = by_id[rule_id]
        locations = sorted(set(loc for _, loc in members), key=Location.sort_key)
        user = _most_common([h.user for h, _ in members])
        findings.append(Finding(
            rule_id=rule_id,
            title=rule.title,
            severity=rule.severity,
            secret=secret,
            user=user,
            other_users=sorted({h.user for h, _ in members if h.user and h.user != user}),
            jenkins_url=_most_common([h.jenkins_url for h, _ in members]),
            locations=locations,
            confidence="high" if any(h.confidence == "high" for h, _ in members) else "medium",
            remediation=rule.remediation,
        ))
    return sort_findings(apply_companions(findings, by_id))


def _companion_roots(path: str, companions: tuple[str, ...]) -> list[tuple[str, str]]:
    """(root, companion) pairs for a path ending in a companion path, e.g. ('home/', 'secrets/master.key')."""
    return [(path[: len(path) - len(c)], c) for c in companions if path == c or path.endswith("/" + c)]


def apply_companions(findings: list[Finding], rules: dict[str, Rule]) -> list[Finding]:
    """Full severity only when every companion file of a rule was found under one root.

    A Jenkins secret store is decryptable offline only with both secrets/master.key and
    secrets/hudson.util.Secret; one of them alone is still a leak, but a lesser one.
    """
    for rule in rules.values():
        if not rule.companions:
            continue
        mine = [f for f in findings if f.rule_id == rule.id]
        present: dict[tuple[str | None, str], set[str]] = {}
        for finding in mine:
            for loc in finding.locations:
                for root, companion in _companion_roots(loc.path, rule.companions):
                    present.setdefault((loc.repo, root), set()).add(companion)
        complete = {key for key, found in present.items() if len(found) == len(rule.companions)}
        for finding in mine:
            roots = {(loc.repo, root) for loc in finding.locations
                     for root, _ in _companion_roots(loc.path, rule.companions)}
            if roots & complete:
                continue
            finding.severity = rule.alone_severity or finding.severity
            finding.confidence = "medium"
            missing = sorted(set(rule.companions) - set().union(*(present.get(r, set()) for r in roots)))
            finding.remediation = (f"Found without {', '.join(missing)} in this scan; if that file leaked too "
                                   f"(elsewhere or later), treat it as critical. {rule.remediation}")
    return findings


def sort_findings(findings: list[Finding]) -> list[Finding]:
    order = {s: i for i, s in enumerate(SEVERITIES)}
    return sorted(findings, key=lambda f: (order.get(f.severity, 99),
                                           f.locations[0].sort_key() if f.locations else (),
                                           f.rule_id, f.fingerprint))
