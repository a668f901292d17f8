"""The sweep report as one self-contained HTML page: no network, no external CSS, JS or fonts.

Sections: a summary (repositories, findings by kind and status, live/revoked counts), a timeline
of when leaks were introduced (inline SVG), one table per token with every occurrence, the
repositories with their errors, and the warnings. Secrets are redacted unless asked.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timezone
from html import escape

from scanner.findings import Finding, Location, Report
from scanner.reports import (
    REVOCATION_STATUSES,
    VERIFICATION_STATUSES,
    finding_id,
    secret_scrubber,
    shown_secret,
    sorted_findings,
    sorted_locations,
    verification_status,
)
from scanner.sweep.progress import human_bytes

STATUS_COLOURS = {"live": "#c62828", "unknown": "#ef8f00", "invalid": "#2e7d32", "not_verified": "#78909c"}
DEAD = ("revoked", "already_invalid")

CSS = """
:root { --fg: #1d2430; --muted: #5f6b7a; --line: #d8dee6; --bg: #f6f8fa; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); margin: 0; }
header { background: #1d2430; color: #fff; padding: 18px 28px; }
header h1 { margin: 0 0 4px; font-size: 22px; }
header p { margin: 0; color: #c9d1db; }
main { padding: 8px 28px 40px; max-width: 1400px; }
h2 { margin-top: 32px; border-bottom: 2px solid var(--line); padding-bottom: 4px; }
.cards { display: flex; flex-wrap: wrap; gap: 12px; margin: 16px 0; }
.card { background: var(--bg); border: 1px solid var(--line); border-radius: 6px; padding: 10px 16px; min-width: 130px; }
.card .n { font-size: 26px; font-weight: 700; display: block; }
.card.alert .n { color: #c62828; }
.card.good .n { color: #2e7d32; }
table { border-collapse: collapse; width: 100%; margin: 8px 0 16px; }
th, td { border: 1px solid var(--line); padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: var(--bg); }
td.num, th.num { text-align: right; }
code { font: 13px ui-monospace, "DejaVu Sans Mono", monospace; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; color: #fff; font-size: 12px; font-weight: 600; }
.sev-critical, .sev-high { color: #c62828; font-weight: 700; }
.sev-medium { color: #ef8f00; font-weight: 700; }
.token { border: 1px solid var(--line); border-radius: 6px; padding: 4px 14px 2px; margin: 14px 0; }
.token h3 { margin: 8px 0; font-size: 16px; }
.meta { color: var(--muted); margin: 4px 0 8px; }
.head-yes { color: #c62828; font-weight: 600; }
.err td { background: #fdecea; }
.muted { color: var(--muted); }
svg text { font: 11px system-ui, sans-serif; fill: var(--fg); }
"""


def _badge(status: str, colour: str | None = None) -> str:
    colour = colour or STATUS_COLOURS.get(status, "#546e7a")
    return f'<span class="badge" style="background:{colour}">{escape(status.replace("_", " "))}</span>'


def _revocation_status(finding: Finding) -> str:
    return finding.revocation.status if finding.revocation else "not_attempted"


def _card(label: str, value: int | str, cls: str = "") -> str:
    return f'<div class="card {cls}"><span class="n">{escape(str(value))}</span>{escape(label)}</div>'


def _summary(report: Report, findings: list[Finding]) -> str:
    repo = report.repository or {}
    counts = repo.get("counts", {})
    occurrences = sum(len(f.locations) for f in findings)
    live = sum(verification_status(f) == "live" for f in findings)
    revoked = sum(_revocation_status(f) in DEAD for f in findings)
    in_head = sum(bool(f.in_head) for f in findings)
    cards = [
        _card("repositories", counts.get("repositories", 0)),
        _card("failed to scan", counts.get("error", 0), "alert" if counts.get("error") else ""),
        _card("unique secrets", len(findings), "alert" if findings else "good"),
        _card("occurrences", occurrences),
        _card("live", live, "alert" if live else ""),
        _card("revoked", revoked, "good" if revoked else ""),
        _card("still in HEAD", in_head, "alert" if in_head else ""),
        _card("scanned", human_bytes(report.stats.bytes)),
    ]
    kinds = sorted({(f.rule_id, f.title) for f in findings})
    rows = []
    for rule_id, title in kinds:
        mine = [f for f in findings if f.rule_id == rule_id]
        by_status = Counter(verification_status(f) for f in mine)
        by_revocation = Counter(_revocation_status(f) for f in mine)
        cells = "".join(f'<td class="num">{by_status.get(s, 0)}</td>' for s in VERIFICATION_STATUSES)
        rev = sum(by_revocation.get(s, 0) for s in DEAD)
        rows.append(f"<tr><td>{escape(title)} <code>{escape(rule_id)}</code></td><td class=\"num\">{len(mine)}</td>"
                    f"{cells}<td class=\"num\">{rev}</td></tr>")
    head = "".join(f'<th class="num">{escape(s.replace("_", " "))}</th>' for s in VERIFICATION_STATUSES)
    table = (f'<table id="by-kind"><thead><tr><th>kind</th><th class="num">secrets</th>{head}'
             f'<th class="num">revoked</th></tr></thead><tbody>{"".join(rows)}</tbody></table>' if rows
             else '<p class="muted">No Jenkins credentials found.</p>')
    revocations = Counter(_revocation_status(f) for f in findings)
    rev_line = ", ".join(f"{n} {s.replace('_', ' ')}" for s in (*REVOCATION_STATUSES, "not_attempted")
                         if (n := revocations.get(s, 0)))
    return (f'<section id="summary"><h2>Summary</h2><div class="cards">{"".join(cards)}</div>'
            f"<h3>Findings by kind and status</h3>{table}"
            f'<p class="meta">Revocation: {escape(rev_line or "none attempted")}</p></section>')


def _month(date: str | None) -> str | None:
    return date[:7] if date and len(date) >= 7 else None


def _months_between(first: str, last: str) -> list[str]:
    year, month = int(first[:4]), int(first[5:7])
    out = []
    while f"{year:04d}-{month:02d}" <= last:
        out.append(f"{year:04d}-{month:02d}")
        month += 1
        if month > 12:
            year, month = year + 1, 1
    return out


def _timeline(findings: list[Finding]) -> str:
    """Occurrences per month of the introducing commit, stacked by the token's verification status."""
    per: dict[str, Counter[str]] = {}
    undated = 0
    for finding in findings:
        status = verification_status(finding)
        for loc in finding.locations:
            month = _month(loc.date)
            if month is None:
                undated += 1
                continue
            per.setdefault(month, Counter())[status] += 1
    if not per:
        note = f" ({undated} occurrence(s) without a commit date)" if undated else ""
        return f'<section id="timeline"><h2>Timeline</h2><p class="muted">No dated leaks{note}.</p></section>'
    months = sorted(per)
    if len(months) > 1 and len(_months_between(months[0], months[-1])) <= 240:
        months = _months_between(months[0], months[-1])  # empty months shown: gaps are information too
    peak = max(sum(c.values()) for c in per.values())
    bar, gap, height, left, bottom = 22, 6, 180, 36, 40
    width = left + len(months) * (bar + gap) + 10
    parts = [(f'<svg id="timeline-chart" xmlns="http://www.w3.org/2000/svg" width="{width}" '
              f'height="{height + bottom + 10}" role="img" aria-label="leaks introduced per month">'),
             f'<line x1="{left}" y1="{height}" x2="{width - 5}" y2="{height}" stroke="#999"/>',
             f'<text x="{left - 6}" y="{height}" text-anchor="end">0</text>',
             f'<text x="{left - 6}" y="12" text-anchor="end">{peak}</text>']
    for i, month in enumerate(months):
        x = left + i * (bar + gap) + gap
        y = height
        counts = per.get(month, Counter())
        for status in VERIFICATION_STATUSES:
            n = counts.get(status, 0)
            if not n:
                continue
            h = max(1.0, n / peak * (height - 14))
            y -= h
            parts.append(f'<rect class="bar" data-month="{month}" data-status="{status}" data-count="{n}" '
                         f'x="{x}" y="{y:.1f}" width="{bar}" height="{h:.1f}" fill="{STATUS_COLOURS[status]}">'
                         f"<title>{month}: {n} {status.replace('_', ' ')}</title></rect>")
        if len(months) <= 24 or i % max(1, len(months) // 24) == 0:
            parts.append(f'<text x="{x + bar / 2}" y="{height + 14}" text-anchor="end" '
                         f'transform="rotate(-45 {x + bar / 2} {height + 14})">{month}</text>')
    parts.append("</svg>")
    legend = " ".join(f'{_badge(s)}' for s in VERIFICATION_STATUSES)
    rows = "".join(f"<tr><td>{m}</td><td class=\"num\">{sum(per[m].values())}</td></tr>" for m in sorted(per))
    note = f'<p class="muted">{undated} occurrence(s) have no commit date and are not drawn.</p>' if undated else ""
    return (f'<section id="timeline"><h2>Timeline: when leaks were introduced</h2><p>{legend}</p>'
            f'<div style="overflow-x:auto">{"".join(parts)}</div>{note}'
            f'<details><summary>As a table</summary><table id="timeline-table"><thead><tr><th>month</th>'
            f'<th class="num">occurrences introduced</th></tr></thead><tbody>{rows}</tbody></table></details></section>')


def _where(loc: Location) -> str:
    if loc.in_head is True:
        return '<span class="head-yes">in HEAD</span>'
    if loc.in_head is False:
        return "history only"
    return '<span class="muted">unknown</span>'


def _token(finding: Finding, show_secrets: bool) -> str:
    secret, _ = shown_secret(finding, show_secrets)
    status = verification_status(finding)
    v = finding.verification
    details = []
    if finding.user:
        details.append(f"user <code>{escape(finding.user)}</code>")
    if finding.jenkins_url:
        details.append(f"Jenkins <code>{escape(finding.jenkins_url)}</code>")
    if v and v.authenticated_as:
        details.append(f"authenticated as <code>{escape(v.authenticated_as)}</code>")
    if v and v.reason:
        details.append(escape(v.reason))
    revocation = ""
    if finding.revocation:
        r = finding.revocation
        colour = "#2e7d32" if r.status in DEAD else "#ef8f00"
        extra = f" {escape(r.reason)}" if r.reason else ""
        manual = (f' revoke by hand at <code>{escape(r.manual_url)}</code>' if r.manual_url else "")
        revocation = f'<p class="meta">Revocation: {_badge(r.status, colour)}{extra}{manual}</p>'
    repos = {loc.repo for loc in finding.locations}
    rows = []
    for loc in sorted_locations(finding):
        rows.append(
            f"<tr><td>{escape(loc.repo or '')}</td><td><code>{escape((loc.commit or '')[:12]) or '—'}</code></td>"
            f"<td>{escape(loc.author or '')}</td><td>{escape((loc.date or '')[:19].replace('T', ' '))}</td>"
            f"<td><code>{escape(loc.path)}:{loc.line}</code></td><td>{_where(loc)}</td></tr>")
    fid = finding_id(finding)
    return (f'<section class="token" id="{fid}" data-status="{status}" data-fingerprint="{finding.fingerprint}">'
            f'<h3><span class="sev-{escape(finding.severity)}">[{escape(finding.severity.upper())}]</span> '
            f"{escape(finding.title)} <code>{escape(secret)}</code> {_badge(status)}</h3>"
            f'<p class="meta">{" · ".join(details)}</p>{revocation}'
            f'<p class="meta">{len(finding.locations)} occurrence(s) in {len(repos)} repositor'
            f'{"y" if len(repos) == 1 else "ies"} · id <code>{fid}</code> · fingerprint '
            f"<code>{finding.fingerprint[:16]}</code></p>"
            f"<table><thead><tr><th>repository</th><th>commit</th><th>author</th><th>date</th><th>path</th>"
            f"<th>where</th></tr></thead><tbody>{''.join(rows)}</tbody></table></section>")


def _repositories(report: Report) -> str:
    repos = (report.repository or {}).get("repositories", [])
    rows, errors = [], []
    for r in repos:
        cls = ' class="err"' if r.get("status") == "error" else ""
        rows.append(f"<tr{cls}><td>{escape(r['repo'])}</td><td>{escape(r.get('status') or '')}</td>"
                    f"<td class=\"num\">{r.get('findings', 0)}</td><td class=\"num\">{r.get('blobs', 0)}</td>"
                    f"<td class=\"num\">{human_bytes(r.get('bytes') or 0)}</td><td><code>{escape((r.get('head') or '')[:12])}"
                    f"</code></td><td>{escape(r.get('error') or '')}</td></tr>")
        if r.get("status") == "error":
            errors.append(f"<tr class=\"err\"><td>{escape(r['repo'])}</td><td>{escape(r.get('error') or '')}</td></tr>")
    # a sweep with Jenkins targets: their rows count files (configs, logs), not blobs
    jenkins = any(r.get("kind") == "jenkins" for r in repos)
    what, unit = ("Repositories and Jenkins instances", "blobs / files") if jenkins else ("Repositories", "blobs")
    error_table = (f'<section id="errors"><h2>{what} that could not be scanned ({len(errors)})</h2>'
                   f"<table><thead><tr><th>target</th><th>error</th></tr></thead><tbody>{''.join(errors)}"
                   "</tbody></table></section>" if errors else "")
    return (f"{error_table}<section id=\"repositories\"><h2>{what} ({len(repos)})</h2>"
            f"<table><thead><tr><th>target</th><th>status</th><th class=\"num\">secrets</th>"
            f"<th class=\"num\">{unit}</th><th class=\"num\">scanned</th><th>HEAD</th><th>error</th></tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table></section>")


def _warnings(report: Report) -> str:
    if not report.warnings:
        return ""
    items = "".join(f"<li>{escape(w)}</li>" for w in report.warnings)
    return f'<section id="warnings"><h2>Warnings ({len(report.warnings)})</h2><ul>{items}</ul></section>'


def render_html(report: Report, *, show_secrets: bool = False) -> str:
    findings = sorted_findings(report.findings)
    generated = datetime.now(timezone.utc).replace(microsecond=0).isoformat()
    tokens = "".join(_token(f, show_secrets) for f in findings) or '<p class="muted">None.</p>'
    redaction = ("Full secret values are shown: handle this file as a secret." if show_secrets
                 else "Secrets are redacted (first 4 and last 2 characters).")
    page = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<title>Jenkins credential sweep report</title>"
        f"<style>{CSS}</style></head><body>"
        f"<header><h1>Jenkins credential sweep report</h1><p>Generated {generated} by jenkins-token-scanner "
        f"{escape(report.tool_version)} · {escape(redaction)}</p></header><main>"
        f"{_summary(report, findings)}{_timeline(findings)}"
        f'<section id="tokens"><h2>Tokens ({len(findings)})</h2>{tokens}</section>'
        f"{_repositories(report)}{_warnings(report)}</main></body></html>\n"
    )
    return secret_scrubber(report, show_secrets)(page)
