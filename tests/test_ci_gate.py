"""The CI gate through the CLI: `--range` / `--since-ref` on a feature branch, reports, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

from tests.helpers import commit, git, init_repo, jts, new_token


def _feature_branch(tmp_path: Path) -> tuple[Path, str, str, str]:
    """main with an old token; a feature branch with three commits: add a token, remove it, clean."""
    repo = init_repo(tmp_path / "repo")
    old = new_token()
    commit(repo, {"legacy.env": f"JENKINS_USER_ID=old\nJENKINS_API_TOKEN={old}\n"}, "base")
    git(repo, "checkout", "-q", "-b", "feature")
    token = new_token()
    added = commit(repo, {"deploy.sh": f"curl -u alice:{token} https://jenkins.example.com/job/x/build\n"}, "add")
    commit(repo, {"deploy.sh": "curl -u alice:$TOKEN https://jenkins.example.com/job/x/build\n"}, "remove")
    commit(repo, {"README.md": "docs\n"}, "docs")
    return repo, old, token, added


def test_range_reports_a_token_added_then_removed(tmp_path):
    repo, old, token, added = _feature_branch(tmp_path)
    run = jts("scan", "--range", "main..feature", str(repo), "-f", "json", "--show-secrets")
    assert run.code == 1, run.output
    findings = json.loads(run.stdout)["findings"]
    assert [f["secret"] for f in findings] == [token]  # the old token predates the range
    location = findings[0]["locations"][0]
    assert location["commit"] == added and location["path"] == "deploy.sh" and location["source"] == "range"
    assert findings[0]["in_head"] is False

    since = jts("scan", "--since-ref", "main", str(repo), "-f", "json", "--show-secrets")
    assert [f["secret"] for f in json.loads(since.stdout)["findings"]] == [token]


def test_range_gate_formats_and_exit_codes(tmp_path):
    repo, _, token, _ = _feature_branch(tmp_path)
    for fmt in ("sarif", "gitlab", "json"):
        out = tmp_path / f"report.{fmt}"
        run = jts("scan", "--range", "main..feature", str(repo), "-f", fmt, "-o", str(out))
        assert run.code == 1
        text = out.read_text()
        assert token not in text and token not in run.output
        data = json.loads(text)
        if fmt == "sarif":
            assert data["runs"][0]["results"][0]["ruleId"] == "api_token"
        if fmt == "gitlab":
            assert data["vulnerabilities"][0]["location"]["file"] == "deploy.sh"
    clean = jts("scan", "--range", "feature~1..feature", str(repo))
    assert clean.code == 0, clean.output


def test_range_in_shallow_ci_clone_says_what_to_fetch(tmp_path):
    repo, _, token, _ = _feature_branch(tmp_path)
    clone = tmp_path / "ci"
    git(tmp_path, "clone", "-q", "--depth", "1", "--branch", "feature", f"file://{repo}", str(clone))
    run = jts("scan", "--range", "HEAD~3..HEAD", str(clone))
    assert run.code == 2 and "Traceback" not in run.output
    assert "fetch" in run.stderr
    git(clone, "fetch", "-q", "--deepen=3")
    run = jts("scan", "--range", "HEAD~3..HEAD", str(clone), "-f", "json", "--show-secrets")
    assert run.code == 1, run.output
    assert [f["secret"] for f in json.loads(run.stdout)["findings"]] == [token]
