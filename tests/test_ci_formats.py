"""`--format github`, `--format markdown`, `jts ci report`, the Jenkins stage, shell completion: through the CLI.

Markdown is checked by rendering it with markdown-it-py's GitHub-like preset (tables,
strike-through, autolinks): a hostile file name must stay one table cell of plain text. GitHub
workflow commands are parsed as the runner parses them (tests/test_ci_action.py's parser).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from scanner.jenkins.server import JenkinsTestServer, ServerOptions
from scanner.terminal import safe
from tests.helpers import ROOT, commit, git, init_repo, jts, new_token
from tests.test_ci_action import parse_command, workflow_commands

HOSTILE = ("x|y `z` <img src=x onerror=alert(1)> [a](https://evil.example) *b* _c_ ~~d~~ $e$ :smile: "
           "@all www.evil.example &amp; \\| end")
README = ROOT / "README.md"


def _table(markdown: str) -> list[list[list[dict]]]:
    """Rows of the first table: each cell as its inline tokens (type, content)."""
    tokens = MarkdownIt("gfm-like").parse(markdown)
    rows, row, in_body = [], None, False
    for i, token in enumerate(tokens):
        if token.type == "tbody_open":
            in_body = True
        elif in_body and token.type == "tr_open":
            row = []
        elif in_body and token.type == "td_open":
            inline = tokens[i + 1]
            row.append([{"type": c.type, "content": c.content} for c in inline.children or []])
        elif in_body and token.type == "tr_close":
            rows.append(row)
        elif token.type == "tbody_close":
            break
    return rows


def _plain(cell: list[dict]) -> str:
    assert {c["type"] for c in cell} <= {"text"}, cell  # no link, image, HTML, emphasis, code or strike
    return "".join(c["content"] for c in cell)


def _hostile_report(tmp_path: Path) -> tuple[Path, str]:
    """A real JSON report, then edited as anyone could write one: hostile names, authors, warnings, errors."""
    repo = init_repo(tmp_path / "repo")
    token = new_token()
    commit(repo, {"deploy.sh": f"curl -u alice:{token} https://jenkins.example.com/job/x/build\n"})
    run = jts("scan", "--history", str(repo), "-f", "json")
    assert run.code == 1, run.output
    data = json.loads(run.stdout)
    finding = data["findings"][0]
    finding["user"] = HOSTILE
    finding["locations"][0].update(path=HOSTILE + "\n| forged | row |\r\x1b[2J", author=HOSTILE)
    data["warnings"].append("warning " + HOSTILE)
    data["errors"] = ["blob 1234: damaged " + HOSTILE]
    path = tmp_path / "hostile.json"
    path.write_text(json.dumps(data))
    return path, token


def test_markdown_keeps_hostile_text_inside_its_cell(tmp_path):
    report, _ = _hostile_report(tmp_path)
    run = jts("ci", "report", str(report), "-f", "markdown")
    assert run.code == 2, run.output  # the report lists an error: the scan was incomplete
    [row] = _table(run.stdout)
    assert len(row) == 6
    rule, secret, user, location, commit_cell, verdict = (_plain(cell) for cell in row)
    assert user == safe(HOSTILE)
    assert location == safe(HOSTILE + "\n| forged | row |\r\x1b[2J") + ":1"
    assert commit_cell.endswith(f"by {safe(HOSTILE)}")
    html = MarkdownIt("gfm-like").render(run.stdout)
    assert "<img" not in html and "evil.example\"" not in html and "<del>" not in html
    assert "scan is incomplete" in run.stdout and "damaged" in run.stdout
    assert "\x1b" not in run.stdout and "\r" not in run.stdout


def test_github_annotations_escape_properties_and_messages(tmp_path):
    report, token = _hostile_report(tmp_path)
    summary = tmp_path / "summary.md"
    run = jts("ci", "report", str(report), "-f", "github", env={"GITHUB_STEP_SUMMARY": str(summary)})
    assert run.code == 2
    commands = [parse_command(line) for line in workflow_commands(run.stdout)]
    assert len(run.stdout.splitlines()) == len(commands) == 3  # error, finding, warning: nothing forged
    error, finding, warning = commands
    assert error["command"] == "error" and error["props"]["title"] == "jts: scan incomplete"
    assert finding["command"] == "error"
    assert finding["props"]["file"] == safe(HOSTILE + "\n| forged | row |\r\x1b[2J")
    assert finding["props"]["line"] == "1" and finding["props"]["title"] == "Jenkins API token (api_token)"
    assert warning["command"] == "warning" and HOSTILE in warning["message"]
    # and the job summary was appended beside them
    assert summary.read_text().startswith("### jts: scan incomplete")
    assert token not in run.output + summary.read_text()


def test_format_github_and_markdown_through_scan(tmp_path):
    repo = init_repo(tmp_path / "repo")
    token = new_token()
    trigger = "letmein-deploy-2024-secret"
    commit(repo, {
        "a,b:c.sh": f"curl -u alice:{token} https://jenkins.example.com/job/x/build\n",
        "hook.sh": f"curl https://jenkins.example.com/job/deploy/build?token={trigger}\n",
    })
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n")
    run = jts("scan", "--history", str(repo), "-f", "github", "--no-repo-config",
              env={"GITHUB_STEP_SUMMARY": str(summary)})
    assert run.code == 1, run.output
    files = [parse_command(line)["props"].get("file") for line in workflow_commands(run.stdout)]
    assert "a,b:c.sh" in files and "hook.sh" in files
    assert "a%2Cb%3Ac.sh" in run.stdout
    text = summary.read_text()
    assert text.startswith("earlier step\n### jts: 2 Jenkins credentials found")  # appended, not replaced
    for secret in (token, trigger):
        assert secret not in run.output and secret not in text

    markdown = jts("scan", "--history", str(repo), "-f", "markdown", "--fail-on", "none")
    assert markdown.code == 0
    assert "none fails the gate (`--fail-on none`)" in markdown.stdout
    assert len(_table(markdown.stdout)) == 2
    assert token not in markdown.stdout and trigger not in markdown.stdout
    shown = jts("scan", "--history", str(repo), "-f", "markdown", "--show-secrets")
    assert token in shown.stdout  # asked for: shown
    without_summary = jts("scan", "--history", str(repo), "-f", "github", env={"GITHUB_STEP_SUMMARY": ""})
    assert without_summary.stdout.startswith("::")


def test_markdown_quoted_secret_in_free_text_is_redacted_after_escaping(tmp_path):
    """A non-hex secret changes when escaped (`-` becomes `\\-`): the escaped form must be redacted too."""
    repo = init_repo(tmp_path / "repo")
    trigger = "open-sesame-deploy-2024"
    commit(repo, {"hook.sh": f"curl https://jenkins.example.com/job/deploy/build?token={trigger}\n"})
    data = json.loads(jts("scan", str(repo), "-f", "json", "--show-secrets").stdout)
    data["warnings"].append(f"odd line quoting {trigger} here")
    report = tmp_path / "r.json"
    report.write_text(json.dumps(data))
    run = jts("ci", "report", str(report), "-f", "markdown")
    escaped = trigger.replace("-", "\\-")
    assert trigger not in run.stdout and escaped not in run.stdout, run.stdout


def test_ci_report_gates_like_scan(tmp_path):
    repo = init_repo(tmp_path / "repo")
    commit(repo, {"deploy.sh": f"curl -u alice:{new_token()} https://jenkins.example.com/job/x/build\n"})
    saved = tmp_path / "r.json"
    assert jts("scan", str(repo), "-f", "json", "-o", str(saved), "--fail-on", "none").code == 0
    assert jts("ci", "report", str(saved), "-o", str(tmp_path / "out.txt")).code == 0  # the report's own gate
    assert jts("ci", "report", str(saved), "--fail-on", "any", "-o", os.devnull).code == 1
    assert jts("ci", "report", str(saved), "--fail-on", "unknown", "-o", os.devnull).code == 1  # not verified
    assert jts("ci", "report", str(saved), "--fail-on", "live", "-o", os.devnull).code == 0
    sarif = tmp_path / "r.sarif"
    assert jts("ci", "report", str(saved), "-f", "sarif", "-o", str(sarif), "--fail-on", "none").code == 0
    direct = json.loads(jts("scan", str(repo), "-f", "sarif").stdout)
    # the SARIF rendered from the saved report is the scan's own, results and fingerprints included
    assert json.loads(sarif.read_text())["runs"][0]["results"] == direct["runs"][0]["results"]
    (tmp_path / "bad.json").write_text("{not json")
    bad = jts("ci", "report", str(tmp_path / "bad.json"))
    assert bad.code == 2 and bad.stderr.startswith("jts: error:") and "Traceback" not in bad.output


# --------------------------------------------------------------------------- the README's Jenkinsfile


def _jenkinsfile() -> str:
    match = re.search(r"```groovy\n(stage\('Jenkins tokens'\).*?)```", README.read_text(), flags=re.DOTALL)
    assert match, "README: the Jenkinsfile stage"
    return match.group(1)


def test_jenkinsfile_stage_maps_verdicts_to_build_results(tmp_path):
    """Run the stage's shell the way its Groovy does, against the Jenkins test server: the exit codes
    each `if` reads must give FAILURE for a live token, UNSTABLE for an unknown one, SUCCESS for a dead one."""
    stage = _jenkinsfile()
    [scan_script] = re.findall(r"sh '''\n(.*?)'''", stage, flags=re.DOTALL)
    checks = re.findall(r"if \(sh\(returnStatus: true, script: '([^']*)'\) != 0\) \{\n\s*(error|unstable) ", stage)
    assert [kind for _, kind in checks] == ["error", "unstable"]
    assert "recordIssues tools: [sarif(pattern: 'jts.sarif'" in stage

    def build(workspace: Path, server_url: str, **env: str) -> str:
        full = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
                "PYTHONPATH": str(ROOT), "JENKINS_URL": server_url, **env}
        done = subprocess.run(["sh", "-xe", "-c", scan_script], cwd=workspace, env=full, capture_output=True,
                              text=True, timeout=120)
        if done.returncode != 0:
            return "FAILURE (scan)"
        json.loads((workspace / "jts.sarif").read_text())  # Warnings NG gets a SARIF log
        for script, kind in checks:
            if subprocess.run(["sh", "-c", script], cwd=workspace, env=full, timeout=60).returncode != 0:
                return "FAILURE" if kind == "error" else "UNSTABLE"
        return "SUCCESS"

    with JenkinsTestServer(tmp_path / "home", ServerOptions(version="2.578")) as server:
        server.add_user("alice", password="pw-alice")
        url = server.url
        live = server.create_token("alice", name="ci").value
        dead = server.create_token("alice", name="old")
        import httpx

        httpx.post(f"{url}user/alice/descriptorByName/jenkins.security.ApiTokenProperty/revoke",
                   data={"tokenUuid": dead.uuid}, auth=("alice", live)).raise_for_status()
        results = {}
        for name, line in (("live", f"curl -u alice:{live} {url}job/x/build\n"),
                           ("dead", f"curl -u alice:{dead.value} {url}job/x/build\n"),
                           ("unknown", f"curl -u alice:{new_token()} https://other-jenkins.example.com/job/x/build\n"),
                           ("clean", "curl -u alice:$TOKEN https://jenkins.example.com/job/x/build\n")):
            repo = init_repo(tmp_path / name)
            commit(repo, {"README.md": "x\n"})
            git(repo, "update-ref", "refs/remotes/origin/main", "HEAD")
            git(repo, "checkout", "-q", "-b", "change")
            commit(repo, {"deploy.sh": line})
            results[name] = build(repo, url, CHANGE_TARGET="main")
            assert live not in (repo / "jts.md").read_text() + (repo / "jts.sarif").read_text()
        branch_build = build(tmp_path / "live", url)  # no CHANGE_TARGET: the whole history
    # a revoked token is rejected for alice, which proves only "not alice's token" (issue 11): not proven
    # dead without --find-owner, so the build is UNSTABLE, never SUCCESS
    assert results == {"live": "FAILURE", "dead": "UNSTABLE", "unknown": "UNSTABLE", "clean": "SUCCESS"}
    assert branch_build == "FAILURE"


# --------------------------------------------------------------------------- shell completion


@pytest.mark.parametrize("shell, marker", [("bash", "complete -o nosort -F _jts_completion jts"),
                                           ("zsh", "#compdef jts"), ("fish", "complete --no-files --command jts")])
def test_completion_script_is_produced(shell, marker):
    run = jts(env={"_JTS_COMPLETE": f"{shell}_source"})
    assert run.code == 0 and marker in run.stdout, run.output


def test_bash_completion_completes_commands_and_options(tmp_path):
    script = jts(env={"_JTS_COMPLETE": "bash_source"}).stdout
    (tmp_path / "jts").write_text(f"#!/bin/sh\nexec {sys.executable} -m scanner \"$@\"\n")
    (tmp_path / "jts").chmod(0o755)
    probe = script + '\nCOMP_WORDS=(jts sc); COMP_CWORD=1; _jts_completion jts; echo "${COMPREPLY[*]}"\n' \
                     'COMPREPLY=(); COMP_WORDS=(jts scan --fail); COMP_CWORD=2; _jts_completion jts; echo "${COMPREPLY[*]}"\n'
    done = subprocess.run(["bash", "--norc", "-c", probe], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PATH": f"{tmp_path}{os.pathsep}{os.environ['PATH']}",
                               "PYTHONPATH": str(ROOT)})
    assert done.stdout.splitlines() == ["scan scan-jenkins", "--fail-on"], done.stdout + done.stderr
