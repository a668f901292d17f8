"""Report renderers: redaction in every format, schema validity, determinism, round trips."""

from __future__ import annotations

import dataclasses
import json
import random
import secrets
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from scanner.findings import Finding, Location, Report, Revocation, ScanStats, Verification, redact
from scanner.reports import FORMATS, render
from scanner.reports.json_report import (
    SCHEMA_PATH,
    RedactedFinding,
    findings_without_secret,
    load_report,
    report_to_dict,
)
from scanner.reports.sarif import FINGERPRINT_KEY, sarif_log
from tests.helpers import jts

SARIF_SCHEMA_PATH = Path(__file__).parent / "data" / "sarif-schema-2.1.0.json"
JENKINS = "https://jenkins.example.com"


def fake_token() -> str:
    # Made at run time so no token-shaped literal is ever committed.
    return "11" + secrets.token_hex(16)


@pytest.fixture
def tokens() -> list[str]:
    return [fake_token() for _ in range(4)]


def history_location(path: str, line: int, *, in_head: bool, commit: str | None = None) -> Location:
    return Location(
        path=path,
        line=line,
        column=17,
        end_column=51,
        source="history",
        commit=commit or secrets.token_hex(20),
        author="Bob Builder",
        email="bob@example.com",
        date="2024-03-01T10:20:30+00:00",
        in_head=in_head,
        blob=secrets.token_hex(20),
    )


def make_report(tokens: list[str]) -> Report:
    live = Finding(
        rule_id="jenkins-api-token",
        title="Jenkins API token",
        severity="high",
        secret=tokens[0],
        user="alice",
        jenkins_url=JENKINS,
        locations=[
            history_location("ci/old-deploy.sh", 4, in_head=False),
            Location(path="Jenkinsfile", line=12, column=21, end_column=55, source="file", in_head=True),
        ],
        remediation="Revoke the token in Jenkins and\n   read it from a credentials store.",
        verification=Verification(
            status="live",
            jenkins_url=JENKINS,
            user="alice",
            authenticated_as="alice",
            authorities=["authenticated", "devs"],
            jenkins_version="2.452.1",
            checked_at="2024-05-01T00:00:00+00:00",
        ),
        revocation=Revocation(status="revoked", token_uuid="6b3c4f1e-uuid", token_name="deploy", actor="self"),
    )
    dead = Finding(
        rule_id="jenkins-basic-auth",
        title="Jenkins credentials in a Basic Authorization header",
        severity="critical",
        secret=tokens[1],
        user="bob",
        jenkins_url=JENKINS,
        locations=[history_location("scripts/trigger.py", 30, in_head=False)],
        verification=Verification(status="invalid", reason="401 for a known user"),
    )
    unverified = Finding(
        rule_id="jenkins-url-userinfo",
        title="Jenkins token in a URL",
        severity="medium",
        secret=tokens[2],
        confidence="medium",
        locations=[Location(path="docs/my notes.md", line=7, column=9, end_column=43, source="staged")],
    )
    manual = Finding(
        rule_id="jenkins-api-token",
        title="Jenkins API token",
        severity="high",
        secret=tokens[3],
        user="carol",
        jenkins_url=JENKINS,
        locations=[Location(path="config/jobs.xml", line=2, column=5, end_column=39)],
        verification=Verification(status="unknown", reason="timeout"),
        revocation=Revocation(
            status="needs_manual", reason="token uuid not found", manual_url=f"{JENKINS}/user/carol/security/"
        ),
    )
    return Report(
        findings=[unverified, live, manual, dead],
        targets=["."],
        mode="history",
        # A warning quoting a token: renderers must redact free text too.
        warnings=[f"could not verify {tokens[3]}: timeout", "shallow clone: history is incomplete"],
        stats=ScanStats(files=12, blobs=340, bytes=123456, skipped_binary=2, skipped_large=1, seconds=1.234),
        repository={
            "path": "/src/app",
            "head": "c" * 40,
            "branch": "main",
            "url": f"https://ci-bot:{tokens[0]}@git.example.com/team/app.git",
        },
    )


@pytest.fixture
def report(tokens: list[str]) -> Report:
    return make_report(tokens)


@pytest.fixture(scope="module")
def sarif_validator() -> jsonschema.protocols.Validator:
    schema = json.loads(SARIF_SCHEMA_PATH.read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


@pytest.fixture(scope="module")
def report_validator() -> jsonschema.protocols.Validator:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())


# --------------------------------------------------------------------------- redaction


@pytest.mark.parametrize("fmt", FORMATS)
def test_no_full_secret_by_default(report: Report, tokens: list[str], fmt: str) -> None:
    for color in (False, True):
        out = render(report, fmt, color=color)
        for token in tokens:
            assert token not in out, f"{fmt} leaked a full token"
        assert redact(tokens[0]) in out


@pytest.mark.parametrize("fmt", FORMATS)
def test_show_secrets_puts_full_secret_in(report: Report, tokens: list[str], fmt: str) -> None:
    out = render(report, fmt, show_secrets=True)
    for token in tokens:
        assert token in out, f"{fmt} did not show a requested secret"


def test_sarif_has_no_snippets(report: Report) -> None:
    out = render(report, "sarif", show_secrets=True)
    assert "snippet" not in out
    assert "contextRegion" not in out


def test_unknown_format(report: Report) -> None:
    with pytest.raises(ValueError, match="sarif"):
        render(report, "html")


def test_format_modules_load_lazily() -> None:
    code = "import sys, scanner.reports; print([m for m in ('scanner.reports.text', 'scanner.reports.sarif', 'scanner.reports.json_report', 'click') if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=Path(__file__).parent.parent)
    assert out.stdout.strip() == "[]"


# --------------------------------------------------------------------------- SARIF


@pytest.mark.parametrize("show_secrets", [False, True])
def test_sarif_validates_against_official_schema(report: Report, sarif_validator, show_secrets: bool) -> None:
    log = json.loads(render(report, "sarif", show_secrets=show_secrets))
    sarif_validator.validate(log)


def test_empty_sarif_validates(sarif_validator) -> None:
    log = json.loads(render(Report(findings=[]), "sarif"))
    sarif_validator.validate(log)
    assert log["runs"][0]["results"] == []


def test_vendored_schema_is_the_oasis_one() -> None:
    schema = json.loads(SARIF_SCHEMA_PATH.read_text(encoding="utf-8"))
    assert schema["id"] == "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
    assert schema["title"] == "Static Analysis Results Format (SARIF) Version 2.1.0 JSON Schema"


def test_sarif_rules_and_results(report: Report) -> None:
    log = json.loads(render(report, "sarif"))
    assert log["version"] == "2.1.0"
    (run,) = log["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == "jenkins-token-scanner"
    rules = driver["rules"]
    assert [r["id"] for r in rules] == sorted({f.rule_id for f in report.findings})
    by_id = {r["id"]: r for r in rules}
    assert by_id["jenkins-basic-auth"]["defaultConfiguration"]["level"] == "error"
    assert by_id["jenkins-basic-auth"]["properties"]["security-severity"] == "9.5"
    assert by_id["jenkins-api-token"]["properties"]["security-severity"] == "8.0"
    assert by_id["jenkins-url-userinfo"]["defaultConfiguration"]["level"] == "warning"
    assert by_id["jenkins-url-userinfo"]["properties"]["security-severity"] == "5.5"
    assert all(r["properties"]["tags"] == ["security", "secret"] for r in rules)
    assert "credentials store" in by_id["jenkins-api-token"]["help"]["text"]

    results = run["results"]
    assert len(results) == sum(len(f.locations) for f in report.findings)
    for result in results:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        artifact = result["locations"][0]["physicalLocation"]["artifactLocation"]
        assert artifact["uriBaseId"] == "%SRCROOT%"
        assert not artifact["uri"].startswith("/")
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in results}
    assert "docs/my%20notes.md" in uris and "ci/old-deploy.sh" in uris

    history = next(r for r in results if r["properties"]["source"] == "history" and r["ruleId"] == "jenkins-api-token")
    commit = history["properties"]["commit"]
    assert commit[:10] in history["message"]["text"]
    assert "history only" in history["message"]["text"]
    assert history["properties"]["inHead"] is False
    assert history["properties"]["verification"] == "live"
    region = history["locations"][0]["physicalLocation"]["region"]
    assert region == {"startLine": 4, "startColumn": 17, "endColumn": 51}


def test_sarif_invocation_and_provenance(report: Report, tokens: list[str]) -> None:
    run = json.loads(render(report, "sarif"))["runs"][0]
    (invocation,) = run["invocations"]
    assert invocation["executionSuccessful"] is True
    notes = [n["message"]["text"] for n in invocation["toolExecutionNotifications"]]
    assert notes[1] == "shallow clone: history is incomplete"
    assert redact(tokens[3]) in notes[0]
    (provenance,) = run["versionControlProvenance"]
    assert provenance["repositoryUri"] == "https://git.example.com/team/app.git"  # userinfo dropped
    assert provenance["revisionId"] == "c" * 40
    assert provenance["branch"] == "main"


def test_sarif_without_repository_has_no_provenance(report: Report) -> None:
    report.repository = None
    report.warnings = []
    run = sarif_log(report)["runs"][0]
    assert "versionControlProvenance" not in run
    assert "toolExecutionNotifications" not in run["invocations"][0]


def _fingerprints(report: Report) -> list[dict[str, str]]:
    return [r["partialFingerprints"] for r in sarif_log(report)["runs"][0]["results"]]


def test_partial_fingerprints_stable_when_lines_move(report: Report) -> None:
    before = _fingerprints(report)
    for finding in report.findings:
        finding.locations = [
            dataclasses.replace(loc, line=loc.line + 40, column=loc.column + 3, end_column=loc.end_column + 3)
            for loc in finding.locations
        ]
    assert _fingerprints(report) == before


def test_partial_fingerprints_distinguish_secrets_and_paths(report: Report) -> None:
    prints = [fp[FINGERPRINT_KEY] for fp in _fingerprints(report)]
    assert len(set(prints)) == len(prints)
    moved = report.findings[2]
    before = _fingerprints(report)
    moved.locations = [dataclasses.replace(loc, path="config/other.xml") for loc in moved.locations]
    assert _fingerprints(report) != before


def test_absolute_paths_made_relative_to_repository(report: Report) -> None:
    report.findings[2].locations = [Location(path="/src/app/etc/jenkins.env", line=1, column=1, end_column=35)]
    results = sarif_log(report)["runs"][0]["results"]
    uris = [r["locations"][0]["physicalLocation"]["artifactLocation"] for r in results]
    assert {"uri": "etc/jenkins.env", "uriBaseId": "%SRCROOT%"} in uris


# --------------------------------------------------------------------------- JSON / JSONL


@pytest.mark.parametrize("show_secrets", [False, True])
def test_json_validates_against_report_schema(report: Report, report_validator, show_secrets: bool) -> None:
    report_validator.validate(json.loads(render(report, "json", show_secrets=show_secrets)))


def test_empty_json_validates(report_validator) -> None:
    data = json.loads(render(Report(findings=[]), "json"))
    report_validator.validate(data)
    assert data["summary"]["findings"] == 0 and data["findings"] == []


def test_json_shape(report: Report, tokens: list[str]) -> None:
    data = json.loads(render(report, "json"))
    assert data["schema_version"] == "1.3"
    assert data["tool"] == {"name": "jenkins-token-scanner", "version": report.tool_version}
    assert data["mode"] == "history"
    assert data["repository"]["url"] == "https://git.example.com/team/app.git"
    assert data["stats"]["blobs"] == 340
    summary = data["summary"]
    assert summary["findings"] == 4
    assert summary["by_rule"] == {"jenkins-api-token": 2, "jenkins-basic-auth": 1, "jenkins-url-userinfo": 1}
    assert summary["by_severity"] == {"critical": 1, "high": 2, "medium": 1, "low": 0, "info": 0}
    assert summary["verification"] == {"live": 1, "invalid": 1, "unknown": 1, "not_verified": 1}
    assert summary["revocation"]["revoked"] == 1 and summary["revocation"]["needs_manual"] == 1
    assert summary["revocation"]["not_attempted"] == 2

    findings = data["findings"]
    assert [f["severity"] for f in findings] == ["critical", "high", "high", "medium"]
    # Among equal severities, ordered by first location: ci/old-deploy.sh before config/jobs.xml.
    assert [f["user"] for f in findings[1:3]] == ["alice", "carol"]
    live = findings[1]
    assert live["secret"] == redact(tokens[0]) and live["secret_redacted"] is True
    assert live["fingerprint"] == report.findings[1].fingerprint
    assert live["id"].startswith("jts-")
    assert live["in_head"] is True
    assert [loc["path"] for loc in live["locations"]] == ["Jenkinsfile", "ci/old-deploy.sh"]
    assert live["verification"]["authorities"] == ["authenticated", "devs"]
    assert live["revocation"]["status"] == "revoked"
    unverified = findings[3]
    assert unverified["verification"]["status"] == "not_verified"
    assert unverified["revocation"] is None
    assert unverified["user"] is None and "user" in unverified  # null, never omitted
    assert unverified["locations"][0]["commit"] is None


def test_output_is_deterministic(report: Report, monkeypatch: pytest.MonkeyPatch) -> None:
    from scanner.reports import gitlab

    monkeypatch.setattr(gitlab.time, "time", lambda: 1_700_000_000.0)  # its scan times are "now"
    expected = {fmt: render(report, fmt) for fmt in FORMATS}
    report.findings = [dataclasses.replace(f, locations=list(reversed(f.locations))) for f in report.findings]
    random.Random(7).shuffle(report.findings)
    for fmt in FORMATS:
        assert render(report, fmt) == expected[fmt]


def test_ids_are_stable_across_runs(report: Report, tokens: list[str]) -> None:
    ids = [f["id"] for f in report_to_dict(report)["findings"]]
    again = [f["id"] for f in report_to_dict(make_report(tokens))["findings"]]
    assert ids == again and len(set(ids)) == len(ids)


def test_jsonl_is_one_finding_per_line(report: Report) -> None:
    for show in (False, True):
        lines = render(report, "jsonl", show_secrets=show).splitlines()
        assert [json.loads(line) for line in lines] == json.loads(render(report, "json", show_secrets=show))["findings"]


def test_jsonl_empty_report_is_empty() -> None:
    assert render(Report(findings=[]), "jsonl") == ""


# --------------------------------------------------------------------------- load_report


def test_load_report_round_trips_full_secrets(report: Report, tokens: list[str]) -> None:
    text = render(report, "json", show_secrets=True)
    loaded = load_report(text)
    assert findings_without_secret(loaded) == []
    assert all(type(f) is Finding for f in loaded.findings)
    assert {f.secret for f in loaded.findings} == set(tokens)
    assert render(loaded, "json", show_secrets=True) == text
    live = next(f for f in loaded.findings if f.user == "alice")
    assert live.verification.authorities == ["authenticated", "devs"]
    assert live.revocation.token_uuid == "6b3c4f1e-uuid"
    assert loaded.stats == report.stats
    assert loaded.mode == "history" and loaded.targets == ["."]


def test_load_report_marks_redacted_findings(report: Report, tokens: list[str]) -> None:
    text = render(report, "json")
    loaded = load_report(text)
    missing = findings_without_secret(loaded)
    assert len(missing) == 4 and all(isinstance(f, RedactedFinding) for f in missing)
    by_user = {f.user: f for f in loaded.findings}
    assert by_user["alice"].fingerprint == report.findings[1].fingerprint
    assert by_user["alice"].secret == redact(tokens[0])
    assert tokens[0] not in repr(by_user["alice"])
    # Re-rendering a redacted report gives the same report, and cannot reveal what it never had.
    assert render(loaded, "json") == text
    again = json.loads(render(loaded, "json", show_secrets=True))
    assert all(f["secret_redacted"] for f in again["findings"])


@pytest.mark.parametrize("flag", ["absent", True, "yes", 1, [], None, {"x": 1}])
def test_load_report_redacts_a_full_secret_not_marked_full(tmp_path: Path, report: Report, tokens: list[str],
                                                           flag: object) -> None:
    """Only ``"secret_redacted": false`` makes a loaded secret full; a full value under any other flag is
    redacted on loading, so no format, nor --show-secrets, nor ``jts verify`` shows it."""
    data = json.loads(render(report, "json", show_secrets=True))
    for finding in data["findings"]:
        if flag == "absent":
            del finding["secret_redacted"]
        else:
            finding["secret_redacted"] = flag
    loaded = load_report(json.dumps(data))
    assert all(isinstance(f, RedactedFinding) for f in loaded.findings)
    assert {f.fingerprint for f in loaded.findings} == {f.fingerprint for f in report.findings}
    assert any("secret_redacted" in w for w in loaded.warnings)
    for fmt in FORMATS:
        for show in (False, True):
            rendered = render(loaded, fmt, show_secrets=show)
            assert not any(t in rendered for t in tokens), (fmt, show)
    path = tmp_path / "r.json"
    path.write_text(json.dumps(data))
    for args in (["ci", "report", str(path), "-f", "text"],
                 ["verify", str(path), "--jenkins-url", "http://127.0.0.1:9/", "--retries", "0", "--timeout", "1"]):
        run = jts(*args)
        assert not any(t in run.output for t in tokens), args


def test_load_report_redacted_form_wins_over_the_flag(report: Report) -> None:
    data = json.loads(render(report, "json"))
    for finding in data["findings"]:
        finding["secret_redacted"] = False  # a redacted value is never sent to Jenkins as a token
    assert all(isinstance(f, RedactedFinding) for f in load_report(json.dumps(data)).findings)


def test_load_report_mixed(report: Report, tokens: list[str]) -> None:
    data = json.loads(render(report, "json", show_secrets=True))
    data["findings"][0]["secret"] = redact(data["findings"][0]["secret"])
    data["findings"][0]["secret_redacted"] = True
    loaded = load_report(json.dumps(data))
    assert [f.fingerprint for f in findings_without_secret(loaded)] == [data["findings"][0]["fingerprint"]]


def test_load_report_from_path_and_jsonl(report: Report, tokens: list[str], tmp_path: Path) -> None:
    path = tmp_path / "report.json"
    path.write_text(render(report, "json", show_secrets=True), encoding="utf-8")
    assert {f.secret for f in load_report(path).findings} == set(tokens)
    assert {f.secret for f in load_report(str(path)).findings} == set(tokens)
    jsonl = tmp_path / "report.jsonl"
    jsonl.write_text(render(report, "jsonl", show_secrets=True), encoding="utf-8")
    assert {f.secret for f in load_report(jsonl).findings} == set(tokens)


def test_load_report_rejects_other_major_version(report: Report) -> None:
    data = json.loads(render(report, "json"))
    data["schema_version"] = "2.0"
    with pytest.raises(ValueError, match="schema_version"):
        load_report(json.dumps(data))


# --------------------------------------------------------------------------- text


def test_text_report(report: Report, tokens: list[str]) -> None:
    out = render(report, "text")
    lines = out.splitlines()
    assert "\x1b[" not in out
    assert lines[0] == f"[CRITICAL] Jenkins credentials in a Basic Authorization header {redact(tokens[1])} bob@{JENKINS} invalid"
    assert f"[HIGH] Jenkins API token {redact(tokens[0])} alice@{JENKINS} LIVE" in lines
    assert "    Authenticated as: alice" in lines
    i = lines.index("    Authorities:")
    assert lines[i + 1 : i + 3] == ["      authenticated", "      devs"]
    assert "  Revocation: revoked (token 'deploy' [6b3c4f1e-uuid], by self)" in lines
    assert any(line.startswith("  Revocation: needs manual") and f"{JENKINS}/user/carol/security/" in line for line in lines)
    assert "  Jenkinsfile:12:21 (in HEAD)" in lines
    history = next(line for line in lines if line.startswith("  ci/old-deploy.sh:4:17 commit "))
    assert "Bob Builder <bob@example.com> 2024-03-01T10:20:30+00:00 (history only)" in history
    assert "  docs/my notes.md:7:9 (staged)" in lines
    assert "  Remediation: Revoke the token in Jenkins and read it from a credentials store." in lines
    assert "4 findings (1 critical, 2 high, 1 medium) in 12 files / 340 blobs, 1.23 s" in lines
    assert "2 warnings" in lines


def test_text_color(report: Report) -> None:
    out = render(report, "text", color=True)
    assert "\x1b[31m\x1b[1m[CRITICAL]\x1b[0m" in out


def test_text_no_findings() -> None:
    report = Report(findings=[], stats=ScanStats(files=3, bytes=2048, seconds=0.5))
    lines = render(report, "text").splitlines()
    assert lines[0] == "No Jenkins credentials found."
    assert lines[1] == "Scanned 3 files (2.0 KB) in 0.50 s"


def test_documented_example_matches_schema(report_validator) -> None:
    doc = (Path(__file__).parent.parent / "docs" / "report-format.md").read_text(encoding="utf-8")
    example = doc.split("```json\n", 1)[1].split("```", 1)[0]
    data = json.loads(example)
    report_validator.validate(data)
    # The example must survive a round trip unchanged, like any real report.
    assert json.loads(render(load_report(example), "json")) == data
