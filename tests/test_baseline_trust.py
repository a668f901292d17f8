"""Baselines in gates: read from the trusted side (HEAD, BASE), and every suppression reported."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.helpers import commit, git, init_repo, jts, new_token

BASELINE = ".secrets.baseline"
FORMATS = ("text", "json", "jsonl", "sarif", "gitlab", "github", "markdown")


def env_file(token: str) -> str:
    return f"JENKINS_URL=https://ci.example.com\nJENKINS_USER_ID=deploy\nJENKINS_API_TOKEN={token}\n"


def create_baseline(repo: Path) -> None:
    done = jts("baseline", "create", cwd=repo)
    assert done.code == 0, done.output


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """main, with a committed baseline (the README's setup)."""
    path = init_repo(tmp_path / "repo")
    commit(path, {"README.md": "# app\n"}, "init")
    create_baseline(path)
    commit(path, {}, "baseline")
    return path


def assert_no_token(token: str, *outputs: str) -> None:
    assert all(token not in output for output in outputs)


def test_range_gate_ignores_baseline_entries_the_change_adds(repo: Path) -> None:
    """The red-team case: a pull request adds a token and re-runs `jts baseline create`."""
    base = git(repo, "rev-parse", "HEAD")
    token = new_token()
    (repo / "deploy.env").write_text(env_file(token))
    create_baseline(repo)
    head = commit(repo, {}, "deploy config")
    assert token[-6:] and json.loads((repo / BASELINE).read_text())["results"]["deploy.env"]  # the PR's own entry
    done = jts("scan", "--range", f"{base}..{head}", "--no-repo-config", "--no-progress", "--baseline", BASELINE,
               "-f", "json", cwd=repo)
    assert done.code == 1, done.output
    report = json.loads(done.stdout)
    assert [loc["path"] for f in report["findings"] for loc in f["locations"]] == ["deploy.env"]
    [change] = report["settings"]["changes"]
    assert change["path"] == BASELINE and change["loosens"] and change["blocking"]
    assert f"BASE {base[:12]}" in change["message"]
    assert report["suppressed"] == [] and report["summary"]["suppressed"] == {"baseline": 0, "allow_marker": 0}
    since = jts("scan", "--since-ref", base, "--no-repo-config", "--no-progress", "--baseline", BASELINE, cwd=repo)
    assert since.code == 1 and "deploy.env:3" in since.stdout, since.output
    assert_no_token(token, done.stdout, done.stderr, since.stdout, since.stderr)


def test_ci_github_action_reads_the_baseline_from_base(repo: Path, tmp_path: Path) -> None:
    base = git(repo, "rev-parse", "HEAD")
    token = new_token()
    (repo / "deploy.env").write_text(env_file(token))
    create_baseline(repo)
    head = commit(repo, {}, "deploy config")
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pull_request": {"base": {"sha": base}, "head": {"sha": head}},
                                 "repository": {"default_branch": "main"}}))
    summary, outputs = tmp_path / "summary.md", tmp_path / "out.txt"
    env = {"GITHUB_EVENT_NAME": "pull_request", "GITHUB_EVENT_PATH": str(event), "GITHUB_STEP_SUMMARY": str(summary),
           "GITHUB_OUTPUT": str(outputs), "INPUT_BASELINE": BASELINE, "INPUT_SARIF_FILE": str(tmp_path / "jts.sarif"),
           "PATH": f"{Path(os.sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    done = jts("ci", "github", cwd=repo, env=env, timeout=300)
    assert done.code == 1, done.output
    assert "deploy\\.env" in summary.read_text() and "Settings change" in summary.read_text()
    assert_no_token(token, done.stdout, done.stderr, summary.read_text(), (tmp_path / "jts.sarif").read_text())


def test_staged_hook_reads_the_baseline_from_head(repo: Path) -> None:
    """A commit adding both a token and its baseline entry is blocked, and says why."""
    token = new_token()
    (repo / "deploy.env").write_text(env_file(token))
    create_baseline(repo)
    git(repo, "add", "-A")
    done = jts("scan", "--staged", "--no-progress", "--baseline", BASELINE, cwd=repo)
    assert done.code == 1, done.output
    assert "commit blocked" in done.stdout and "deploy.env:3" in done.stdout
    assert "[SETTINGS] .secrets.baseline: the change adds 1 baseline entry" in done.stdout
    # committed on its own (past the hook), the entry is HEAD's: the next commit may rely on it
    git(repo, "commit", "-q", "--no-verify", "-m", "accept", "--", BASELINE)
    done = jts("scan", "--staged", "--no-progress", "--baseline", BASELINE, cwd=repo)
    assert done.code == 0, done.output
    assert "[SUPPRESSED] deploy.env:3" in done.stdout
    assert_no_token(token, done.stdout, done.stderr)


def test_every_report_format_lists_baseline_suppressions(repo: Path) -> None:
    token = new_token()
    (repo / "deploy.env").write_text(env_file(token))
    create_baseline(repo)
    git(repo, "add", BASELINE)
    git(repo, "commit", "-q", "-m", "accept the token (reviewed and merged on its own)")
    base = git(repo, "rev-parse", "HEAD")
    tip = commit(repo, {}, "add the file")
    rng = f"{base}..{tip}"
    outputs = {}
    for fmt in FORMATS:
        done = jts("scan", "--range", rng, "--no-repo-config", "--no-progress", "--baseline", BASELINE, "-f", fmt,
                   cwd=repo, env={"GITHUB_STEP_SUMMARY": ""})
        assert done.code == 0, (fmt, done.output)
        assert_no_token(token, done.stdout, done.stderr)
        outputs[fmt] = done.stdout
    assert "[SUPPRESSED] deploy.env:3" in outputs["text"] and "1 suppressed (1 by baseline)" in outputs["text"]
    assert "No Jenkins credentials found." not in outputs["text"]
    report = json.loads(outputs["json"])
    [item] = report["suppressed"]
    assert item["by"] == "baseline" and item["path"] == "deploy.env" and item["line"] == 3
    assert item["secret"] == f"{token[:4]}…{token[-2:]}" and item["source"].startswith(f"{BASELINE} @ BASE ")
    assert report["summary"]["suppressed"] == {"baseline": 1, "allow_marker": 0}
    assert any(json.loads(line).get("notice") == "suppressed" for line in outputs["jsonl"].splitlines())
    [result] = json.loads(outputs["sarif"])["runs"][0]["results"]
    assert result["suppressions"][0]["kind"] == "external"
    messages = [m["value"] for m in json.loads(outputs["gitlab"])["scan"]["messages"]]
    assert any("suppressed: deploy.env:3" in m for m in messages)
    assert "::notice file=deploy.env,line=3" in outputs["github"]
    assert "1 suppressed" in outputs["markdown"] and "deploy\\.env\\:3" in outputs["markdown"]


def test_only_jts_entries_suppress_jts_findings(tmp_path: Path) -> None:
    """detect-secrets' own plugins record every random string: such an entry never hides a Jenkins token."""
    repo = init_repo(tmp_path / "repo")
    token = new_token()
    (repo / "deploy.env").write_text(env_file(token))
    create_baseline(repo)
    data = json.loads((repo / BASELINE).read_text())
    data["results"]["deploy.env"][0]["type"] = "Hex High Entropy String"
    (repo / BASELINE).write_text(json.dumps(data))
    done = jts("scan", "--no-progress", "--baseline", BASELINE, "deploy.env", cwd=repo)
    assert done.code == 1 and "deploy.env:3" in done.stdout, done.output
