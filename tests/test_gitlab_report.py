"""`jts scan --format gitlab`: GitLab's secret-detection report (schema 15.x), checked through the CLI.

No PyPI package ships GitLab's official `secret-detection-report-format.json`, so SCHEMA below is
written from GitLab's documented format: the fields and enums GitLab requires to ingest a report
(required keys, severity/confidence enums, the zone-less timestamp pattern, scan type/status).
"""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from tests.test_precommit import JTS, GitRepo, assert_no_secret, env_file, fake_token

TIMESTAMP = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$"
VENDORED = {"type": "object", "required": ["name"], "properties": {"name": {"type": "string", "minLength": 1}}}
TOOL = {
    "type": "object",
    "required": ["id", "name", "version", "vendor"],
    "properties": {
        "id": {"type": "string", "pattern": "^[^ ]+$", "minLength": 1},
        "name": {"type": "string", "minLength": 1},
        "version": {"type": "string", "minLength": 1},
        "vendor": VENDORED,
    },
}
SCHEMA = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "type": "object",
    "required": ["version", "vulnerabilities", "scan"],
    "properties": {
        "version": {"type": "string", "pattern": r"^15\.\d+\.\d+$"},
        "schema": {"type": "string", "pattern": "^https?://.+"},
        "scan": {
            "type": "object",
            "required": ["analyzer", "scanner", "type", "start_time", "end_time", "status"],
            "properties": {
                "analyzer": TOOL,
                "scanner": TOOL,
                "type": {"const": "secret_detection"},
                "start_time": {"type": "string", "pattern": TIMESTAMP},
                "end_time": {"type": "string", "pattern": TIMESTAMP},
                "status": {"enum": ["success", "failure"]},
                "messages": {
                    "type": "array",
                    "items": {"type": "object", "required": ["level", "value"],
                              "properties": {"level": {"enum": ["info", "warn", "fatal"]},
                                             "value": {"type": "string"}}},
                },
            },
        },
        "vulnerabilities": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["id", "identifiers", "location"],
                "properties": {
                    "id": {"type": "string", "minLength": 1},
                    "category": {"const": "secret_detection"},
                    "name": {"type": "string", "maxLength": 255},
                    "description": {"type": "string", "maxLength": 1048576},
                    "severity": {"enum": ["Info", "Unknown", "Low", "Medium", "High", "Critical"]},
                    "confidence": {"enum": ["Ignore", "Unknown", "Experimental", "Low", "Medium", "High",
                                            "Confirmed"]},
                    "solution": {"type": "string", "maxLength": 7000},
                    "raw_source_code_extract": {"type": "string"},
                    "scanner": {"type": "object", "required": ["id", "name"]},
                    "identifiers": {
                        "type": "array",
                        "minItems": 1,
                        "items": {
                            "type": "object",
                            "required": ["type", "name", "value"],
                            "properties": {"type": {"type": "string", "minLength": 1},
                                           "name": {"type": "string", "minLength": 1},
                                           "value": {"type": "string", "minLength": 1}},
                        },
                    },
                    "location": {
                        "type": "object",
                        "required": ["commit"],
                        "properties": {
                            "file": {"type": "string", "minLength": 1},
                            "start_line": {"type": "integer", "minimum": 1},
                            "end_line": {"type": "integer", "minimum": 1},
                            "commit": {
                                "type": "object",
                                "required": ["sha"],
                                "properties": {"sha": {"type": "string", "minLength": 1},
                                               "author": {"type": "string"}, "date": {"type": "string"},
                                               "message": {"type": "string"}},
                            },
                        },
                    },
                },
            },
        },
    },
}
VALIDATOR = jsonschema.Draft7Validator(SCHEMA)


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    return GitRepo.create(tmp_path)


def gitlab_scan(repo: GitRepo, *args: str) -> tuple[dict, str, int]:
    proc = repo.run(JTS, "scan", "--format", "gitlab", *args)
    assert proc.returncode in (0, 1), proc.stderr
    report = json.loads(proc.stdout)
    VALIDATOR.validate(report)
    return report, proc.stdout + proc.stderr, proc.returncode


def test_working_tree_findings(repo: GitRepo) -> None:
    token = fake_token()
    repo.write("ci/.env", env_file(token))
    report, out, code = gitlab_scan(repo)
    assert code == 1
    [vuln] = report["vulnerabilities"]
    assert vuln["category"] == "secret_detection"
    assert vuln["name"] == "Jenkins API token"
    assert vuln["severity"] == "High" and vuln["confidence"] == "High"
    assert vuln["location"]["file"] == "ci/.env" and vuln["location"]["start_line"] == 3
    assert vuln["location"]["commit"]["sha"] == "0000000"  # not committed yet
    assert vuln["raw_source_code_extract"] == f"{token[:4]}…{token[-2:]}"
    assert {"type": "jts_rule_id", "name": "jts rule api_token", "value": "api_token"} in vuln["identifiers"]
    assert "alice" in vuln["description"] and vuln["solution"]
    assert report["scan"]["type"] == "secret_detection" and report["scan"]["status"] == "success"
    assert report["scan"]["scanner"]["id"] == "jts"
    assert_no_secret([token], out)


def test_history_findings_carry_their_commit(repo: GitRepo) -> None:
    token = fake_token()
    repo.write("deploy.sh", f"curl -u bob:{token} https://jenkins.example.com/job/app/build\n")
    repo.git("add", "deploy.sh")
    repo.commit("add deploy script", verify=False)
    leak = repo.head()
    repo.write("deploy.sh", "curl -u bob:$JENKINS_TOKEN https://jenkins.example.com/job/app/build\n")
    repo.git("add", "deploy.sh")
    repo.commit("use env var", verify=False)
    report, out, code = gitlab_scan(repo, "--history")
    assert code == 1
    [vuln] = report["vulnerabilities"]
    commit = vuln["location"]["commit"]
    assert commit["sha"] == leak
    assert commit["author"] == "Tess Ter <tess@example.com>" and commit["date"]
    assert "Only in git history" in vuln["description"]
    assert_no_secret([token], out)


def test_show_secrets_puts_the_token_in_the_extract_only_then(repo: GitRepo) -> None:
    token = fake_token()
    repo.write("ci/.env", env_file(token))
    report, _, _ = gitlab_scan(repo, "--show-secrets")
    assert report["vulnerabilities"][0]["raw_source_code_extract"] == token


def test_ids_stable_and_one_vulnerability_per_location(repo: GitRepo) -> None:
    token = fake_token()
    repo.write("a/.env", env_file(token))
    repo.write("b/.env", env_file(token))
    first, _, _ = gitlab_scan(repo)
    second, _, _ = gitlab_scan(repo)
    ids = [v["id"] for v in first["vulnerabilities"]]
    assert len(ids) == 2 and len(set(ids)) == 2
    assert ids == [v["id"] for v in second["vulnerabilities"]]
    assert sorted(v["location"]["file"] for v in first["vulnerabilities"]) == ["a/.env", "b/.env"]


def test_clean_scan_and_artifact_file(repo: GitRepo) -> None:
    repo.write("README.md", "nothing to see\n")
    proc = repo.run(JTS, "scan", "--format", "gitlab", "-o", "gl-secret-detection-report.json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads((repo.path / "gl-secret-detection-report.json").read_text(encoding="utf-8"))
    VALIDATOR.validate(report)
    assert report["vulnerabilities"] == []


def test_staged_findings_have_no_commit_yet(repo: GitRepo) -> None:
    repo.write("README.md", "x\n")
    repo.git("add", "README.md")
    repo.commit("init", verify=False)
    token = fake_token()
    repo.write("ci/.env", env_file(token))
    repo.git("add", "ci/.env")
    report, out, code = gitlab_scan(repo, "--staged")
    assert code == 1
    [vuln] = report["vulnerabilities"]
    assert vuln["location"]["commit"]["sha"] == "0000000"
    assert "Staged for commit" in vuln["description"]
    assert_no_secret([token], out)
