"""The suppressed part of every report: places a baseline entry or an inline allow marker kept out of
the findings. Counted and listed in every format, so an exception is never silent.

One module for all formats, so text, JSON, SARIF, GitLab, GitHub and Markdown say the same thing.
Only the redacted secret is ever held (``Suppressed.secret``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from scanner.findings import SUPPRESSED_BY, Report, Suppressed, posix_path
from scanner.reports import count_by

NOTICE = "suppressed"  # JSONL's "notice" value
BY_WORDS = {"baseline": "baseline", "allow_marker": "inline allow marker"}
# SARIF 2.1.0 suppression kinds: in the source itself, or in a file beside it
SARIF_KIND = {"baseline": "external", "allow_marker": "inSource"}
MAX_LISTED = 50  # text, pre-commit, Markdown: the JSON and SARIF reports list every one

Style = Callable[..., str]


def sorted_suppressed(report: Report) -> list[Suppressed]:
    return sorted(report.suppressed, key=lambda s: (s.path, s.line, s.column, s.rule_id, s.commit or "", s.by))


def counts(report: Report) -> dict[str, int]:
    return count_by((s.by for s in report.suppressed), SUPPRESSED_BY)


def suppressed_dict(item: Suppressed) -> dict[str, Any]:
    return asdict(item)


def suppressed_from_dict(data: dict[str, Any]) -> Suppressed:
    return Suppressed(**{k: data.get(k) for k in ("by", "rule_id", "secret", "fingerprint", "path", "line", "column",
                                                  "commit", "source")})


def describe(item: Suppressed) -> str:
    """One line: where, what, and which exception hid it (never the full secret)."""
    commit = f" (commit {item.commit[:10]})" if item.commit else ""
    return (f"{item.path}:{item.line}{commit}  {item.rule_id}  {item.secret}  "
            f"suppressed by {BY_WORDS.get(item.by, item.by)} {item.source}".rstrip())


def headline(report: Report) -> str | None:
    """``2 suppressed (1 by a baseline, 1 by inline allow markers)``; None when nothing was."""
    if not report.suppressed:
        return None
    parts = [f"{n} by {BY_WORDS.get(by, by)}{'s' if n != 1 and by == 'allow_marker' else ''}"
             for by, n in counts(report).items() if n]
    return f"{len(report.suppressed)} suppressed ({', '.join(parts)})"


def text_lines(report: Report, style: Style, limit: int = MAX_LISTED) -> list[str]:
    """A ``[SUPPRESSED]`` line per place (text and pre-commit output)."""
    items = sorted_suppressed(report)
    label = style("[SUPPRESSED]", fg="yellow")
    lines = [f"{label} {describe(item)}" for item in items[:limit]]
    if len(items) > limit:
        lines.append(f"{label} and {len(items) - limit} more (see the JSON or SARIF report)")
    return lines


# --------------------------------------------------------------------------- SARIF, GitLab, GitHub


def sarif_results(report: Report, rule_index: Callable[[str], int],
                  artifact_uri: Callable[[str, dict | None], dict[str, str] | None],
                  fingerprint_key: str) -> list[dict[str, Any]]:
    """One SARIF result per suppressed place, carrying ``suppressions`` (code scanning shows it as such).

    Its partial fingerprint is the one the finding had, so an alert that gets suppressed keeps its identity.
    """
    results = []
    for item in sorted_suppressed(report):
        digest = hashlib.sha256(f"{item.rule_id}\0{item.fingerprint}\0{posix_path(item.path)}".encode()).hexdigest()
        result: dict[str, Any] = {
            "ruleId": item.rule_id,
            "ruleIndex": rule_index(item.rule_id),
            "level": "note",
            "message": {"text": f"{item.rule_id} {item.secret}, suppressed by {BY_WORDS.get(item.by, item.by)} "
                                f"{item.source}".rstrip() + "."},
            "suppressions": [{"kind": SARIF_KIND.get(item.by, "external"), "status": "accepted",
                              "justification": f"{BY_WORDS.get(item.by, item.by)} {item.source}".rstrip()}],
        }
        uri = artifact_uri(item.path, report.repository)
        if uri:
            region = {"startLine": item.line, "startColumn": item.column} if item.line >= 1 and item.column >= 1 \
                else {"startLine": item.line} if item.line >= 1 else None
            physical: dict[str, Any] = {"artifactLocation": uri}
            if region:
                physical["region"] = region
            result["locations"] = [{"physicalLocation": physical}]
        result["partialFingerprints"] = {fingerprint_key: digest, "primaryLocationLineHash": f"{digest[:16]}:1"}
        result["properties"] = {"suppressedBy": item.by, "secretFingerprint": item.fingerprint,
                                "commit": item.commit, "source": item.source}
        results.append(result)
    return results


def gitlab_messages(report: Report) -> list[dict[str, str]]:
    """GitLab's secret-detection schema has no suppressed state: one ``warn`` message per place."""
    line = headline(report)
    if not line:
        return []
    return [{"level": "warn", "value": f"jts: {line}"}] + [
        {"level": "warn", "value": f"suppressed: {describe(item)}"} for item in sorted_suppressed(report)]


def markdown_lines(report: Report, escape: Callable[[object], str], limit: int = MAX_LISTED) -> list[str]:
    line = headline(report)
    if not line:
        return []
    items = sorted_suppressed(report)
    lines = ["", f"#### {escape(line)}", "",
             "Not counted by the gate: each one is an exception someone recorded; check that it still holds.", ""]
    lines += [f"- {escape(describe(item))}" for item in items[:limit]]
    if len(items) > limit:
        lines.append(f"- and {len(items) - limit} more (see the JSON or SARIF report)")
    return lines
