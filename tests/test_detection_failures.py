"""A failure inside detection never hides a token (issue 13, item 1).

Content is hostile: a URL with a non-numeric port once raised inside context extraction, and the
whole blob was dropped with a warning (exit 0 through the pre-commit hook and CI gates), while a
working-tree scan died without a report and the warning quoted the port text (a full token).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.helpers import ROOT, Run, commit, git, init_repo, jts, new_token

FORMATS = ("text", "json", "sarif", "gitlab")


def bad_port_file(token: str) -> str:
    return (f"curl -u alice:{token} https://jenkins.corp.example/job/deploy/build\n"
            "JENKINS_URL=http://jenkins-old:port/\n")


def _modes(repo: Path, base: str) -> dict[str, tuple[str, ...]]:
    return {
        "files": ("scan", str(repo)),
        "staged": ("scan", "--staged", str(repo)),
        "range": ("scan", "--range", f"{base}..HEAD", str(repo)),
        "history": ("scan", "--history", "-j", "1", str(repo)),
    }


def _repo_with(tmp_path: Path, files: dict[str, str]) -> tuple[Path, str]:
    repo = init_repo(tmp_path / "repo")
    base = commit(repo, {"README": "hello\n"})
    commit(repo, files)
    return repo, base


@pytest.mark.parametrize("mode", ["files", "staged", "range", "history"])
def test_a_url_with_a_non_numeric_port_hides_nothing(tmp_path: Path, mode: str) -> None:
    token = new_token()
    repo, base = _repo_with(tmp_path, {"deploy.sh": bad_port_file(token)})
    if mode == "staged":  # the hook sees the file staged, not committed
        git(repo, "reset", "-q", "--soft", "HEAD~1")
    run = jts(*_modes(repo, base)[mode], "-f", "json", "--no-progress")
    assert run.code == 1, run.output
    data = json.loads(run.stdout)
    [finding] = data["findings"]
    assert finding["rule_id"] == "api_token"
    assert finding["user"] == "alice"
    assert finding["jenkins_url"] == "https://jenkins.corp.example"
    assert data["errors"] == []
    assert token not in run.output


def test_a_token_in_the_port_never_reaches_any_output(tmp_path: Path) -> None:
    token = new_token()
    repo, base = _repo_with(tmp_path, {"deploy.sh": f"curl -u alice:{token}\nJENKINS_URL=http://jenkins:{token}/\n"})
    modes = _modes(repo, base)
    for mode in ("files", "range", "history", "staged"):
        if mode == "staged":
            git(repo, "reset", "-q", "--soft", "HEAD~1")
        for fmt in FORMATS:
            run = jts(*modes[mode], "-f", fmt, "--no-progress")
            assert run.code == 1, (mode, fmt, run.output)
            assert token not in run.output, (mode, fmt)


def jts_patched(patch: str, *args: str, cwd: Path | None = None) -> Run:
    """The CLI with ``patch`` (Python source) run first: a detector that fails on cue."""
    driver = textwrap.dedent(patch) + "\nfrom scanner.cli import main\nmain()\n"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", driver, *args], cwd=cwd, text=True, capture_output=True,
                          env=env, timeout=120)
    return Run(done.returncode, done.stdout, done.stderr)


CONTEXT_FAILS = """
    import scanner.detect as detect
    def extract(*args, **kwargs):
        raise RuntimeError("context blew up on " + args[3])  # the message quotes the secret
    detect.extract = extract
"""

BLOB_FAILS = """
    import scanner.detect as detect
    original = detect.Detector.scan_blob
    def scan_blob(self, path, data, line_offset=0):
        if path.endswith("poison.txt"):
            raise RuntimeError("blew up on " + data.decode())  # the message quotes the content
        return original(self, path, data, line_offset)
    detect.Detector.scan_blob = scan_blob
"""


@pytest.mark.parametrize("mode", ["files", "staged", "history"])
def test_a_candidate_whose_context_fails_is_still_reported(tmp_path: Path, mode: str) -> None:
    token = new_token()
    repo, base = _repo_with(tmp_path, {"deploy.sh": f"curl -u alice:{token} https://jenkins.corp.example/\n"})
    if mode == "staged":
        git(repo, "reset", "-q", "--soft", "HEAD~1")
    run = jts_patched(CONTEXT_FAILS, *_modes(repo, base)[mode], "-f", "json", "--no-progress")
    assert run.code == 1, run.output
    [finding] = json.loads(run.stdout)["findings"]
    assert finding["confidence"] == "medium"
    assert "deploy.sh:1: a candidate was reported without user or URL" in run.stderr
    assert token not in run.output


@pytest.mark.parametrize("mode", ["files", "staged", "range", "history"])
def test_a_blob_that_cannot_be_scanned_is_an_error_and_fails_the_gate(tmp_path: Path, mode: str) -> None:
    token = new_token()
    secret_text = new_token()
    repo, base = _repo_with(tmp_path, {"deploy.sh": f"curl -u alice:{token} https://jenkins.corp.example/\n",
                                       "poison.txt": f"JENKINS_TOKEN={secret_text}\n"})
    if mode == "staged":
        git(repo, "reset", "-q", "--soft", "HEAD~1")
    args = _modes(repo, base)[mode]
    run = jts_patched(BLOB_FAILS, *args, "-f", "json", "--no-progress", "--fail-on", "none")
    assert run.code == 2, run.output  # incomplete: no --fail-on makes it pass
    data = json.loads(run.stdout)
    assert [f["rule_id"] for f in data["findings"]] == ["api_token"]  # the other file was scanned
    [error] = data["errors"]
    assert "poison.txt" in error and "not scanned" in error and "RuntimeError" in error
    assert "jts: error:" in run.stderr and "poison.txt" in run.stderr
    assert secret_text not in run.output and token not in run.output
    sarif = json.loads(jts_patched(BLOB_FAILS, *args, "-f", "sarif", "--no-progress").stdout)
    invocation = sarif["runs"][0]["invocations"][0]
    assert invocation["executionSuccessful"] is False
    assert any(n["level"] == "error" and "poison.txt" in n["message"]["text"]
               for n in invocation["toolExecutionNotifications"])
    gitlab = json.loads(jts_patched(BLOB_FAILS, *args, "-f", "gitlab", "--no-progress").stdout)
    assert gitlab["scan"]["status"] == "failure"
    assert any(m["level"] == "fatal" and "poison.txt" in m["value"] for m in gitlab["scan"]["messages"])
    text = jts_patched(BLOB_FAILS, *args, "--no-progress")
    assert text.code == 2
    if mode == "staged":
        assert "commit blocked" in text.stdout and "could not be scanned" in text.stdout
    else:
        assert "INCOMPLETE: 1 item could not be scanned" in text.stdout


def test_an_unreadable_url_on_the_secrets_line_is_carried_so_no_other_jenkins_judges_it(tmp_path: Path) -> None:
    token = new_token()
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "a.sh").write_text(f"curl -u alice:{token} http://jenkins-old:port/job/x/build\n"
                               f"curl -u bob:{token}x http://jenkins:{token}/\n")
    run = jts("scan", str(tree), "-f", "json", "--verify", "--jenkins-url", "http://127.0.0.1:9/")
    findings = json.loads(run.stdout)["findings"]
    assert findings and all(f["jenkins_url"] for f in findings), findings
    for finding in findings:
        assert finding["verification"]["status"] == "unknown"
        assert "was not sent anywhere" in finding["verification"]["reason"]
    assert token not in run.output
